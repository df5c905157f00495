"""/api/accounts and /api/contacts over HTTP: rules, filters, pagination, and nothing half-written."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
from httpx import AsyncClient

from helpdesk.customers.tables import Account, AccountDomain, Contact, ContactEmail
from tests.integration.api.customer_helpers import (
    assert_error,
    collect_pages,
    create_account,
    create_contact,
)
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock

# ---------------------------------------------------------------- accounts


async def test_create_account_lower_cases_and_dedupes_domains(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(
        client, agents.agent.headers, name="Acme", tier="premium", domains=["Acme.Example", "acme.example", "ACME.io"]
    )
    assert account["name"] == "Acme"
    assert account["tier"] == "premium"
    assert account["domains"] == ["acme.example", "acme.io"]
    assert account["custom_fields"] == {}
    assert account["created_at"] == account["updated_at"]
    fetched = await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers)
    assert fetched.status_code == 200
    assert fetched.json() == account
    stored = await AccountDomain.select(AccountDomain.domain).order_by(AccountDomain.domain).run()
    assert [row["domain"] for row in stored] == ["acme.example", "acme.io"]


async def test_account_defaults_to_standard_tier_without_domains(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, name="Plain")
    assert (account["tier"], account["domains"]) == ("standard", [])


@pytest.mark.parametrize("domain", ["gmail.com", "GMail.com", "outlook.com", "yahoo.com"])
async def test_free_mail_domain_is_refused_and_nothing_is_stored(
    client: AsyncClient, agents: RoleAgents, domain: str
) -> None:
    response = await client.post(
        "/api/accounts", json={"name": "Freemail Inc", "domains": ["freemail-inc.example", domain]},
        headers=agents.agent.headers,
    )
    body = assert_error(response, 422, "domains", "validation_failed")
    assert domain.lower() in body["detail"]
    assert await Account.count().run() == 0
    assert await AccountDomain.count().run() == 0


async def test_domain_of_another_account_is_a_conflict(client: AsyncClient, agents: RoleAgents) -> None:
    first = await create_account(client, agents.agent.headers, name="First", domains=["shared.example"])
    response = await client.post(
        "/api/accounts", json={"name": "Second", "domains": ["other.example", "SHARED.example"]},
        headers=agents.agent.headers,
    )
    body = assert_error(response, 409, "domains", "conflict")
    assert "shared.example" in body["detail"]
    assert [row["name"] for row in await Account.select(Account.name).run()] == ["First"]
    domains = await AccountDomain.select(AccountDomain.domain, AccountDomain.account).run()
    assert domains == [{"domain": "shared.example", "account": first["id"]}]


async def test_patch_to_a_taken_domain_is_a_conflict_and_changes_nothing(client: AsyncClient, agents: RoleAgents) -> None:
    await create_account(client, agents.agent.headers, name="First", domains=["first.example"])
    second = await create_account(client, agents.agent.headers, name="Second", domains=["second.example"])
    response = await client.patch(
        f"/api/accounts/{second['id']}", json={"name": "Renamed", "domains": ["second.example", "first.example"]},
        headers=agents.agent.headers,
    )
    assert_error(response, 409, "domains", "conflict")
    after = (await client.get(f"/api/accounts/{second['id']}", headers=agents.agent.headers)).json()
    assert after == second


async def test_patch_keeps_own_domains_and_replaces_the_list(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, domains=["a.example", "b.example"])
    response = await client.patch(
        f"/api/accounts/{account['id']}", json={"domains": ["B.example", "c.example"]}, headers=agents.agent.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["domains"] == ["b.example", "c.example"]
    # The dropped domain is free for another account now.
    other = await create_account(client, agents.agent.headers, name="Other", domains=["a.example"])
    assert other["domains"] == ["a.example"]


async def test_patch_with_free_mail_domain_leaves_account_unchanged(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, name="Acme", domains=["acme.example"])
    response = await client.patch(
        f"/api/accounts/{account['id']}", json={"name": "Changed", "tier": "enterprise", "domains": ["gmail.com"]},
        headers=agents.agent.headers,
    )
    assert_error(response, 422, "domains")
    after = (await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers)).json()
    assert after == account


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"tier": "gold"}, "tier"),
        ({"domains": ["not a domain"]}, "domains[0]"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_patch_is_422_naming_the_field_and_changes_nothing(
    client: AsyncClient, agents: RoleAgents, body: dict, field: str
) -> None:
    account = await create_account(client, agents.agent.headers, name="Acme", domains=["acme.example"])
    response = await client.patch(f"/api/accounts/{account['id']}", json=body, headers=agents.agent.headers)
    assert_error(response, 422, field, "validation_failed")
    after = (await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers)).json()
    assert after == account


async def test_patch_changes_only_given_fields_and_moves_updated_at(
    client: AsyncClient, agents: RoleAgents, clock: ShiftableClock
) -> None:
    account = await create_account(client, agents.agent.headers, name="Acme", tier="standard", domains=["acme.example"])
    clock.advance(timedelta(minutes=5))
    response = await client.patch(f"/api/accounts/{account['id']}", json={"tier": "enterprise"}, headers=agents.agent.headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["tier"] == "enterprise"
    assert (updated["name"], updated["domains"], updated["created_at"]) == ("Acme", ["acme.example"], account["created_at"])
    moved = datetime.fromisoformat(updated["updated_at"]) - datetime.fromisoformat(account["updated_at"])
    assert timedelta(minutes=5) <= moved < timedelta(minutes=6)


async def test_names_are_stripped_and_never_blank(client: AsyncClient, agents: RoleAgents) -> None:
    headers = agents.agent.headers
    assert_error(await client.post("/api/accounts", json={"name": "   "}, headers=headers), 422, "name")
    assert_error(await client.post("/api/contacts", json={"name": " ", "emails": ["a@x.example"]}, headers=headers), 422, "name")
    assert await Account.count().run() == 0 and await Contact.count().run() == 0
    account = await create_account(client, headers, name="  Acme  ")
    contact = await create_contact(client, headers, name=" Pat ")
    assert (account["name"], contact["name"]) == ("Acme", "Pat")
    renamed = await client.patch(f"/api/accounts/{account['id']}", json={"name": "  Acme Corp "}, headers=headers)
    assert renamed.json()["name"] == "Acme Corp"
    renamed = await client.patch(f"/api/contacts/{contact['id']}", json={"name": "\tPat Doe "}, headers=headers)
    assert renamed.json()["name"] == "Pat Doe"


async def test_missing_account_is_404(client: AsyncClient, agents: RoleAgents) -> None:
    assert_error(await client.get("/api/accounts/999", headers=agents.agent.headers), 404, "account_id", "not_found")
    assert_error(
        await client.patch("/api/accounts/999", json={"name": "x"}, headers=agents.agent.headers), 404, "account_id"
    )
    assert_error(await client.delete("/api/accounts/999", headers=agents.admin.headers), 404, "account_id")


async def test_accounts_need_a_login(client: AsyncClient, clean_db: None) -> None:
    assert_error(await client.get("/api/accounts"), 401, None, "not_authenticated")
    assert_error(await client.post("/api/accounts", json={"name": "x"}), 401, None)
    assert await Account.count().run() == 0


@pytest.mark.parametrize("role", ["agent", "lead"])
async def test_only_admins_delete_accounts(client: AsyncClient, agents: RoleAgents, role: str) -> None:
    account = await create_account(client, agents.agent.headers)
    response = await client.delete(f"/api/accounts/{account['id']}", headers=agents.by_role(role).headers)
    assert_error(response, 403, None, "permission_denied")
    assert (await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers)).status_code == 200


async def test_admin_deletes_account_freeing_domains_and_unlinking_contacts(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, domains=["acme.example"])
    contact = await create_contact(client, agents.agent.headers, account_id=account["id"])
    response = await client.delete(f"/api/accounts/{account['id']}", headers=agents.admin.headers)
    assert response.status_code == 204, response.text
    assert_error(await client.get(f"/api/accounts/{account['id']}", headers=agents.agent.headers), 404, "account_id")
    assert await AccountDomain.count().run() == 0
    left = (await client.get(f"/api/contacts/{contact['id']}", headers=agents.agent.headers)).json()
    assert left["account_id"] is None
    again = await create_account(client, agents.agent.headers, name="Acme 2", domains=["acme.example"])
    assert again["domains"] == ["acme.example"]


async def test_list_accounts_filters(client: AsyncClient, agents: RoleAgents) -> None:
    headers = agents.agent.headers
    acme = await create_account(client, headers, name="Acme Corp", tier="premium", domains=["acme.example"])
    acme_labs = await create_account(client, headers, name="Acme Labs", tier="standard", domains=["labs.example"])
    globex = await create_account(client, headers, name="Globex", tier="premium", domains=["globex.example"])

    async def names(**params: str) -> list[str]:
        response = await client.get("/api/accounts", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await names() == ["Acme Corp", "Acme Labs", "Globex"]
    assert await names(q="acme") == ["Acme Corp", "Acme Labs"]
    assert await names(q="LABS") == ["Acme Labs"]
    assert await names(tier="premium") == ["Acme Corp", "Globex"]
    assert await names(q="acme", tier="premium") == ["Acme Corp"]
    assert await names(domain="GLOBEX.example") == ["Globex"]
    assert await names(domain="nobody.example") == []
    listed = (await client.get("/api/accounts", params={"domain": "labs.example"}, headers=headers)).json()
    assert listed == {"items": [acme_labs], "next": None}
    by_tier = (await client.get("/api/accounts", params={"tier": "premium"}, headers=headers)).json()["items"]
    assert [item["id"] for item in by_tier] == [acme["id"], globex["id"]]
    assert_error(await client.get("/api/accounts", params={"tier": "gold"}, headers=headers), 422, "tier")


async def test_list_accounts_q_treats_like_wildcards_literally(client: AsyncClient, agents: RoleAgents) -> None:
    headers = agents.agent.headers
    await create_account(client, headers, name="50% Off Ltd")
    await create_account(client, headers, name="500 Club")
    await create_account(client, headers, name="big_data GmbH")
    await create_account(client, headers, name="bigXdata AG")
    await create_account(client, headers, name="Back\\Slash Co")
    for q, expected in [("50%", ["50% Off Ltd"]), ("big_data", ["big_data GmbH"]), ("k\\s", ["Back\\Slash Co"])]:
        response = await client.get("/api/accounts", params={"q": q}, headers=headers)
        assert [item["name"] for item in response.json()["items"]] == expected, q


async def test_account_pagination_walks_every_row_once_in_name_order(client: AsyncClient, agents: RoleAgents) -> None:
    names = ["Delta", "Alpha", "Echo", "Bravo", "Charlie"]
    for name in names:
        await create_account(client, agents.agent.headers, name=name)
    # Same name twice: the id breaks the tie, so neither is lost or repeated at a page edge.
    await create_account(client, agents.agent.headers, name="Bravo")
    pages = await collect_pages(client, "/api/accounts", agents.agent.headers, limit=2)
    assert [len(page) for page in pages] == [2, 2, 2]
    flat = [item for page in pages for item in page]
    assert [item["name"] for item in flat] == ["Alpha", "Bravo", "Bravo", "Charlie", "Delta", "Echo"]
    assert len({item["id"] for item in flat}) == 6
    filtered = await collect_pages(client, "/api/accounts", agents.agent.headers, limit=1, q="a")
    assert [page[0]["name"] for page in filtered] == ["Alpha", "Bravo", "Bravo", "Charlie", "Delta"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"cursor": "garbage!!"}, "cursor"), ({"cursor": "WzFd"}, "cursor"), ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit")],
)
async def test_bad_cursor_or_limit_is_422(client: AsyncClient, agents: RoleAgents, params: dict, field: str) -> None:
    response = await client.get("/api/accounts", params=params, headers=agents.agent.headers)
    assert_error(response, 422, field, "validation_failed")


async def test_forged_cursors_are_422_not_server_errors(client: AsyncClient, agents: RoleAgents) -> None:
    """A cursor is opaque but lives in the client's hands: a crafted one must not reach the database."""

    def cursor(key: list) -> str:
        return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    await create_account(client, agents.agent.headers, name="Acme")
    forged = {
        "/api/accounts": [[{"a": 1}, 1], ["Acme", "x"], [1, 1], ["Acme", 2**70], ["Acme", True]],
        "/api/contacts": [[None, None], ["Pat", 1.5]],
        "/api/purchases": [["not a date", 1], ["2024-01-01T00:00:00", 1], [5, 1], ["2024-01-01T00:00:00+00:00", "1"]],
        "/api/activities": [[5, 1], [["2024-01-01T00:00:00+00:00"], 1]],
    }
    for url, keys in forged.items():
        for key in keys:
            response = await client.get(url, params={"cursor": cursor(key)}, headers=agents.agent.headers)
            assert response.status_code == 422, (url, key, response.text)
            assert_error(response, 422, "cursor", "validation_failed")


