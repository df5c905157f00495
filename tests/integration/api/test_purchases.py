"""/api/purchases over HTTP: decimal amounts, currencies, the contact-in-account rule, order and pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from httpx import AsyncClient

from helpdesk.customers.tables import Purchase
from tests.integration.api.customer_helpers import (
    assert_error,
    collect_pages,
    create_account,
    create_contact,
    create_purchase,
)
from tests.support.agents import RoleAgents


@pytest.fixture
async def acme(client: AsyncClient, agents: RoleAgents) -> dict:
    account = await create_account(client, agents.agent.headers, name="Acme", domains=["acme.example"])
    contact = await create_contact(client, agents.agent.headers, name="Pat", emails=["pat@acme.example"],
                                   account_id=account["id"])
    return {"account": account, "contact": contact}


async def test_create_and_get_purchase(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    purchase = await create_purchase(
        client, agents.agent.headers, account_id=acme["account"]["id"], contact_id=acme["contact"]["id"],
        order_number="SO-100", sku="WID-1", product="Widget Pro", quantity=3, amount="1234.56", currency="USD",
        ordered_at="2024-03-01T10:00:00+02:00", status="pending",
    )
    assert purchase == {
        "id": purchase["id"], "account_id": acme["account"]["id"], "contact_id": acme["contact"]["id"],
        "order_number": "SO-100", "sku": "WID-1", "product": "Widget Pro", "quantity": 3, "amount": "1234.56",
        "currency": "USD", "ordered_at": purchase["ordered_at"], "status": "pending",
    }
    assert datetime.fromisoformat(purchase["ordered_at"]) == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    fetched = await client.get(f"/api/purchases/{purchase['id']}", headers=agents.agent.headers)
    assert fetched.json() == purchase


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("10.10", "10.10"), ("100", "100.00"), ("0.5", "0.50"), (19.99, "19.99"), ("-5.00", "-5.00"),
     ("999999999999.99", "999999999999.99")],
)
async def test_amount_is_a_two_decimal_string_on_every_engine(
    client: AsyncClient, agents: RoleAgents, acme: dict, amount: object, shown: str
) -> None:
    purchase = await create_purchase(client, agents.agent.headers, account_id=acme["account"]["id"], amount=amount)
    assert purchase["amount"] == shown
    listed = (await client.get("/api/purchases", headers=agents.agent.headers)).json()["items"]
    assert [p["amount"] for p in listed] == [shown]


INVALID = [
    ({"amount": "10.001"}, "amount"),
    ({"amount": "1000000000000"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "ten"}, "amount"),
    ({"currency": "eur"}, "currency"),
    ({"currency": "EURO"}, "currency"),
    ({"currency": "E1R"}, "currency"),
    ({"quantity": 0}, "quantity"),
    ({"status": "lost"}, "status"),
    ({"ordered_at": "2024-03-01T10:00:00"}, "ordered_at"),
    ({"order_number": ""}, "order_number"),
]


async def test_invalid_purchase_is_422_and_not_stored(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    for change, field in INVALID:
        body = {"account_id": acme["account"]["id"], "order_number": "SO-1", "sku": "S", "product": "P",
                "amount": "1.00", "currency": "EUR", "ordered_at": "2024-03-01T10:00:00+00:00", **change}
        response = await client.post("/api/purchases", json=body, headers=agents.agent.headers)
        assert response.status_code == 422, (change, response.text)
        assert_error(response, 422, field, "validation_failed")
    assert await Purchase.count().run() == 0


async def test_contact_must_belong_to_the_account(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    other = await create_account(client, agents.agent.headers, name="Other")
    stranger = await create_contact(client, agents.agent.headers, name="Sam", emails=["sam@other.example"],
                                    account_id=other["id"])
    loner = await create_contact(client, agents.agent.headers, name="Lou", emails=["lou@nowhere.example"])
    base = {"order_number": "SO-1", "sku": "S", "product": "P", "amount": "1.00", "currency": "EUR",
            "ordered_at": "2024-03-01T10:00:00+00:00"}
    for contact_id in (stranger["id"], loner["id"], 99999):
        response = await client.post(
            "/api/purchases", json={**base, "account_id": acme["account"]["id"], "contact_id": contact_id},
            headers=agents.agent.headers,
        )
        assert_error(response, 422, "contact_id", "validation_failed")
    missing_account = await client.post("/api/purchases", json={**base, "account_id": 99999}, headers=agents.agent.headers)
    assert_error(missing_account, 422, "account_id")
    assert await Purchase.count().run() == 0
    purchase = await create_purchase(client, agents.agent.headers, account_id=acme["account"]["id"])
    moved = await client.patch(
        f"/api/purchases/{purchase['id']}", json={"contact_id": stranger["id"], "status": "refunded"},
        headers=agents.agent.headers,
    )
    assert_error(moved, 422, "contact_id")
    assert (await client.get(f"/api/purchases/{purchase['id']}", headers=agents.agent.headers)).json() == purchase


async def test_patch_purchase(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    purchase = await create_purchase(client, agents.agent.headers, account_id=acme["account"]["id"], amount="10.00")
    response = await client.patch(
        f"/api/purchases/{purchase['id']}",
        json={"contact_id": acme["contact"]["id"], "status": "refunded", "amount": "7.50", "quantity": 2},
        headers=agents.agent.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**purchase, "contact_id": acme["contact"]["id"], "status": "refunded", "amount": "7.50",
                               "quantity": 2}
    bad = await client.patch(
        f"/api/purchases/{purchase['id']}", json={"status": "cancelled", "amount": "1.234"}, headers=agents.agent.headers
    )
    assert_error(bad, 422, "amount")
    assert (await client.get(f"/api/purchases/{purchase['id']}", headers=agents.agent.headers)).json() == response.json()


async def test_list_is_newest_first_across_time_zones(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    account_id = acme["account"]["id"]
    # 10:00+02:00 is 08:00 UTC: older than 09:00 UTC although its wall time is later.
    for number, ordered_at in [("B", "2024-03-01T10:00:00+02:00"), ("C", "2024-03-01T09:00:00+00:00"),
                               ("A", "2024-02-28T23:30:00-05:00"), ("D", "2024-03-02T00:00:00.250000+00:00")]:
        await create_purchase(client, agents.agent.headers, account_id=account_id, order_number=number,
                              ordered_at=ordered_at)
    listed = (await client.get("/api/purchases", headers=agents.agent.headers)).json()
    assert [p["order_number"] for p in listed["items"]] == ["D", "C", "B", "A"]
    assert listed["next"] is None
    pages = await collect_pages(client, "/api/purchases", agents.agent.headers, limit=1)
    assert [page[0]["order_number"] for page in pages] == ["D", "C", "B", "A"]


async def test_pagination_breaks_ties_by_id(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    ids = [
        (await create_purchase(client, agents.agent.headers, account_id=acme["account"]["id"], order_number=f"SO-{i}"))["id"]
        for i in range(5)
    ]
    pages = await collect_pages(client, "/api/purchases", agents.agent.headers, limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [p["id"] for page in pages for p in page] == sorted(ids, reverse=True)


async def test_filters(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    headers = agents.agent.headers
    account_id, contact_id = acme["account"]["id"], acme["contact"]["id"]
    other = await create_account(client, headers, name="Other")
    paid = await create_purchase(client, headers, account_id=account_id, contact_id=contact_id, order_number="P1",
                                 ordered_at="2024-01-01T00:00:00+00:00")
    refunded = await create_purchase(client, headers, account_id=account_id, order_number="R1", status="refunded",
                                     ordered_at="2024-01-02T00:00:00+00:00")
    elsewhere = await create_purchase(client, headers, account_id=other["id"], order_number="O1",
                                      ordered_at="2024-01-03T00:00:00+00:00")

    async def numbers(**params: object) -> list[str]:
        response = await client.get("/api/purchases", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [p["order_number"] for p in response.json()["items"]]

    assert await numbers() == ["O1", "R1", "P1"]
    assert await numbers(status="paid") == ["O1", "P1"]
    assert await numbers(status="refunded") == ["R1"]
    assert await numbers(status="cancelled") == []
    assert await numbers(account_id=account_id) == ["R1", "P1"]
    assert await numbers(account_id=account_id, status="paid") == ["P1"]
    assert await numbers(contact_id=contact_id) == ["P1"]
    by_id = (await client.get("/api/purchases", params={"status": "paid"}, headers=headers)).json()["items"]
    assert [p["id"] for p in by_id] == [elsewhere["id"], paid["id"]]
    assert refunded["status"] == "refunded"
    assert_error(await client.get("/api/purchases", params={"status": "lost"}, headers=headers), 422, "status")


@pytest.mark.parametrize("role", ["agent", "lead"])
async def test_only_admins_delete_purchases(client: AsyncClient, agents: RoleAgents, acme: dict, role: str) -> None:
    purchase = await create_purchase(client, agents.agent.headers, account_id=acme["account"]["id"])
    assert_error(await client.delete(f"/api/purchases/{purchase['id']}", headers=agents.by_role(role).headers), 403, None)
    assert await Purchase.count().run() == 1
    assert (await client.delete(f"/api/purchases/{purchase['id']}", headers=agents.admin.headers)).status_code == 204
    assert_error(await client.get(f"/api/purchases/{purchase['id']}", headers=agents.agent.headers), 404, "purchase_id")


async def test_deleting_the_contact_keeps_the_purchase(client: AsyncClient, agents: RoleAgents, acme: dict) -> None:
    purchase = await create_purchase(client, agents.agent.headers, account_id=acme["account"]["id"],
                                     contact_id=acme["contact"]["id"])
    assert (await client.delete(f"/api/contacts/{acme['contact']['id']}", headers=agents.admin.headers)).status_code == 204
    kept = (await client.get(f"/api/purchases/{purchase['id']}", headers=agents.agent.headers)).json()
    assert kept == {**purchase, "contact_id": None}
