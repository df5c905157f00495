"""Exports of every record kind, streamed in id order in batches (constant memory at any size)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

from piccolo.table import Table

from helpdesk.activities.tables import Activity
from helpdesk.actors import Actor
from helpdesk.customers.tables import (
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    Purchase,
)
from helpdesk.errors import ValidationFailed
from helpdesk.exports.formats import FORMATS, render
from helpdesk.tickets.numbers import ticket_number
from helpdesk.tickets.tables import Message, Ticket, TicketTag

BATCH = 1000
CENT = Decimal("0.01")

Enricher = Callable[[list[dict[str, Any]]], Awaitable[None]]


async def _ticket_extras(rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    tags: dict[int, list[str]] = {ticket_id: [] for ticket_id in ids}
    for tag in await TicketTag.select(TicketTag.ticket, TicketTag.tag).where(TicketTag.ticket.is_in(ids)).run():
        tags[tag["ticket"]].append(tag["tag"])
    await _rename_foreign_keys(rows)
    for row in rows:
        row["requester_id"], row["team_id"] = row["requester"], row["team"]
        row["number"] = ticket_number(row["id"])
        row["tags"] = ";".join(sorted(tags[row["id"]]))


async def _message_extras(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["ticket_id"] = row["ticket"]
        row["ticket_number"] = ticket_number(row["ticket"])
        row["date"] = row["created_at"]


async def _account_extras(rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    domains: dict[int, list[str]] = {account_id: [] for account_id in ids}
    for domain in await AccountDomain.select().where(AccountDomain.account.is_in(ids)).run():
        domains[domain["account"]].append(domain["domain"])
    for row in rows:
        row["domains"] = ";".join(sorted(domains[row["id"]]))


async def _contact_extras(rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    emails: dict[int, list[str]] = {contact_id: [] for contact_id in ids}
    for email in await ContactEmail.select().where(ContactEmail.contact.is_in(ids)).order_by(ContactEmail.position).run():
        emails[email["contact"]].append(email["address"])
    for row in rows:
        row["emails"] = ";".join(emails[row["id"]])
        row["account_id"] = row["account"]


async def _rename_foreign_keys(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for key in ("account", "contact", "ticket", "author", "assignee"):
            if key in row:
                row[f"{key}_id"] = row[key]


async def _purchase_extras(rows: list[dict[str, Any]]) -> None:
    await _rename_foreign_keys(rows)
    for row in rows:
        # SQLite keeps NUMERIC as a float (10.10 reads back as 10.1): two decimals, as the API shows.
        row["amount"] = Decimal(row["amount"]).quantize(CENT)


EXPORTS: dict[str, tuple[type[Table], list[str], Enricher | None]] = {
    "tickets": (Ticket, ["id", "number", "subject", "status", "priority", "channel", "requester_id", "account_id",
                         "assignee_id", "team_id", "tags", "created_at", "updated_at", "first_response_at", "solved_at",
                         "version"], _ticket_extras),
    "messages": (Message, ["ticket_id", "ticket_number", "id", "message_id", "kind", "from_address", "from_name",
                           "subject", "date", "in_reply_to", "delivery_state", "thread_reason", "thread_ref"],
                 _message_extras),
    "accounts": (Account, ["id", "name", "tier", "domains", "custom_fields", "created_at", "updated_at"],
                 _account_extras),
    "contacts": (Contact, ["id", "name", "emails", "phone", "account_id", "role", "custom_fields", "created_at",
                           "updated_at"], _contact_extras),
    "purchases": (Purchase, ["id", "account_id", "contact_id", "order_number", "sku", "product", "quantity",
                             "amount", "currency", "ordered_at", "status"], _purchase_extras),
    "activities": (Activity, ["id", "kind", "subject", "body", "account_id", "contact_id", "ticket_id", "author_id",
                              "assignee_id", "due_at", "done", "occurred_at", "created_at"], _rename_foreign_keys),
}


def check_export(kind: str, fmt: str) -> None:
    if kind not in EXPORTS:
        raise ValidationFailed(f"kind must be one of {', '.join(EXPORTS)}", field="kind")
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}", field="format")


async def _batches(table: type[Table], enrich: Enricher | None) -> AsyncIterator[list[dict[str, Any]]]:
    last_id = 0
    while True:
        rows = await table.select().output(load_json=True).where(table.id > last_id).order_by(table.id).limit(
            BATCH
        ).run()
        if not rows:
            return
        if enrich:
            await enrich(rows)
        yield rows
        last_id = rows[-1]["id"]


def export(actor: Actor, kind: str, fmt: str) -> AsyncIterator[str]:
    """Stream ``kind`` as ``fmt``; the caller writes the chunks to a file or a response."""
    actor.require("admin")
    check_export(kind, fmt)
    table, columns, enrich = EXPORTS[kind]
    return render(fmt, columns, _batches(table, enrich))