# ---------------------------------------------------------------- contacts


async def test_contact_with_several_addresses_keeps_order_lower_cased(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers, domains=["acme.example"])
    contact = await create_contact(
        client, agents.agent.headers, name="Pat Doe", emails=["Pat@Acme.Example", "pat.doe@home.example", "PAT@acme.example"],
        phone="+49 30 1234", account_id=account["id"], role="decision_maker",
    )
    assert contact["emails"] == ["pat@acme.example", "pat.doe@home.example"]
    assert (contact["phone"], contact["account_id"], contact["role"]) == ("+49 30 1234", account["id"], "decision_maker")
    fetched = await client.get(f"/api/contacts/{contact['id']}", headers=agents.agent.headers)
    assert fetched.json() == contact


async def test_contact_defaults(client: AsyncClient, agents: RoleAgents) -> None:
    contact = await create_contact(client, agents.agent.headers, name="Sam", emails=["sam@x.example"])
    assert (contact["role"], contact["phone"], contact["account_id"], contact["custom_fields"]) == ("user", "", None, {})


@pytest.mark.parametrize("role", ["decision_maker", "buyer", "influencer", "user", "other"])
async def test_every_contact_role_is_accepted(client: AsyncClient, agents: RoleAgents, role: str) -> None:
    contact = await create_contact(client, agents.agent.headers, role=role)
    assert contact["role"] == role


