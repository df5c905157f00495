"""/api/custom-fields definitions, and the values they govern on accounts, contacts and tickets."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from helpdesk.customers.tables import Account, Contact, CustomFieldDefinition
from tests.integration.api.customer_helpers import (
    assert_error,
    create_account,
    create_contact,
    create_ticket,
)
from tests.support.agents import RoleAgents

# One definition of each type, all on accounts.
ACCOUNT_FIELDS = [
    {"object_type": "account", "key": "region", "label": "Region", "field_type": "text"},
    {"object_type": "account", "key": "seats", "label": "Seats", "field_type": "number"},
    {"object_type": "account", "key": "renewal", "label": "Renewal", "field_type": "date"},
    {"object_type": "account", "key": "plan", "label": "Plan", "field_type": "choice", "choices": ["basic", "pro"]},
    {"object_type": "account", "key": "vip", "label": "VIP", "field_type": "boolean"},
]


async def define(client: AsyncClient, agents: RoleAgents, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/custom-fields", json=body, headers=agents.admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def define_account_fields(client: AsyncClient, agents: RoleAgents) -> None:
    for body in ACCOUNT_FIELDS:
        await define(client, agents, **body)


# ---------------------------------------------------------------- definitions


async def test_admin_defines_each_field_type(client: AsyncClient, agents: RoleAgents) -> None:
    await define_account_fields(client, agents)
    listed = await client.get("/api/custom-fields", headers=agents.agent.headers)
    assert listed.status_code == 200
    fields = listed.json()
    assert [(f["key"], f["field_type"], f["choices"], f["required"]) for f in fields] == [
        ("region", "text", [], False), ("seats", "number", [], False), ("renewal", "date", [], False),
        ("plan", "choice", ["basic", "pro"], False), ("vip", "boolean", [], False),
    ]
    one = await client.get(f"/api/custom-fields/{fields[3]['id']}", headers=agents.agent.headers)
    assert one.json() == fields[3]
    assert one.json()["label"] == "Plan"


async def test_list_filters_by_object_type(client: AsyncClient, agents: RoleAgents) -> None:
    await define(client, agents, object_type="account", key="region", label="Region", field_type="text")
    await define(client, agents, object_type="contact", key="region", label="Region", field_type="text")
    await define(client, agents, object_type="ticket", key="severity", label="Severity", field_type="number")
    for object_type, keys in [("account", ["region"]), ("contact", ["region"]), ("ticket", ["severity"])]:
        response = await client.get("/api/custom-fields", params={"object_type": object_type}, headers=agents.agent.headers)
        assert [(f["object_type"], f["key"]) for f in response.json()] == [(object_type, k) for k in keys]


@pytest.mark.parametrize("role", ["agent", "lead"])
async def test_only_admins_write_definitions(client: AsyncClient, agents: RoleAgents, role: str) -> None:
    headers = agents.by_role(role).headers
    body = {"object_type": "account", "key": "region", "label": "Region", "field_type": "text"}
    assert_error(await client.post("/api/custom-fields", json=body, headers=headers), 403, None, "permission_denied")
    assert await CustomFieldDefinition.count().run() == 0
    field = await define(client, agents, **body)
    assert_error(await client.patch(f"/api/custom-fields/{field['id']}", json={"label": "X"}, headers=headers), 403, None)
    assert_error(await client.delete(f"/api/custom-fields/{field['id']}", headers=headers), 403, None)
    assert (await client.get(f"/api/custom-fields/{field['id']}", headers=headers)).json() == field


async def test_key_is_unique_per_object_type(client: AsyncClient, agents: RoleAgents) -> None:
    await define(client, agents, object_type="account", key="region", label="Region", field_type="text")
    again = await client.post(
        "/api/custom-fields", json={"object_type": "account", "key": "region", "label": "Other", "field_type": "number"},
        headers=agents.admin.headers,
    )
    assert_error(again, 409, "key", "conflict")
    await define(client, agents, object_type="contact", key="region", label="Region", field_type="text")
    assert await CustomFieldDefinition.count().run() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field_type": "choice", "choices": []}, "choices"),
        ({"field_type": "text", "choices": ["a"]}, "choices"),
        ({"field_type": "choice", "choices": ["a", "a"]}, "choices"),
        ({"field_type": "colour"}, "field_type"),
        ({"field_type": "text", "key": "Bad Key"}, "key"),
        ({"field_type": "text", "object_type": "purchase"}, "object_type"),
    ],
)
async def test_invalid_definition_is_422(client: AsyncClient, agents: RoleAgents, body: dict, field: str) -> None:
    full = {"object_type": "account", "key": "thing", "label": "Thing", **body}
    response = await client.post("/api/custom-fields", json=full, headers=agents.admin.headers)
    assert_error(response, 422, field, "validation_failed")
    assert await CustomFieldDefinition.count().run() == 0


async def test_update_definition(client: AsyncClient, agents: RoleAgents) -> None:
    plan = await define(client, agents, object_type="account", key="plan", label="Plan", field_type="choice",
                        choices=["basic", "pro"])
    response = await client.patch(
        f"/api/custom-fields/{plan['id']}", json={"label": "Plan level", "choices": ["basic", "pro", "max"], "required": True},
        headers=agents.admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**plan, "label": "Plan level", "choices": ["basic", "pro", "max"], "required": True}
    assert (await client.get(f"/api/custom-fields/{plan['id']}", headers=agents.agent.headers)).json() == response.json()
    empty = await client.patch(f"/api/custom-fields/{plan['id']}", json={"choices": []}, headers=agents.admin.headers)
    assert_error(empty, 422, "choices")
    text = await define(client, agents, object_type="account", key="region", label="Region", field_type="text")
    refused = await client.patch(f"/api/custom-fields/{text['id']}", json={"choices": ["x"]}, headers=agents.admin.headers)
    assert_error(refused, 422, "choices")
    assert (await client.get(f"/api/custom-fields/{text['id']}", headers=agents.agent.headers)).json() == text
    # The key and type are fixed once values may exist.
    assert_error(
        await client.patch(f"/api/custom-fields/{text['id']}", json={"field_type": "number"}, headers=agents.admin.headers),
        422, "field_type",
    )


# ---------------------------------------------------------------- values


async def test_valid_values_of_every_type_are_stored(client: AsyncClient, agents: RoleAgents) -> None:
    await define_account_fields(client, agents)
    values = {"region": "EMEA", "seats": 25, "renewal": "2025-01-31", "plan": "pro", "vip": False}
    account = await create_account(client, agents.agent.headers, custom_fields=values)
    assert account["custom_fields"] == values
    fetched = (await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers)).json()
    assert fetched["custom_fields"] == values
    decimal = await client.patch(
        f"/api/accounts/{account['id']}", json={"custom_fields": {"seats": 2.5}}, headers=agents.agent.headers
    )
    assert decimal.json()["custom_fields"] == {**values, "seats": 2.5}


WRONG_VALUES = [
    ("region", 5), ("region", ["EMEA"]), ("region", "x" * 10_001),
    ("seats", "25"), ("seats", True), ("seats", {"n": 1}),
    ("renewal", "31.01.2025"), ("renewal", "2025-02-30"), ("renewal", 20250131),
    ("plan", "enterprise"), ("plan", "PRO"), ("plan", ["pro"]),
    ("vip", "yes"), ("vip", 1), ("vip", 0),
]


async def test_wrong_type_is_422_naming_the_key_and_nothing_is_written(client: AsyncClient, agents: RoleAgents) -> None:
    await define_account_fields(client, agents)
    account = await create_account(client, agents.agent.headers, custom_fields={"region": "EMEA"})
    for key, value in WRONG_VALUES:
        created = await client.post(
            "/api/accounts", json={"name": "Acme", "custom_fields": {key: value}}, headers=agents.agent.headers
        )
        assert created.status_code == 422, (key, value, created.text)
        assert_error(created, 422, f"custom_fields.{key}", "validation_failed")
        patched = await client.patch(
            f"/api/accounts/{account['id']}", json={"name": "Renamed", "custom_fields": {key: value}},
            headers=agents.agent.headers,
        )
        assert patched.status_code == 422, (key, value, patched.text)
        assert_error(patched, 422, f"custom_fields.{key}", "validation_failed")
    assert await Account.count().run() == 1
    assert (await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers)).json() == account


async def test_unknown_key_is_422(client: AsyncClient, agents: RoleAgents) -> None:
    await define(client, agents, object_type="contact", key="shoe_size", label="Shoe size", field_type="number")
    # Defined for contacts, so unknown on accounts.
    response = await client.post(
        "/api/accounts", json={"name": "Acme", "custom_fields": {"shoe_size": 42}}, headers=agents.agent.headers
    )
    body = assert_error(response, 422, "custom_fields.shoe_size", "validation_failed")
    assert "shoe_size" in body["detail"]
    contact = await create_contact(client, agents.agent.headers, custom_fields={"shoe_size": 42})
    assert contact["custom_fields"] == {"shoe_size": 42}


async def test_patch_merges_values_and_null_clears_one(client: AsyncClient, agents: RoleAgents) -> None:
    await define_account_fields(client, agents)
    account = await create_account(client, agents.agent.headers, custom_fields={"region": "EMEA", "seats": 10})
    merged = await client.patch(
        f"/api/accounts/{account['id']}", json={"custom_fields": {"plan": "basic"}}, headers=agents.agent.headers
    )
    assert merged.json()["custom_fields"] == {"region": "EMEA", "seats": 10, "plan": "basic"}
    cleared = await client.patch(
        f"/api/accounts/{account['id']}", json={"custom_fields": {"region": None, "vip": True}}, headers=agents.agent.headers
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["custom_fields"] == {"seats": 10, "plan": "basic", "vip": True}
    stored = await Account.select(Account.custom_fields).output(load_json=True).first().run()
    assert stored["custom_fields"] == {"seats": 10, "plan": "basic", "vip": True}


async def test_required_field(client: AsyncClient, agents: RoleAgents) -> None:
    await define(client, agents, object_type="contact", key="customer_no", label="Customer no.", field_type="text",
                 required=True)
    missing = await client.post("/api/contacts", json={"name": "Pat", "emails": ["pat@x.example"]},
                                headers=agents.agent.headers)
    assert_error(missing, 422, "custom_fields.customer_no", "validation_failed")
    empty = await client.post(
        "/api/contacts", json={"name": "Pat", "emails": ["pat@x.example"], "custom_fields": {"customer_no": ""}},
        headers=agents.agent.headers,
    )
    assert_error(empty, 422, "custom_fields.customer_no")
    assert await Contact.count().run() == 0
    contact = await create_contact(client, agents.agent.headers, custom_fields={"customer_no": "C-1"})
    cleared = await client.patch(
        f"/api/contacts/{contact['id']}", json={"custom_fields": {"customer_no": None}}, headers=agents.agent.headers
    )
    assert_error(cleared, 422, "custom_fields.customer_no")
    assert (await client.get(f"/api/contacts/{contact['id']}", headers=agents.agent.headers)).json() == contact


async def test_required_boolean_accepts_false(client: AsyncClient, agents: RoleAgents) -> None:
    await define(client, agents, object_type="account", key="nda", label="NDA", field_type="boolean", required=True)
    account = await create_account(client, agents.agent.headers, custom_fields={"nda": False})
    assert account["custom_fields"] == {"nda": False}


async def test_ticket_values_are_validated_on_create_and_patch(client: AsyncClient, agents: RoleAgents) -> None:
    await define(client, agents, object_type="ticket", key="severity", label="Severity", field_type="choice",
                 choices=["s1", "s2", "s3"])
    await define(client, agents, object_type="ticket", key="due", label="Due", field_type="date")
    headers = agents.agent.headers
    bad = await client.post("/api/tickets", json={"subject": "Down", "custom_fields": {"severity": "s9"}}, headers=headers)
    assert_error(bad, 422, "custom_fields.severity")
    ticket = await create_ticket(client, headers, subject="Down", custom_fields={"severity": "s1", "due": "2025-06-01"})
    assert ticket["custom_fields"] == {"severity": "s1", "due": "2025-06-01"}
    wrong = await client.patch(
        f"/api/tickets/{ticket['id']}", json={"version": ticket["version"], "custom_fields": {"due": "tomorrow"}},
        headers=headers,
    )
    assert_error(wrong, 422, "custom_fields.due")
    unchanged = (await client.get(f"/api/tickets/{ticket['id']}", headers=headers)).json()["ticket"]
    assert (unchanged["version"], unchanged["custom_fields"]) == (ticket["version"], ticket["custom_fields"])
    patched = await client.patch(
        f"/api/tickets/{ticket['id']}", json={"version": ticket["version"], "custom_fields": {"severity": None, "due": "2025-06-02"}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["custom_fields"] == {"due": "2025-06-02"}


async def test_deleted_definition_stops_new_values_but_keeps_stored_ones(client: AsyncClient, agents: RoleAgents) -> None:
    region = await define(client, agents, object_type="account", key="region", label="Region", field_type="text")
    account = await create_account(client, agents.agent.headers, custom_fields={"region": "EMEA"})
    deleted = await client.delete(f"/api/custom-fields/{region['id']}", headers=agents.admin.headers)
    assert deleted.status_code == 204, deleted.text
    assert_error(await client.get(f"/api/custom-fields/{region['id']}", headers=agents.agent.headers), 404, "field_id")
    assert (await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers)).json()["custom_fields"] == {
        "region": "EMEA"
    }
    refused = await client.patch(
        f"/api/accounts/{account['id']}", json={"custom_fields": {"region": "APAC"}}, headers=agents.agent.headers
    )
    assert_error(refused, 422, "custom_fields.region")
