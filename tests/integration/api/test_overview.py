"""The customer 360 (GET /api/contacts/{id}/overview and /api/accounts/{id}/overview): every part's content."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from tests.integration.api.customer_helpers import (
    assert_error,
    create_account,
    create_contact,
    create_purchase,
    create_ticket,
)
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock


async def add_activity(client: AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("kind", "note")
    response = await client.post("/api/activities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def world(client: AsyncClient, agents: RoleAgents, clock: ShiftableClock) -> dict[str, Any]:
    """Acme with two contacts, purchases, tickets and activities; and enough around it to leak into a wrong answer."""
    h = agents.agent.headers
    w: dict[str, Any] = {}
    w["acme"] = await create_account(client, h, name="Acme", tier="premium", domains=["acme.example"])
    w["other"] = await create_account(client, h, name="Other", domains=["other.example"])
    w["pat"] = await create_contact(client, h, name="Pat", emails=["pat@acme.example"], account_id=w["acme"]["id"],
                                    role="decision_maker")
    w["kim"] = await create_contact(client, h, name="Kim", emails=["kim@acme.example"], account_id=w["acme"]["id"],
                                    role="buyer")
    w["sam"] = await create_contact(client, h, name="Sam", emails=["sam@other.example"], account_id=w["other"]["id"])
    w["lou"] = await create_contact(client, h, name="Lou", emails=["lou@nowhere.example"])

    w["older_purchase"] = await create_purchase(client, h, account_id=w["acme"]["id"], order_number="ACME-1",
                                                ordered_at="2024-01-10T00:00:00+00:00")
    w["newer_purchase"] = await create_purchase(client, h, account_id=w["acme"]["id"], contact_id=w["pat"]["id"],
                                                order_number="ACME-2", amount="99.90",
                                                ordered_at="2024-02-10T00:00:00+00:00")
    w["other_purchase"] = await create_purchase(client, h, account_id=w["other"]["id"], order_number="OTHER-1")

    # Tickets, a minute apart so "recently updated" has one answer.
    for name, requester in [("pat_open", "pat"), ("pat_solved", "pat"), ("kim_open", "kim"), ("sam_open", "sam"),
                            ("lou_open", "lou")]:
        clock.advance(timedelta(minutes=1))
        w[name] = await create_ticket(client, h, subject=name, requester_id=w[requester]["id"])
    clock.advance(timedelta(minutes=1))
    solved = await client.patch(f"/api/tickets/{w['pat_solved']['id']}",
                                json={"version": w["pat_solved"]["version"], "status": "solved"}, headers=h)
    assert solved.status_code == 200, solved.text
    w["pat_solved"] = solved.json()

    w["on_acme"] = await add_activity(client, h, kind="meeting", subject="QBR", account_id=w["acme"]["id"],
                                      occurred_at="2024-03-01T10:00:00+00:00")
    w["on_pat"] = await add_activity(client, h, kind="call", subject="Pat called", contact_id=w["pat"]["id"],
                                     occurred_at="2024-03-03T10:00:00+00:00")
    w["on_kim"] = await add_activity(client, h, kind="email", subject="Kim wrote", contact_id=w["kim"]["id"],
                                     occurred_at="2024-03-02T10:00:00+00:00")
    w["on_other"] = await add_activity(client, h, kind="note", subject="Other note", account_id=w["other"]["id"],
                                       occurred_at="2024-03-04T10:00:00+00:00")
    w["on_sam"] = await add_activity(client, h, kind="note", subject="Sam note", contact_id=w["sam"]["id"],
                                     occurred_at="2024-03-05T10:00:00+00:00")
    w["on_lou"] = await add_activity(client, h, kind="task", subject="Call Lou back", contact_id=w["lou"]["id"],
                                     occurred_at="2024-03-06T10:00:00+00:00")
    return w


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


async def fetch(client: AsyncClient, agents: RoleAgents, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=agents.agent.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_contact_overview(client: AsyncClient, agents: RoleAgents, world: dict[str, Any]) -> None:
    w = world
    overview = await fetch(client, agents, f"/api/contacts/{w['pat']['id']}/overview")
    assert overview["contact"] == (await fetch(client, agents, f"/api/contacts/{w['pat']['id']}"))
    assert overview["account"] == w["acme"]
    # The account's people, with their roles, by name.
    assert [(c["name"], c["role"], c["emails"]) for c in overview["contacts"]] == [
        ("Kim", "buyer", ["kim@acme.example"]), ("Pat", "decision_maker", ["pat@acme.example"]),
    ]
    # What the account bought, newest first, never another account's orders.
    assert overview["purchases"] == [w["newer_purchase"], w["older_purchase"]]
    assert overview["purchases"][0]["amount"] == "99.90"
    # Pat's tickets only: open ones, and all recent ones newest-updated first.
    assert ids(overview["open_tickets"]) == [w["pat_open"]["id"]]
    assert overview["open_tickets"][0]["status"] == "new"
    assert ids(overview["recent_tickets"]) == [w["pat_solved"]["id"], w["pat_open"]["id"]]
    assert overview["recent_tickets"][0]["status"] == "solved"
    assert {t["requester"]["id"] for t in overview["recent_tickets"]} == {w["pat"]["id"]}
    assert {t["account"]["name"] for t in overview["recent_tickets"]} == {"Acme"}
    # Pat's own entries and the account's, newest first; not Kim's, nor another account's.
    assert ids(overview["activities"]) == [w["on_pat"]["id"], w["on_acme"]["id"]]
    assert overview["activities"][0] == w["on_pat"]


async def test_account_overview(client: AsyncClient, agents: RoleAgents, world: dict[str, Any]) -> None:
    w = world
    overview = await fetch(client, agents, f"/api/accounts/{w['acme']['id']}/overview")
    assert overview["contact"] is None
    assert overview["account"] == w["acme"]
    assert [(c["id"], c["role"]) for c in overview["contacts"]] == [(w["kim"]["id"], "buyer"), (w["pat"]["id"], "decision_maker")]
    assert overview["purchases"] == [w["newer_purchase"], w["older_purchase"]]
    # Every ticket of the account's people; the solved one only among the recent.
    assert ids(overview["open_tickets"]) == [w["kim_open"]["id"], w["pat_open"]["id"]]
    assert ids(overview["recent_tickets"]) == [w["pat_solved"]["id"], w["kim_open"]["id"], w["pat_open"]["id"]]
    assert all(t["status"] in ("new", "open", "pending", "on_hold") for t in overview["open_tickets"])
    # The account's timeline gathers its contacts' entries too.
    assert ids(overview["activities"]) == [w["on_pat"]["id"], w["on_kim"]["id"], w["on_acme"]["id"]]
    assert [a["kind"] for a in overview["activities"]] == ["call", "email", "meeting"]


async def test_contact_without_account(client: AsyncClient, agents: RoleAgents, world: dict[str, Any]) -> None:
    w = world
    overview = await fetch(client, agents, f"/api/contacts/{w['lou']['id']}/overview")
    assert overview["contact"]["id"] == w["lou"]["id"]
    assert overview["account"] is None
    assert ids(overview["contacts"]) == [w["lou"]["id"]]
    assert overview["purchases"] == []
    assert ids(overview["open_tickets"]) == [w["lou_open"]["id"]]
    assert ids(overview["recent_tickets"]) == [w["lou_open"]["id"]]
    assert ids(overview["activities"]) == [w["on_lou"]["id"]]
    assert overview["activities"][0]["kind"] == "task"


async def test_overview_follows_changes(client: AsyncClient, agents: RoleAgents, world: dict[str, Any]) -> None:
    """After Kim leaves Acme, the account's 360 no longer shows her, and hers no longer shows Acme."""
    w = world
    moved = await client.patch(f"/api/contacts/{w['kim']['id']}", json={"account_id": None}, headers=agents.agent.headers)
    assert moved.status_code == 200, moved.text
    account = await fetch(client, agents, f"/api/accounts/{w['acme']['id']}/overview")
    assert ids(account["contacts"]) == [w["pat"]["id"]]
    assert ids(account["activities"]) == [w["on_pat"]["id"], w["on_acme"]["id"]]
    kim = await fetch(client, agents, f"/api/contacts/{w['kim']['id']}/overview")
    assert kim["account"] is None
    assert ids(kim["contacts"]) == [w["kim"]["id"]]
    assert ids(kim["activities"]) == [w["on_kim"]["id"]]
    assert ids(kim["open_tickets"]) == [w["kim_open"]["id"]]


async def test_empty_account_overview(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, name="Empty")
    overview = await fetch(client, agents, f"/api/accounts/{account['id']}/overview")
    assert overview == {"contact": None, "account": account, "contacts": [], "purchases": [], "open_tickets": [],
                        "recent_tickets": [], "activities": []}


async def test_missing_records_are_404(client: AsyncClient, agents: RoleAgents) -> None:
    assert_error(await client.get("/api/contacts/999/overview", headers=agents.agent.headers), 404, "contact_id")
    assert_error(await client.get("/api/accounts/999/overview", headers=agents.agent.headers), 404, "account_id")
    assert_error(await client.get("/api/accounts/999/overview"), 401, None)