async def test_unknown_contact_role_is_422(client: AsyncClient, agents: RoleAgents) -> None:
    response = await client.post(
        "/api/contacts", json={"name": "X", "emails": ["x@x.example"], "role": "ceo"}, headers=agents.agent.headers
    )
    assert_error(response, 422, "role", "validation_failed")
    assert await Contact.count().run() == 0


async def test_address_taken_by_another_contact_is_409_and_leaves_no_contact(client: AsyncClient, agents: RoleAgents) -> None:
    first = await create_contact(client, agents.agent.headers, name="First", emails=["taken@acme.example"])
    response = await client.post(
        "/api/contacts", json={"name": "Second", "emails": ["new@acme.example", "TAKEN@Acme.example"]},
        headers=agents.agent.headers,
    )
    body = assert_error(response, 409, "emails", "conflict")
    assert "taken@acme.example" in body["detail"]
    assert [row["name"] for row in await Contact.select(Contact.name).run()] == ["First"]
    addresses = await ContactEmail.select(ContactEmail.address, ContactEmail.contact).run()
    assert addresses == [{"address": "taken@acme.example", "contact": first["id"]}]
    assert (await client.get("/api/contacts", params={"email": "new@acme.example"}, headers=agents.agent.headers)).json()[
        "items"
    ] == []


