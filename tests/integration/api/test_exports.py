"""GET /api/exports/{kind}?format=csv|jsonl: admin only, the right columns and rows, spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient, Response

from helpdesk.exports import service as export_service
from tests.integration.api.customer_helpers import (
    assert_error,
    create_account,
    create_contact,
    create_purchase,
    create_ticket,
)
from tests.support.agents import RoleAgents

COLUMNS = {kind: columns for kind, (_, columns, _) in export_service.EXPORTS.items()}
KINDS = ["tickets", "messages", "accounts", "contacts", "purchases", "activities"]


async def export(client: AsyncClient, agents: RoleAgents, kind: str, fmt: str = "csv") -> Response:
    response = await client.get(f"/api/exports/{kind}", params={"format": fmt}, headers=agents.admin.headers)
    assert response.status_code == 200, response.text
    return response


async def csv_rows(client: AsyncClient, agents: RoleAgents, kind: str) -> tuple[list[str], list[dict[str, str]]]:
    response = await export(client, agents, kind, "csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="{kind}.csv"'
    reader = csv.reader(io.StringIO(response.text, newline=""))
    header, *rows = list(reader)
    return header, [dict(zip(header, row, strict=True)) for row in rows]


async def jsonl_rows(client: AsyncClient, agents: RoleAgents, kind: str) -> list[dict[str, Any]]:
    response = await export(client, agents, kind, "jsonl")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["content-disposition"] == f'attachment; filename="{kind}.jsonl"'
    assert response.text == "" or response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.fixture
async def data(client: AsyncClient, agents: RoleAgents) -> dict[str, Any]:
    h = agents.agent.headers
    d: dict[str, Any] = {}
    d["account"] = await create_account(client, h, name="=cmd|' /C calc'!A0", tier="premium",
                                        domains=["b.example", "a.example"])
    d["contact"] = await create_contact(client, h, name="@SUM(A1)", emails=["pat@a.example", "pat@home.example"],
                                        account_id=d["account"]["id"], role="buyer", phone="+49 30 1234")
    d["purchase"] = await create_purchase(client, h, account_id=d["account"]["id"], contact_id=d["contact"]["id"],
                                          amount="10.10", currency="EUR", order_number="-2+3")
    d["ticket"] = await create_ticket(client, h, subject="=HYPERLINK(\"http://evil.example\")", requester_id=d["contact"]["id"],
                                      text="first words", tags=["Billing", "vip"])
    reply = await client.post(f"/api/tickets/{d['ticket']['id']}/messages", json={"kind": "reply", "text": "hello"},
                              headers=h)
    assert reply.status_code == 201, reply.text
    d["reply"] = reply.json()
    detail = (await client.get(f"/api/tickets/{d['ticket']['id']}", headers=h)).json()
    d["ticket"], d["messages"] = detail["ticket"], detail["messages"]
    activity = await client.post(
        "/api/activities",
        json={"kind": "task", "subject": "+1 follow up", "account_id": d["account"]["id"], "assignee_id": agents.lead.id,
              "due_at": "2024-06-01T12:00:00+00:00"},
        headers=h,
    )
    assert activity.status_code == 201, activity.text
    d["activity"] = activity.json()
    return d


@pytest.mark.parametrize("role", ["agent", "lead"])
async def test_only_admins_export(client: AsyncClient, agents: RoleAgents, role: str) -> None:
    response = await client.get("/api/exports/accounts", headers=agents.by_role(role).headers)
    assert_error(response, 403, None, "permission_denied")
    assert_error(await client.get("/api/exports/accounts"), 401, None)


async def test_unknown_kind_or_format_is_422(client: AsyncClient, agents: RoleAgents) -> None:
    assert_error(await client.get("/api/exports/agents", headers=agents.admin.headers), 422, "kind", "validation_failed")
    bad_format = await client.get("/api/exports/accounts", params={"format": "xlsx"}, headers=agents.admin.headers)
    assert_error(bad_format, 422, "format", "validation_failed")


@pytest.mark.parametrize("kind", KINDS)
async def test_empty_exports(client: AsyncClient, agents: RoleAgents, kind: str) -> None:
    header, rows = await csv_rows(client, agents, kind)
    assert (header, rows) == (COLUMNS[kind], [])
    assert await jsonl_rows(client, agents, kind) == []


async def test_csv_is_the_default_format(client: AsyncClient, agents: RoleAgents) -> None:
    response = await client.get("/api/exports/accounts", headers=agents.admin.headers)
    assert response.status_code == 200
    assert response.text.splitlines()[0] == ",".join(COLUMNS["accounts"])


async def test_messages_export(client: AsyncClient, agents: RoleAgents, data: dict[str, Any]) -> None:
    ticket, messages = data["ticket"], data["messages"]
    header, rows = await csv_rows(client, agents, "messages")
    assert header == COLUMNS["messages"]
    required = ["ticket_id", "ticket_number", "id", "message_id", "kind", "from_address", "subject", "date"]
    assert [column for column in header if column in required] == required
    assert [row["id"] for row in rows] == [str(m["id"]) for m in messages]
    customer, reply = rows
    assert customer["ticket_id"] == str(ticket["id"])
    assert customer["ticket_number"] == ticket["number"]
    assert customer["kind"] == "customer"
    assert customer["from_address"] == "pat@a.example"
    assert customer["message_id"] == messages[0]["message_id"] and "@" in customer["message_id"]
    assert datetime.fromisoformat(customer["date"]) == datetime.fromisoformat(messages[0]["created_at"])
    # A subject starting with "=" would run as a formula in a spreadsheet: it is prefixed with '.
    assert customer["subject"] == "'=HYPERLINK(\"http://evil.example\")"
    assert reply["kind"] == "reply"
    assert reply["delivery_state"] == "queued"
    lines = await jsonl_rows(client, agents, "messages")
    assert [set(line) for line in lines] == [set(COLUMNS["messages"])] * 2
    assert lines[0]["subject"] == "=HYPERLINK(\"http://evil.example\")"  # JSON is data, not a spreadsheet
    assert (lines[0]["ticket_id"], lines[0]["ticket_number"], lines[0]["id"]) == (ticket["id"], ticket["number"], messages[0]["id"])
    assert lines[0]["from_address"] == "pat@a.example"
    assert lines[1]["id"] == data["reply"]["id"]


async def test_tickets_export(client: AsyncClient, agents: RoleAgents, data: dict[str, Any]) -> None:
    ticket = data["ticket"]
    header, rows = await csv_rows(client, agents, "tickets")
    assert header == COLUMNS["tickets"]
    [row] = rows
    assert row["id"] == str(ticket["id"])
    assert row["number"] == ticket["number"]
    assert row["subject"] == "'" + ticket["subject"]
    assert (row["status"], row["priority"], row["channel"]) == (ticket["status"], "normal", "api")
    assert (row["requester_id"], row["account_id"]) == (str(data["contact"]["id"]), str(data["account"]["id"]))
    assert row["assignee_id"] == "" and row["team_id"] == ""
    assert row["tags"] == "billing;vip"
    assert row["version"] == str(ticket["version"])
    [line] = await jsonl_rows(client, agents, "tickets")
    assert line["subject"] == ticket["subject"]
    assert (line["requester_id"], line["account_id"], line["assignee_id"]) == (data["contact"]["id"], data["account"]["id"], None)
    assert line["tags"] == "billing;vip"
    assert datetime.fromisoformat(line["created_at"]) == datetime.fromisoformat(ticket["created_at"])


async def test_accounts_and_contacts_export(client: AsyncClient, agents: RoleAgents, data: dict[str, Any]) -> None:
    account, contact = data["account"], data["contact"]
    header, [row] = await csv_rows(client, agents, "accounts")
    assert header == COLUMNS["accounts"]
    assert row["name"] == "'=cmd|' /C calc'!A0"
    assert (row["tier"], row["domains"], row["custom_fields"]) == ("premium", "a.example;b.example", "{}")
    [line] = await jsonl_rows(client, agents, "accounts")
    assert line == {"id": account["id"], "name": account["name"], "tier": "premium", "domains": "a.example;b.example",
                    "custom_fields": {}, "created_at": line["created_at"], "updated_at": line["updated_at"]}
    assert datetime.fromisoformat(line["updated_at"]) == datetime.fromisoformat(account["updated_at"])

    header, [row] = await csv_rows(client, agents, "contacts")
    assert header == COLUMNS["contacts"]
    assert row["name"] == "'@SUM(A1)"
    assert row["emails"] == "pat@a.example;pat@home.example"
    assert (row["account_id"], row["role"]) == (str(account["id"]), "buyer")
    assert row["phone"] == "'+49 30 1234"  # not a number, so a leading + is neutralised too
    [line] = await jsonl_rows(client, agents, "contacts")
    assert (line["id"], line["name"], line["emails"], line["phone"]) == (contact["id"], "@SUM(A1)",
                                                                         "pat@a.example;pat@home.example", "+49 30 1234")


async def test_purchases_export(client: AsyncClient, agents: RoleAgents, data: dict[str, Any]) -> None:
    purchase = data["purchase"]
    header, [row] = await csv_rows(client, agents, "purchases")
    assert header == COLUMNS["purchases"]
    assert row["amount"] == "10.10"
    assert row["order_number"] == "'-2+3"
    assert (row["account_id"], row["contact_id"], row["currency"], row["status"]) == (
        str(data["account"]["id"]), str(data["contact"]["id"]), "EUR", "paid")
    [line] = await jsonl_rows(client, agents, "purchases")
    assert line["amount"] == "10.10"
    assert (line["id"], line["quantity"], line["order_number"]) == (purchase["id"], 1, "-2+3")
    assert datetime.fromisoformat(line["ordered_at"]) == datetime.fromisoformat(purchase["ordered_at"])


async def test_activities_export(client: AsyncClient, agents: RoleAgents, data: dict[str, Any]) -> None:
    activity = data["activity"]
    header, [row] = await csv_rows(client, agents, "activities")
    assert header == COLUMNS["activities"]
    assert row["subject"] == "'+1 follow up"
    assert (row["kind"], row["account_id"], row["contact_id"], row["ticket_id"]) == ("task", str(data["account"]["id"]), "", "")
    assert (row["author_id"], row["assignee_id"]) == (str(agents.agent.id), str(agents.lead.id))
    [line] = await jsonl_rows(client, agents, "activities")
    assert line["done"] is False
    assert (line["id"], line["author_id"], line["assignee_id"]) == (activity["id"], agents.agent.id, agents.lead.id)
    assert datetime.fromisoformat(line["due_at"]) == datetime.fromisoformat("2024-06-01T12:00:00+00:00")


async def test_export_streams_every_row_once_across_batches(
    client: AsyncClient, agents: RoleAgents, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_service, "BATCH", 2)
    names = [f"Account {i}" for i in range(5)]
    created = [await create_account(client, agents.agent.headers, name=name, domains=[f"d{i}.example"])
               for i, name in enumerate(names)]
    _, rows = await csv_rows(client, agents, "accounts")
    assert [row["id"] for row in rows] == [str(a["id"]) for a in created]
    assert [row["domains"] for row in rows] == [f"d{i}.example" for i in range(5)]
    lines = await jsonl_rows(client, agents, "accounts")
    assert [line["name"] for line in lines] == names
