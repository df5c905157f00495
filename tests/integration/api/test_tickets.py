"""Tickets over the API: creation, filters, keyset pagination, optimistic concurrency, messages."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

from httpx import AsyncClient

from helpdesk.actors import SYSTEM
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import TeamCreate
from tests.support.agents import RoleAgents


async def _ticket(client: AsyncClient, headers, **fields) -> dict:
    body = {"subject": "Help", "requester": {"name": "Pat Doe", "email": "pat@acme.example"}, "text": "hello", **fields}
    response = await client.post("/api/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


async def test_two_concurrent_changes_from_the_same_version_one_wins(client: AsyncClient, agents: RoleAgents) -> None:
    ticket = await _ticket(client, agents.agent.headers)
    first, second = await asyncio.gather(
        client.patch(f"/api/tickets/{ticket['id']}", json={"version": 1, "status": "pending"}, headers=agents.agent.headers),
        client.patch(f"/api/tickets/{ticket['id']}", json={"version": 1, "status": "solved"}, headers=agents.lead.headers),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert loser.json()["error"] == "stale_version" and loser.json()["field"] == "version"
    current = (await client.get(f"/api/tickets/{ticket['id']}", headers=agents.agent.headers)).json()["ticket"]
    assert current["status"] == winner.json()["status"]
    assert current["version"] == 2


async def test_a_stale_version_changes_nothing(client: AsyncClient, agents: RoleAgents) -> None:
    ticket = await _ticket(client, agents.agent.headers, tags=["billing"])
    ok = await client.patch(f"/api/tickets/{ticket['id']}", json={"version": 1, "priority": "high"}, headers=agents.agent.headers)
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = await client.patch(f"/api/tickets/{ticket['id']}", json={"version": 1, "tags": ["vip"], "priority": "low"},
                               headers=agents.agent.headers)
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    current = (await client.get(f"/api/tickets/{ticket['id']}", headers=agents.agent.headers)).json()["ticket"]
    assert current["tags"] == ["billing"] and current["priority"] == "high"


async def test_status_rules_and_solved_time(client: AsyncClient, agents: RoleAgents) -> None:
    ticket = await _ticket(client, agents.agent.headers)
    url = f"/api/tickets/{ticket['id']}"
    solved = (await client.patch(url, json={"version": 1, "status": "solved"}, headers=agents.agent.headers)).json()
    assert solved["solved_at"] is not None
    closed = (await client.patch(url, json={"version": 2, "status": "closed"}, headers=agents.agent.headers)).json()
    reopen = await client.patch(url, json={"version": closed["version"], "status": "open"}, headers=agents.agent.headers)
    assert reopen.status_code == 409
    assert reopen.json() == {"error": "invalid_transition", "detail": "a closed ticket cannot become open", "field": "status"}
    note = await client.post(f"{url}/messages", json={"kind": "note", "text": "late"}, headers=agents.agent.headers)
    assert note.status_code == 422


async def test_reply_and_note_update_the_ticket(client: AsyncClient, agents: RoleAgents) -> None:
    ticket = await _ticket(client, agents.agent.headers)
    url = f"/api/tickets/{ticket['id']}"
    note = await client.post(f"{url}/messages", json={"kind": "note", "text": "check logs"}, headers=agents.agent.headers)
    assert note.status_code == 201 and note.json()["delivery_state"] is None
    after_note = (await client.get(url, headers=agents.agent.headers)).json()["ticket"]
    assert after_note["first_response_at"] is None and after_note["status"] == "new"

    reply = await client.post(f"{url}/messages", json={
        "kind": "reply", "text": "Fixed!", "html": "<p onclick='x()'>Fixed!<script>alert(1)</script></p>",
        "attachments": [{"filename": "../../etc/passwd", "content_type": "text/plain",
                         "content_base64": base64.b64encode(b"root:x").decode()}],
    }, headers=agents.agent.headers)
    assert reply.status_code == 201, reply.text
    message = reply.json()
    assert message["delivery_state"] == "queued" and message["to"] == ["pat@acme.example"]
    assert "script" not in message["html"] and "onclick" not in message["html"]
    assert message["attachments"][0]["filename"] == ".._.._etc_passwd"
    detail = (await client.get(url, headers=agents.agent.headers)).json()
    assert detail["ticket"]["status"] == "open" and detail["ticket"]["first_response_at"] is not None
    assert [m["kind"] for m in detail["messages"]] == ["customer", "note", "reply"]

    download = await client.get(f"/api/attachments/{message['attachments'][0]['id']}", headers=agents.agent.headers)
    assert download.content == b"root:x"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_a_reply_written_against_an_old_version_is_refused(client: AsyncClient, agents: RoleAgents) -> None:
    ticket = await _ticket(client, agents.agent.headers)
    url = f"/api/tickets/{ticket['id']}"
    await client.post(f"{url}/messages", json={"kind": "note", "text": "colleague was here"}, headers=agents.lead.headers)
    stale = await client.post(f"{url}/messages", json={"kind": "reply", "text": "hi", "version": 1},
                              headers=agents.agent.headers)
    assert stale.status_code == 409
    detail = (await client.get(url, headers=agents.agent.headers)).json()
    assert [m["kind"] for m in detail["messages"]] == ["customer", "note"]


async def test_filters(client: AsyncClient, agents: RoleAgents, clock) -> None:
    team = await auth.create_team(SYSTEM, TeamCreate(name="Billing"), now=clock.now())
    mine = await _ticket(client, agents.agent.headers, subject="Refund please", assignee_id=agents.agent.id,
                         tags=["Billing"], priority="urgent", team_id=team.id)
    other = await _ticket(client, agents.agent.headers, subject="Login broken",
                          requester={"name": "Sam Roe", "email": "sam@other.example"})
    theirs = await _ticket(client, agents.agent.headers, subject="Question", assignee_id=agents.lead.id)

    async def ids(**params) -> list[int]:
        response = await client.get("/api/tickets", params=params, headers=agents.agent.headers)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await ids(assignee="me") == [mine["id"]]
    assert await ids(assignee="none") == [other["id"]]
    assert await ids(assignee=str(agents.lead.id)) == [theirs["id"]]
    assert await ids(tag="billing") == [mine["id"]]
    assert await ids(team_id=team.id) == [mine["id"]]
    assert await ids(priority="urgent,high") == [mine["id"]]
    assert await ids(status="new,open") == [theirs["id"], other["id"], mine["id"]]
    assert await ids(status="solved") == []
    assert await ids(q="refund") == [mine["id"]]
    assert await ids(q="sam@other") == [other["id"]]
    assert await ids(q="Sam Roe") == [other["id"]]
    assert await ids(q=f"T-{theirs['id'] + 1000}") == [theirs["id"]]
    assert await ids(q="nothing like this") == []
    assert await ids(contact_id=other["requester"]["id"]) == [other["id"]]
    assert (await ids(sort="priority"))[0] == mine["id"]
    bad = await client.get("/api/tickets", params={"sort": "oldest"}, headers=agents.agent.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "sort"
    bad = await client.get("/api/tickets", params={"assignee": "someone"}, headers=agents.agent.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "assignee"


async def test_keyset_pages_cover_everything_once_even_with_equal_timestamps(
    client: AsyncClient, agents: RoleAgents, clock
) -> None:
    created = []
    for index in range(23):
        created.append((await _ticket(client, agents.agent.headers, subject=f"Ticket {index}"))["id"])
        if index % 5 == 0:
            clock.advance(timedelta(seconds=1))
    for sort in ("updated", "created", "priority"):
        seen, cursor = [], None
        while True:
            params = {"limit": 5, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/tickets", params=params, headers=agents.agent.headers)).json()
            seen.extend(t["id"] for t in page["items"])
            cursor = page["next"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    bad = await client.get("/api/tickets", params={"cursor": "garbage!"}, headers=agents.agent.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    assert (await client.get("/api/tickets", params={"limit": 0}, headers=agents.agent.headers)).status_code == 422


async def test_backlog_report_counts_open_tickets_by_team(client: AsyncClient, agents: RoleAgents) -> None:
    await _ticket(client, agents.agent.headers)
    await _ticket(client, agents.agent.headers)
    report = await client.get("/api/reports/backlog", headers=agents.lead.headers)
    assert report.json() == [{"team_id": None, "status": "new", "tickets": 2}]
