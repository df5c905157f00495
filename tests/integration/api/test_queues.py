"""Queue views over the API: exact counts, saved filters per agent, SLA due times and breaching soon."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from httpx import AsyncClient

from helpdesk.actors import SYSTEM
from helpdesk.sla import service as sla
from helpdesk.sla.runner import SlaRunner
from helpdesk.sla.schemas import CalendarCreate, PolicyCreate
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock


async def _ticket(client: AsyncClient, headers, **fields) -> dict:
    body = {"subject": "Help", "requester": {"name": "Pat Doe", "email": "pat@acme.example"}, "text": "hello", **fields}
    response = await client.post("/api/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


async def _count(client: AsyncClient, headers, **filters) -> int:
    response = await client.get("/api/tickets/count", params=filters, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["count"]


async def _listed(client: AsyncClient, headers, **filters) -> int:
    response = await client.get("/api/tickets", params={**filters, "limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


# ---------------------------------------------------------------- counts


async def test_counts_are_exact_and_match_the_list_for_the_same_filters(client: AsyncClient, agents: RoleAgents) -> None:
    me = agents.agent
    for index in range(3):
        await _ticket(client, me.headers, subject=f"Printer {index}", assignee_id=me.id, tags=["hardware"])
    await _ticket(client, me.headers, subject="Invoice wrong", priority="urgent")
    await _ticket(client, me.headers, subject="Printer jam", priority="urgent", assignee_id=agents.lead.id)
    cases = [
        {},
        {"assignee": "me", "status": "new,open,pending,on_hold"},
        {"assignee": "none"},
        {"priority": "urgent"},
        {"tag": "hardware"},
        {"q": "printer"},
        {"q": "printer", "priority": "urgent"},
        {"status": "solved"},
    ]
    expected = [5, 3, 1, 2, 3, 4, 1, 0]
    assert [await _count(client, me.headers, **case) for case in cases] == expected
    assert [await _listed(client, me.headers, **case) for case in cases] == expected


async def test_a_count_beyond_a_page_is_still_exact(client: AsyncClient, agents: RoleAgents) -> None:
    for index in range(205):  # more than the largest page the list returns
        await _ticket(client, agents.agent.headers, subject=f"Bulk {index}")
    assert await _count(client, agents.agent.headers, status="new") == 205


async def test_a_bad_count_filter_names_the_field(client: AsyncClient, agents: RoleAgents) -> None:
    response = await client.get("/api/tickets/count", params={"assignee": "someone"}, headers=agents.agent.headers)
    assert response.status_code == 422
    assert response.json()["field"] == "assignee"


# ---------------------------------------------------------------- saved filters


async def test_saved_filters_belong_to_the_agent_who_saved_them(client: AsyncClient, agents: RoleAgents) -> None:
    me, other = agents.agent, agents.lead
    created = await client.post("/api/saved-filters", headers=me.headers, json={
        "name": "Urgent hardware", "filters": {"priority": "urgent,high", "tag": "Hardware", "q": "  printer "}})
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["name"] == "Urgent hardware"
    # Stored normalised: tags are lower case, text trimmed, absent filters null.
    assert saved["filters"] == {"status": None, "priority": "urgent,high", "assignee": None, "team_id": None,
                                "tag": "hardware", "q": "printer"}

    assert [f["name"] for f in (await client.get("/api/saved-filters", headers=me.headers)).json()] == ["Urgent hardware"]
    assert (await client.get("/api/saved-filters", headers=other.headers)).json() == []
    url = f"/api/saved-filters/{saved['id']}"
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.patch(url, json={"name": "Mine now"}, headers=other.headers)).status_code == 404
    assert (await client.delete(url, headers=other.headers)).status_code == 404

    renamed = await client.patch(url, json={"name": "Hardware fires", "filters": {"status": "open"}}, headers=me.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Hardware fires"
    assert renamed.json()["filters"]["status"] == "open" and renamed.json()["filters"]["tag"] is None

    assert (await client.delete(url, headers=me.headers)).status_code == 204
    assert (await client.get(url, headers=me.headers)).status_code == 404


async def test_saved_filter_names_are_unique_per_agent_only(client: AsyncClient, agents: RoleAgents) -> None:
    body = {"name": "Mine", "filters": {"assignee": "me"}}
    assert (await client.post("/api/saved-filters", json=body, headers=agents.agent.headers)).status_code == 201
    again = await client.post("/api/saved-filters", json={**body, "name": "MINE"}, headers=agents.agent.headers)
    assert again.status_code == 409 and again.json()["field"] == "name"
    assert (await client.post("/api/saved-filters", json=body, headers=agents.lead.headers)).status_code == 201


@pytest.mark.parametrize(("filters", "field"), [
    ({"status": "open,lost"}, "filters.status"),
    ({"priority": "critical"}, "filters.priority"),
    ({"assignee": "bob"}, "filters.assignee"),
    ({"team_id": 999}, "filters.team_id"),
    ({"tag": "two words"}, "filters.tag"),
])
async def test_saved_filters_refuse_what_would_silently_match_nothing(
    client: AsyncClient, agents: RoleAgents, filters: dict, field: str
) -> None:
    response = await client.post("/api/saved-filters", json={"name": "Bad", "filters": filters},
                                 headers=agents.agent.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_saved_filter_bodies_are_strict(client: AsyncClient, agents: RoleAgents) -> None:
    unknown = await client.post("/api/saved-filters", json={"name": "X", "filters": {"sort": "created"}},
                                headers=agents.agent.headers)
    assert unknown.status_code == 422 and unknown.json()["field"] == "sort"
    blank = await client.post("/api/saved-filters", json={"name": "  ", "filters": {}}, headers=agents.agent.headers)
    assert blank.status_code == 422 and blank.json()["field"] == "name"


# ---------------------------------------------------------------- SLA due times and breaching soon


@pytest.fixture
async def around_the_clock(agents: RoleAgents, clock: ShiftableClock) -> None:
    """A 24/7 calendar: urgent tickets answer within 30 minutes, normal within 2 hours, low within 2 days."""
    now = clock.now()
    calendar = await sla.create_calendar(SYSTEM, CalendarCreate(name="24/7", always_open=True), now=now)
    policy = msgspec.convert({
        "name": "Standard", "calendar_id": calendar.id, "warn_percent": 50,
        "targets": {"urgent": {"first_response": 30}, "normal": {"first_response": 120},
                    "low": {"first_response": 2880}},
    }, PolicyCreate)
    await sla.create_policy(SYSTEM, policy, now=now)


async def test_due_times_and_breaching_soon_follow_the_clocks(
    client: AsyncClient, agents: RoleAgents, clock: ShiftableClock, around_the_clock: None
) -> None:
    headers = agents.agent.headers
    normal = await _ticket(client, headers, subject="Normal")
    urgent = await _ticket(client, headers, subject="Urgent", priority="urgent")
    low = await _ticket(client, headers, subject="Low", priority="low")
    runner = SlaRunner(clock)
    await runner.tick()

    due = (await client.get("/api/sla/due", params={"ticket_id": [normal["id"], urgent["id"], low["id"]]},
                            headers=headers)).json()
    by_ticket = {item["ticket_id"]: item for item in due["items"]}
    assert set(by_ticket) == {normal["id"], urgent["id"], low["id"]}
    assert {item["target"] for item in due["items"]} == {"first_response"}
    assert {item["level"] for item in due["items"]} == {"ok"}
    assert by_ticket[urgent["id"]]["due_at"] < by_ticket[normal["id"]]["due_at"] < by_ticket[low["id"]]["due_at"]

    # Now: only the urgent ticket is due within the hour. The normal one (due in 2 hours, warning
    # at 50 %) enters by time alone in an hour: at its warn time, which is also due minus the window.
    soon = (await client.get("/api/sla/breaching", headers=headers)).json()
    assert soon["count"] == 1 and [t["id"] for t in soon["tickets"]] == [urgent["id"]]
    assert soon["next_entry_at"] == by_ticket[normal["id"]]["warn_at"]

    # 70 minutes on: urgent breached, normal past its warning (50 %) and due within the hour.
    clock.advance(timedelta(minutes=70))
    soon = (await client.get("/api/sla/breaching", headers=headers)).json()
    assert [t["id"] for t in soon["tickets"]] == [urgent["id"], normal["id"]]  # the longest overdue first
    assert [d["level"] for d in soon["due"]] == ["breached", "warning"]
    assert soon["count"] == 2

    # Solving the urgent ticket stops its clock: it leaves the queue.
    current = (await client.get(f"/api/tickets/{urgent['id']}", headers=headers)).json()["ticket"]
    solved = await client.patch(f"/api/tickets/{urgent['id']}", json={"version": current["version"], "status": "solved"},
                                headers=headers)
    assert solved.status_code == 200, solved.text
    await runner.tick()
    soon = (await client.get("/api/sla/breaching", headers=headers)).json()
    assert [t["id"] for t in soon["tickets"]] == [normal["id"]] and soon["count"] == 1


async def test_due_and_breaching_refuse_bad_input(client: AsyncClient, agents: RoleAgents) -> None:
    headers = agents.agent.headers
    too_many = await client.get("/api/sla/due", params={"ticket_id": list(range(1, 202))}, headers=headers)
    assert too_many.status_code == 422 and too_many.json()["field"] == "ticket_id"
    assert (await client.get("/api/sla/due", headers=headers)).json()["items"] == []
    window = await client.get("/api/sla/breaching", params={"within_minutes": -5}, headers=headers)
    assert window.status_code == 422 and window.json()["field"] == "within_minutes"
    limit = await client.get("/api/sla/breaching", params={"limit": 0}, headers=headers)
    assert limit.status_code == 422 and limit.json()["field"] == "limit"


async def test_two_racing_saves_of_one_name_give_one_filter_and_one_conflict(
    client: AsyncClient, agents: RoleAgents
) -> None:
    import asyncio

    body = {"name": "Urgent ones", "filters": {"priority": "urgent"}}
    responses = await asyncio.gather(*(
        client.post("/api/saved-filters", json=body, headers=agents.agent.headers) for _ in range(2)))
    assert sorted(response.status_code for response in responses) == [201, 409]
    assert all(response.json()["error"] == "conflict" for response in responses if response.status_code == 409)
    listed = (await client.get("/api/saved-filters", headers=agents.agent.headers)).json()
    assert [saved["name"] for saved in listed] == ["Urgent ones"]
