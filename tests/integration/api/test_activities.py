"""/api/activities over HTTP: kinds and targets, task-only fields, filters, order, who may delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from helpdesk.activities.tables import Activity
from tests.integration.api.customer_helpers import (
    assert_error,
    collect_pages,
    create_account,
    create_contact,
    create_ticket,
)
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock


async def add(client: AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("kind", "note")
    body.setdefault("subject", "Spoke to them")
    response = await client.post("/api/activities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def targets(client: AsyncClient, agents: RoleAgents) -> dict[str, int]:
    account = await create_account(client, agents.agent.headers, name="Acme")
    contact = await create_contact(client, agents.agent.headers, account_id=account["id"])
    ticket = await create_ticket(client, agents.agent.headers, requester_id=contact["id"])
    return {"account_id": account["id"], "contact_id": contact["id"], "ticket_id": ticket["id"]}


async def test_every_kind_on_every_target(
    client: AsyncClient, agents: RoleAgents, targets: dict[str, int], clock: ShiftableClock
) -> None:
    for kind in ("call", "meeting", "email", "note", "task"):
        for target in ("account_id", "contact_id", "ticket_id"):
            before = clock.now()
            activity = await add(client, agents.agent.headers, kind=kind, subject=f"{kind} about it", body="details",
                                 **{target: targets[target]})
            assert activity["kind"] == kind
            assert (activity["subject"], activity["body"]) == (f"{kind} about it", "details")
            assert activity[target] == targets[target]
            assert [activity[key] for key in targets if key != target] == [None, None], (kind, target)
            assert activity["author_id"] == agents.agent.id
            assert (activity["assignee_id"], activity["due_at"], activity["done"]) == (None, None, False)
            occurred = datetime.fromisoformat(activity["occurred_at"])
            assert before <= occurred <= clock.now()
            assert activity["occurred_at"] == activity["created_at"]
            fetched = await client.get(f"/api/activities/{activity['id']}", headers=agents.lead.headers)
            assert fetched.json() == activity
    assert await Activity.count().run() == 15


async def test_explicit_occurred_at_is_kept(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    activity = await add(client, agents.agent.headers, kind="call", account_id=targets["account_id"],
                         occurred_at="2024-05-01T09:30:00+02:00")
    assert datetime.fromisoformat(activity["occurred_at"]) == datetime.fromisoformat("2024-05-01T07:30:00+00:00")


async def test_only_tasks_take_due_date_and_assignee(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    headers = agents.agent.headers
    for extra in ({"due_at": "2024-06-01T12:00:00+00:00"}, {"assignee_id": agents.lead.id}):
        response = await client.post(
            "/api/activities", json={"kind": "call", "subject": "x", "account_id": targets["account_id"], **extra},
            headers=headers,
        )
        assert_error(response, 422, "kind", "validation_failed")
    assert await Activity.count().run() == 0
    task = await add(client, headers, kind="task", subject="Send quote", account_id=targets["account_id"],
                     assignee_id=agents.lead.id, due_at="2024-06-01T12:00:00+00:00")
    assert task["assignee_id"] == agents.lead.id
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat("2024-06-01T12:00:00+00:00")
    note = await add(client, headers, kind="note", account_id=targets["account_id"])
    refused = await client.patch(f"/api/activities/{note['id']}", json={"due_at": "2024-06-01T12:00:00+00:00"},
                                 headers=headers)
    assert_error(refused, 422, "kind")
    assert (await client.get(f"/api/activities/{note['id']}", headers=headers)).json() == note


async def test_invalid_activity_is_422_and_not_stored(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    account_id = targets["account_id"]
    cases = [
        ({}, "account_id"),
        ({"account_id": 9999}, "account_id"),
        ({"contact_id": 9999}, "contact_id"),
        ({"ticket_id": 9999}, "ticket_id"),
        ({"kind": "task", "account_id": account_id, "assignee_id": 9999}, "assignee_id"),
        ({"kind": "fax", "account_id": account_id}, "kind"),
        ({"subject": "", "account_id": account_id}, "subject"),
        ({"kind": "task", "account_id": account_id, "due_at": "2024-06-01T12:00:00"}, "due_at"),
    ]
    for body, field in cases:
        response = await client.post("/api/activities", json={"kind": "note", "subject": "x", **body},
                                     headers=agents.agent.headers)
        assert response.status_code == 422, (body, response.text)
        assert_error(response, 422, field, "validation_failed")
    assert await Activity.count().run() == 0


async def test_filters(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    headers = agents.agent.headers
    account_id, contact_id, ticket_id = targets["account_id"], targets["contact_id"], targets["ticket_id"]
    call = await add(client, headers, kind="call", account_id=account_id, occurred_at="2024-01-01T10:00:00+00:00")
    mine = await add(client, headers, kind="task", contact_id=contact_id, assignee_id=agents.agent.id,
                     occurred_at="2024-01-02T10:00:00+00:00")
    mine_done = await add(client, headers, kind="task", ticket_id=ticket_id, assignee_id=agents.agent.id, done=True,
                          occurred_at="2024-01-03T10:00:00+00:00")
    leads = await add(client, headers, kind="task", account_id=account_id, assignee_id=agents.lead.id,
                      occurred_at="2024-01-04T10:00:00+00:00")
    note = await add(client, headers, kind="note", ticket_id=ticket_id, occurred_at="2024-01-05T10:00:00+00:00")

    async def ids(as_role: str = "agent", **params: object) -> list[int]:
        response = await client.get("/api/activities", params=params, headers=agents.by_role(as_role).headers)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await ids() == [note["id"], leads["id"], mine_done["id"], mine["id"], call["id"]]
    assert await ids(account_id=account_id) == [leads["id"], call["id"]]
    assert await ids(contact_id=contact_id) == [mine["id"]]
    assert await ids(ticket_id=ticket_id) == [note["id"], mine_done["id"]]
    assert await ids(kind="task") == [leads["id"], mine_done["id"], mine["id"]]
    assert await ids(assignee="me") == [mine_done["id"], mine["id"]]
    assert await ids("lead", assignee="me") == [leads["id"]]
    assert await ids("admin", assignee="me") == []
    assert await ids(assignee=str(agents.lead.id)) == [leads["id"]]
    assert await ids(assignee="me", done="false") == [mine["id"]]
    assert await ids(assignee="me", done="true") == [mine_done["id"]]
    assert await ids(kind="task", done="false") == [leads["id"], mine["id"]]
    assert await ids(done="true") == [mine_done["id"]]
    assert_error(await client.get("/api/activities", params={"assignee": "bob"}, headers=headers), 422, "assignee")
    assert_error(await client.get("/api/activities", params={"kind": "fax"}, headers=headers), 422, "kind")


async def test_newest_first_with_pagination(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    created = []
    for hour in (3, 1, 4, 1, 5, 2):  # two at 01:00: the id breaks the tie
        created.append(await add(client, agents.agent.headers, account_id=targets["account_id"], subject=f"h{hour}",
                                 occurred_at=f"2024-02-01T0{hour}:00:00+00:00"))
    pages = await collect_pages(client, "/api/activities", agents.agent.headers, limit=4)
    assert [len(page) for page in pages] == [4, 2]
    flat = [a for page in pages for a in page]
    expected = sorted(created, key=lambda a: (a["occurred_at"], a["id"]), reverse=True)
    assert [a["id"] for a in flat] == [a["id"] for a in expected]
    assert [a["subject"] for a in flat] == ["h5", "h4", "h3", "h2", "h1", "h1"]


async def test_patch_marks_a_task_done_and_reassigns(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    headers = agents.agent.headers
    task = await add(client, headers, kind="task", account_id=targets["account_id"], assignee_id=agents.agent.id)
    response = await client.patch(
        f"/api/activities/{task['id']}", json={"done": True, "assignee_id": agents.lead.id, "body": "sent"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**task, "done": True, "assignee_id": agents.lead.id, "body": "sent"}
    bad = await client.patch(f"/api/activities/{task['id']}", json={"done": False, "assignee_id": 9999}, headers=headers)
    assert_error(bad, 422, "assignee_id")
    assert (await client.get(f"/api/activities/{task['id']}", headers=headers)).json() == response.json()


async def test_author_or_admin_may_delete(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    first = await add(client, agents.agent.headers, account_id=targets["account_id"])
    # A lead is not an admin: only the author may delete it.
    refused = await client.delete(f"/api/activities/{first['id']}", headers=agents.lead.headers)
    assert_error(refused, 403, None, "permission_denied")
    assert await Activity.count().run() == 1
    assert (await client.delete(f"/api/activities/{first['id']}", headers=agents.agent.headers)).status_code == 204
    assert_error(await client.get(f"/api/activities/{first['id']}", headers=agents.agent.headers), 404, "activity_id")
    second = await add(client, agents.lead.headers, account_id=targets["account_id"])
    assert_error(await client.delete(f"/api/activities/{second['id']}", headers=agents.agent.headers), 403, None)
    assert (await client.delete(f"/api/activities/{second['id']}", headers=agents.admin.headers)).status_code == 204
    assert await Activity.count().run() == 0
    assert_error(await client.delete(f"/api/activities/{second['id']}", headers=agents.admin.headers), 404, "activity_id")


async def test_activities_go_with_their_account(client: AsyncClient, agents: RoleAgents, targets: dict[str, int]) -> None:
    await add(client, agents.agent.headers, account_id=targets["account_id"])
    kept = await add(client, agents.agent.headers, ticket_id=targets["ticket_id"])
    assert (await client.delete(f"/api/accounts/{targets['account_id']}", headers=agents.admin.headers)).status_code == 204
    remaining = (await client.get("/api/activities", headers=agents.agent.headers)).json()["items"]
    assert [a["id"] for a in remaining] == [kept["id"]]


async def test_timestamps_use_the_injected_clock(
    client: AsyncClient, agents: RoleAgents, targets: dict[str, int], clock: ShiftableClock
) -> None:
    clock.advance(timedelta(days=30))
    activity = await add(client, agents.agent.headers, account_id=targets["account_id"])
    created = datetime.fromisoformat(activity["created_at"])
    assert abs(created - clock.now()) < timedelta(seconds=5)
    assert created > datetime.now(created.tzinfo) + timedelta(days=29)
