"""GET /api/audit/{object_type}/{object_id}: admin only; who did what, with before/after of what changed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from helpdesk.audit.tables import AuditEvent
from tests.integration.api.customer_helpers import (
    assert_error,
    create_account,
    create_contact,
    create_purchase,
)
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock


async def trail(client: AsyncClient, agents: RoleAgents, object_type: str, object_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/audit/{object_type}/{object_id}", headers=agents.admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("role", ["agent", "lead"])
async def test_only_admins_read_the_audit_trail(client: AsyncClient, agents: RoleAgents, role: str) -> None:
    account = await create_account(client, agents.agent.headers)
    response = await client.get(f"/api/audit/account/{account['id']}", headers=agents.by_role(role).headers)
    assert_error(response, 403, None, "permission_denied")
    assert_error(await client.get(f"/api/audit/account/{account['id']}"), 401, None)


async def test_account_changes_record_actor_action_and_before_after(
    client: AsyncClient, agents: RoleAgents, clock: ShiftableClock
) -> None:
    account = await create_account(client, agents.lead.headers, name=" Acme ", domains=["Acme.example"])
    clock.advance(timedelta(minutes=1))
    patched = await client.patch(
        f"/api/accounts/{account['id']}",
        json={"name": "Acme Corp", "tier": "premium", "domains": ["acme.example"]},  # domains unchanged
        headers=agents.agent.headers,
    )
    assert patched.status_code == 200, patched.text
    clock.advance(timedelta(minutes=1))
    assert (await client.patch(f"/api/accounts/{account['id']}", json={"domains": ["acme.example", "acme.io"]},
                               headers=agents.agent.headers)).status_code == 200

    updated_domains, updated, created = await trail(client, agents, "account", account["id"])  # newest first
    assert (created["action"], created["actor_type"], created["actor_id"]) == ("account.created", "token", agents.lead.id)
    assert created["changes"] == {"name": [None, "Acme"], "tier": [None, "standard"], "domains": [None, ["acme.example"]],
                                  "custom_fields": [None, {}]}
    assert (updated["action"], updated["actor_id"], updated["object_type"], updated["object_id"]) == (
        "account.updated", agents.agent.id, "account", account["id"])
    # Only what moved: not the domains sent unchanged, not updated_at.
    assert updated["changes"] == {"name": ["Acme", "Acme Corp"], "tier": ["standard", "premium"]}
    assert updated_domains["changes"] == {"domains": [["acme.example"], ["acme.example", "acme.io"]]}
    assert datetime.fromisoformat(updated["created_at"]) == datetime.fromisoformat(patched.json()["updated_at"])
    assert datetime.fromisoformat(created["created_at"]) < datetime.fromisoformat(updated["created_at"])


async def test_failed_change_leaves_no_audit_entry(client: AsyncClient, agents: RoleAgents) -> None:
    await create_account(client, agents.agent.headers, name="Taken", domains=["taken.example"])
    account = await create_account(client, agents.agent.headers, name="Acme")
    refused = await client.patch(f"/api/accounts/{account['id']}", json={"name": "New", "domains": ["taken.example"]},
                                 headers=agents.agent.headers)
    assert_error(refused, 409, "domains")
    assert [e["action"] for e in await trail(client, agents, "account", account["id"])] == ["account.created"]
    refused_create = await client.post("/api/accounts", json={"name": "Nope", "domains": ["gmail.com"]},
                                       headers=agents.agent.headers)
    assert_error(refused_create, 422, "domains")
    assert await AuditEvent.count().where(AuditEvent.object_type == "account").run() == 2


async def test_deletion_is_recorded(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, name="Acme")
    assert (await client.delete(f"/api/accounts/{account['id']}", headers=agents.admin.headers)).status_code == 204
    deleted, _ = await trail(client, agents, "account", account["id"])
    assert (deleted["action"], deleted["actor_id"], deleted["changes"]) == ("account.deleted", agents.admin.id,
                                                                           {"name": ["Acme", None]})


async def test_contact_and_purchase_trails(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, name="Acme")
    contact = await create_contact(client, agents.agent.headers, name=" Pat", emails=["Pat@acme.example"])
    linked = await client.patch(f"/api/contacts/{contact['id']}",
                                json={"account_id": account["id"], "role": "buyer", "emails": ["pat@acme.example", "p@x.example"]},
                                headers=agents.agent.headers)
    assert linked.status_code == 200, linked.text
    updated, created = await trail(client, agents, "contact", contact["id"])
    assert created["action"] == "contact.created"
    assert created["changes"]["emails"] == [None, ["pat@acme.example"]]
    assert created["changes"]["name"] == [None, "Pat"]  # as stored
    assert updated["changes"] == {"account_id": [None, account["id"]], "role": ["user", "buyer"],
                                  "emails": [["pat@acme.example"], ["pat@acme.example", "p@x.example"]]}

    purchase = await create_purchase(client, agents.agent.headers, account_id=account["id"], amount="10.00")
    changed = await client.patch(f"/api/purchases/{purchase['id']}", json={"amount": "12.50", "status": "paid"},
                                 headers=agents.agent.headers)
    assert changed.status_code == 200, changed.text
    updated, created = await trail(client, agents, "purchase", purchase["id"])
    assert created["action"] == "purchase.created"
    assert created["changes"]["amount"] == [None, "10.00"]
    assert updated["changes"] == {"amount": ["10.00", "12.50"]}  # status was already paid


async def test_unknown_object_has_an_empty_trail(client: AsyncClient, agents: RoleAgents) -> None:
    assert await trail(client, agents, "account", 424242) == []
    assert await trail(client, agents, "spaceship", 1) == []
