"""Login sessions, CSRF, rate limiting, API tokens and deactivation."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient

from helpdesk.actors import SYSTEM
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import AgentUpdate
from tests.support.agents import PASSWORD, RoleAgents, make_agent


async def _login(client: AsyncClient, email: str, password: str = PASSWORD):
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_login_sets_a_protected_session_cookie_and_csrf_guards_writes(client: AsyncClient, clean_db, clock) -> None:
    agent = await make_agent("agent", clock.now(), password=PASSWORD, email="Jo@Example.com")
    response = await _login(client, "jo@EXAMPLE.com")
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "helpdesk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    body = response.json()
    assert body["agent"]["id"] == agent.id and body["csrf_token"]

    assert (await client.get("/api/auth/me")).json()["email"] == "jo@example.com"
    without_csrf = await client.post("/api/accounts", json={"name": "Acme"})
    assert without_csrf.status_code == 403
    assert without_csrf.json()["field"] == "x-csrf-token"
    assert (await client.get("/api/accounts")).json()["items"] == []  # nothing was written

    with_csrf = await client.post("/api/accounts", json={"name": "Acme"}, headers={"X-CSRF-Token": body["csrf_token"]})
    assert with_csrf.status_code == 201

    logout = await client.post("/api/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert logout.status_code == 204
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_wrong_password_and_unknown_email_look_the_same(client: AsyncClient, clean_db, clock) -> None:
    await make_agent("agent", clock.now(), password=PASSWORD)
    wrong = await _login(client, "agent@example.com", "not the password")
    unknown = await _login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


async def test_repeated_failures_are_rate_limited_then_released(client: AsyncClient, app, clean_db, clock) -> None:
    await make_agent("agent", clock.now(), password=PASSWORD)
    attempts = app.state.settings.auth.login_attempts_per_window
    for _ in range(attempts):
        assert (await _login(client, "agent@example.com", "guess")).status_code == 401
    blocked = await _login(client, "agent@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "rate_limited"
    clock.advance(timedelta(seconds=app.state.settings.auth.login_window_seconds + 1))
    assert (await _login(client, "agent@example.com", PASSWORD)).status_code == 200


async def test_sessions_expire(client: AsyncClient, app, clean_db, clock) -> None:
    await make_agent("agent", clock.now(), password=PASSWORD)
    assert (await _login(client, "agent@example.com")).status_code == 200
    clock.advance(timedelta(hours=app.state.settings.auth.session_ttl_hours, seconds=1))
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_deactivating_an_agent_ends_its_sessions_and_tokens(client: AsyncClient, clean_db, clock) -> None:
    agent = await make_agent("agent", clock.now(), password=PASSWORD)
    assert (await _login(client, "agent@example.com")).status_code == 200
    assert (await client.get("/api/auth/me", headers=agent.headers)).status_code == 200
    await auth.update_agent(SYSTEM, agent.id, AgentUpdate(active=False), now=clock.now())
    assert (await client.get("/api/auth/me")).status_code == 401
    assert (await client.get("/api/auth/me", headers=agent.headers)).status_code == 401
    assert (await _login(client, "agent@example.com")).status_code == 401


async def test_tokens_are_stored_hashed_shown_once_and_revocable(client: AsyncClient, agents: RoleAgents) -> None:
    created = await client.post("/api/tokens", json={"name": "CRM sync", "agent_id": agents.agent.id},
                                headers=agents.admin.headers)
    assert created.status_code == 201
    secret = created.json()["secret"]
    token_id = created.json()["token"]["id"]
    listed = (await client.get("/api/tokens", headers=agents.admin.headers)).json()
    assert secret not in str(listed)
    assert all("hash" not in key for token in listed for key in token)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/auth/me", headers=bearer)).json()["id"] == agents.agent.id
    revoked = await client.delete(f"/api/tokens/{token_id}", headers=agents.admin.headers)
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/api/auth/me", headers=bearer)).status_code == 401


async def test_admins_manage_agents_and_teams(client: AsyncClient, agents: RoleAgents) -> None:
    created = await client.post("/api/agents", json={"name": "Nia", "email": "NIA@example.com", "role": "lead",
                                                     "password": "long enough"}, headers=agents.admin.headers)
    assert created.status_code == 201
    nia = created.json()
    assert nia["email"] == "nia@example.com" and nia["role"] == "lead"
    duplicate = await client.post("/api/agents", json={"name": "Nia 2", "email": "nia@EXAMPLE.com"},
                                  headers=agents.admin.headers)
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "email"
    team = await client.post("/api/teams", json={"name": "Billing", "lead_id": nia["id"],
                                                 "member_ids": [nia["id"], agents.agent.id]}, headers=agents.admin.headers)
    assert team.status_code == 201
    assert sorted(team.json()["member_ids"]) == sorted([nia["id"], agents.agent.id])
    agent_view = (await client.get(f"/api/agents/{agents.agent.id}", headers=agents.agent.headers)).json()
    assert agent_view["team_ids"] == [team.json()["id"]]
    assert (await _login(client, "nia@example.com", "long enough")).status_code == 200