async def test_patch_to_a_taken_address_is_409_and_changes_nothing(client: AsyncClient, agents: RoleAgents) -> None:
    await create_contact(client, agents.agent.headers, name="First", emails=["first@acme.example"])
    second = await create_contact(client, agents.agent.headers, name="Second", emails=["second@acme.example"])
    response = await client.patch(
        f"/api/contacts/{second['id']}", json={"name": "Renamed", "emails": ["other@acme.example", "First@acme.example"]},
        headers=agents.agent.headers,
    )
    assert_error(response, 409, "emails", "conflict")
    after = (await client.get(f"/api/contacts/{second['id']}", headers=agents.agent.headers)).json()
    assert after == second
    assert await ContactEmail.count().run() == 2


async def test_patch_replaces_addresses_keeping_own_and_frees_dropped(client: AsyncClient, agents: RoleAgents) -> None:
    contact = await create_contact(client, agents.agent.headers, emails=["a@acme.example", "b@acme.example"])
    response = await client.patch(
        f"/api/contacts/{contact['id']}", json={"emails": ["B@acme.example", "c@acme.example"]}, headers=agents.agent.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == ["b@acme.example", "c@acme.example"]
    other = await create_contact(client, agents.agent.headers, name="Other", emails=["a@acme.example"])
    assert other["emails"] == ["a@acme.example"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"emails": []}, "emails"), ({"emails": ["no-at-sign"]}, "emails[0]"), ({"role": "boss"}, "role"),
     ({"account_id": 999}, "account_id"), ({"name": ""}, "name"), ({"name": " \t "}, "name")],
)
async def test_invalid_contact_patch_is_422_and_changes_nothing(
    client: AsyncClient, agents: RoleAgents, body: dict, field: str
) -> None:
    contact = await create_contact(client, agents.agent.headers, emails=["a@acme.example"])
    response = await client.patch(f"/api/contacts/{contact['id']}", json=body, headers=agents.agent.headers)
    assert_error(response, 422, field, "validation_failed")
    assert (await client.get(f"/api/contacts/{contact['id']}", headers=agents.agent.headers)).json() == contact


