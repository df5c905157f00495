"""GET /api/auth/session: a reloaded browser tab gets its agent and CSRF token back from the cookie."""

from __future__ import annotations

from httpx import AsyncClient

from tests.support.agents import PASSWORD, make_agent
from tests.support.clock import ShiftableClock


async def test_the_session_cookie_gives_back_the_agent_and_its_csrf_token(
    client: AsyncClient, clean_db: None, clock: ShiftableClock
) -> None:
    agent = await make_agent("agent", clock.now(), password=PASSWORD, email="jo@example.com")
    login = await client.post("/api/auth/login", json={"email": "jo@example.com", "password": PASSWORD})
    assert login.status_code == 200

    session = await client.get("/api/auth/session")
    assert session.status_code == 200
    assert session.json()["agent"]["id"] == agent.id
    assert session.json()["csrf_token"] == login.json()["csrf_token"]
    # The token it hands back is the one writes need.
    write = await client.post("/api/accounts", json={"name": "Acme"}, headers={"X-CSRF-Token": session.json()["csrf_token"]})
    assert write.status_code == 201

    await client.post("/api/auth/logout", headers={"X-CSRF-Token": session.json()["csrf_token"]})
    ended = await client.get("/api/auth/session")
    assert ended.status_code == 401


async def test_without_a_cookie_there_is_no_session(client: AsyncClient, clean_db: None) -> None:
    response = await client.get("/api/auth/session")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


async def test_an_api_token_needs_no_csrf_token(client: AsyncClient, clean_db: None, clock: ShiftableClock) -> None:
    agent = await make_agent("agent", clock.now())
    response = await client.get("/api/auth/session", headers=agent.headers)
    assert response.status_code == 200
    assert response.json()["agent"]["id"] == agent.id and response.json()["csrf_token"] is None
