"""Bad input gets a clear JSON answer naming the field, and leaves nothing half-written."""

from __future__ import annotations

from httpx import AsyncClient

from tests.support.agents import RoleAgents


async def test_unknown_fields_are_rejected(client: AsyncClient, agents: RoleAgents) -> None:
    response = await client.post("/api/accounts", json={"name": "Acme", "colour": "red"}, headers=agents.agent.headers)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert response.json()["field"] == "colour"


async def test_wrong_types_and_missing_fields_name_the_field(client: AsyncClient, agents: RoleAgents) -> None:
    wrong = await client.post("/api/tickets", json={"subject": 42}, headers=agents.agent.headers)
    assert wrong.status_code == 422 and wrong.json()["field"] == "subject"
    missing = await client.post("/api/contacts", json={"name": "No Mail"}, headers=agents.agent.headers)
    assert missing.status_code == 422 and missing.json()["field"] == "emails"
    nested = await client.post("/api/tickets", json={"subject": "x", "requester": {"name": "A", "email": "not-an-address"}},
                               headers=agents.agent.headers)
    assert nested.status_code == 422 and nested.json()["field"] == "requester.email"
    enum = await client.patch("/api/tickets/1", json={"version": 1, "status": "archived"}, headers=agents.agent.headers)
    assert enum.status_code == 422 and enum.json()["field"] == "status"
    query = await client.get("/api/tickets", params={"limit": "many"}, headers=agents.agent.headers)
    assert query.status_code == 422 and query.json()["field"] == "limit"
    naive = await client.post("/api/activities", json={"kind": "task", "subject": "x", "account_id": 1,
                                                       "due_at": "2026-12-01T10:00:00"}, headers=agents.agent.headers)
    assert naive.status_code == 422 and naive.json()["field"] == "due_at"


async def test_malformed_json_is_a_clear_error(client: AsyncClient, agents: RoleAgents) -> None:
    response = await client.post("/api/accounts", content=b"{not json", headers={**agents.agent.headers,
                                                                                  "content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["error"] in ("validation_failed", "bad_request")
    assert response.json()["field"] is not None


async def test_oversized_bodies_get_413(client: AsyncClient, agents: RoleAgents, app) -> None:
    limit = app.state.settings.http.max_body_bytes
    response = await client.post("/api/tickets", content=b"x" * (limit + 1),
                                 headers={**agents.agent.headers, "content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large" and response.json()["field"] == "body"


async def test_unknown_ids_are_404_with_the_field(client: AsyncClient, agents: RoleAgents) -> None:
    response = await client.get("/api/tickets/999999", headers=agents.agent.headers)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "ticket 999999 does not exist", "field": "ticket_id"}
    dangling = await client.post("/api/tickets", json={"subject": "x", "requester_id": 424242}, headers=agents.agent.headers)
    assert dangling.status_code == 422 and dangling.json()["field"] == "requester_id"


async def test_a_failed_ticket_creation_writes_nothing(client: AsyncClient, agents: RoleAgents) -> None:
    """The requester contact would be created first; the bad team then aborts the whole action."""
    response = await client.post("/api/tickets", json={
        "subject": "x", "requester": {"name": "New Person", "email": "new@person.example"}, "team_id": 999,
    }, headers=agents.agent.headers)
    assert response.status_code == 422 and response.json()["field"] == "team_id"
    contacts = (await client.get("/api/contacts", params={"email": "new@person.example"}, headers=agents.agent.headers))
    assert contacts.json()["items"] == []
    assert (await client.get("/api/tickets", headers=agents.agent.headers)).json()["items"] == []