async def test_contact_account_link_and_unlink(client: AsyncClient, agents: RoleAgents) -> None:
    account = await create_account(client, agents.agent.headers)
    response = await client.post(
        "/api/contacts", json={"name": "X", "emails": ["x@x.example"], "account_id": 12345}, headers=agents.agent.headers
    )
    assert_error(response, 422, "account_id", "validation_failed")
    assert await Contact.count().run() == 0
    contact = await create_contact(client, agents.agent.headers)
    linked = await client.patch(
        f"/api/contacts/{contact['id']}", json={"account_id": account["id"], "role": "buyer"}, headers=agents.agent.headers
    )
    assert (linked.json()["account_id"], linked.json()["role"]) == (account["id"], "buyer")
    unlinked = await client.patch(f"/api/contacts/{contact['id']}", json={"account_id": None}, headers=agents.agent.headers)
    assert unlinked.json()["account_id"] is None
    assert unlinked.json()["role"] == "buyer"


async def test_list_contacts_filters(client: AsyncClient, agents: RoleAgents) -> None:
    headers = agents.agent.headers
    acme = await create_account(client, headers, name="Acme")
    other = await create_account(client, headers, name="Other")
    pat = await create_contact(client, headers, name="Pat Doe", emails=["pat@acme.example", "p.doe@home.example"],
                               account_id=acme["id"])
    kim = await create_contact(client, headers, name="Kim Lee", emails=["kim@acme.example"], account_id=acme["id"])
    sam = await create_contact(client, headers, name="Sam Roe", emails=["sam@other.example"], account_id=other["id"])
    lone = await create_contact(client, headers, name="Lone Wolf", emails=["wolf@nowhere.example"])

    async def ids(**params: object) -> list[int]:
        response = await client.get("/api/contacts", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [kim["id"], lone["id"], pat["id"], sam["id"]]  # by name
    assert await ids(q="doe") == [pat["id"]]
    assert await ids(q="HOME.example") == [pat["id"]]  # any address, not just the first
    assert await ids(q="acme.example") == [kim["id"], pat["id"]]
    assert await ids(account_id=acme["id"]) == [kim["id"], pat["id"]]
    assert await ids(account_id=other["id"]) == [sam["id"]]
    assert await ids(email="P.Doe@Home.example") == [pat["id"]]
    assert await ids(email="doe@home.example") == []  # exact address, not a substring
    assert await ids(q="o", account_id=acme["id"]) == [pat["id"]]


async def test_contact_pagination(client: AsyncClient, agents: RoleAgents) -> None:
    for i, name in enumerate(["Eve", "Bob", "Dan", "Amy", "Cal"]):
        await create_contact(client, agents.agent.headers, name=name, emails=[f"c{i}@x.example"])
    pages = await collect_pages(client, "/api/contacts", agents.agent.headers, limit=2)
    assert [[item["name"] for item in page] for page in pages] == [["Amy", "Bob"], ["Cal", "Dan"], ["Eve"]]


@pytest.mark.parametrize("role", ["agent", "lead"])
async def test_only_admins_delete_contacts(client: AsyncClient, agents: RoleAgents, role: str) -> None:
    contact = await create_contact(client, agents.agent.headers)
    assert_error(await client.delete(f"/api/contacts/{contact['id']}", headers=agents.by_role(role).headers), 403, None)
    assert await Contact.count().run() == 1


async def test_admin_deletes_contact_and_its_addresses(client: AsyncClient, agents: RoleAgents) -> None:
    contact = await create_contact(client, agents.agent.headers, emails=["gone@acme.example", "gone2@acme.example"])
    response = await client.delete(f"/api/contacts/{contact['id']}", headers=agents.admin.headers)
    assert response.status_code == 204, response.text
    assert_error(await client.get(f"/api/contacts/{contact['id']}", headers=agents.agent.headers), 404, "contact_id")
    assert await ContactEmail.count().run() == 0
    again = await create_contact(client, agents.agent.headers, emails=["gone@acme.example"])
    assert again["emails"] == ["gone@acme.example"]
