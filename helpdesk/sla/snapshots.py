"""Ticket snapshots for the SLA policies, loaded set-based: a handful of queries per batch of tickets.

A recompute of thousands of tickets must not pay a round of queries per ticket, so each part of
the snapshot (ticket with its account tier, tags, mailbox, status history, messages) is one query
over the whole batch. Ids are inlined as integers: a batch of thousands stays one short statement
on both engines, well inside their parameter limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpdesk.sla import policy as rules
from helpdesk.tickets.tables import Ticket


@dataclass(frozen=True)
class Needs:
    """The parts of a snapshot some policy looks at; the others are not loaded."""

    tags: bool = True
    mailbox: bool = True


def as_datetime(value: Any) -> datetime:
    """Raw queries return timestamps as text on SQLite and as datetimes on PostgreSQL."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def id_list(ids: Iterable[int]) -> str:
    return ", ".join(str(int(ticket_id)) for ticket_id in ids)


async def load_snapshots(
    ticket_ids: Iterable[int], *, needs: Needs = Needs(), mailbox_ids: Mapping[int, int] | None = None
) -> dict[int, rules.TicketSnapshot]:
    """Snapshots of the given tickets (unknown ids are left out), five queries at most.

    ``mailbox_ids`` gives the mailbox of a ticket whose opening mail is not linked to it yet.
    """
    ids = id_list(dict.fromkeys(ticket_ids))
    if not ids:
        return {}
    tickets = await _rows(f"""
        SELECT t.id, t.priority, t.status, t.channel, t.created_at, t.team, a.tier
        FROM ticket t LEFT JOIN account a ON a.id = t.account WHERE t.id IN ({ids})""")
    tags: dict[int, set[str]] = {}
    if needs.tags:
        for row in await _rows(f"SELECT ticket, tag FROM ticket_tag WHERE ticket IN ({ids})"):
            tags.setdefault(row["ticket"], set()).add(row["tag"])
    mailboxes = dict(mailbox_ids or {})
    if needs.mailbox:
        # The first mail of a ticket names the mailbox it came through.
        for row in await _rows(f"""
                SELECT ticket, mailbox FROM inbound_mail
                WHERE ticket IN ({ids}) AND mailbox IS NOT NULL ORDER BY id DESC"""):
            mailboxes[row["ticket"]] = row["mailbox"]
    changes: dict[int, list[tuple[datetime, str]]] = {}
    for row in await _rows(f"""
            SELECT ticket, status, changed_at FROM ticket_status_change
            WHERE ticket IN ({ids}) ORDER BY ticket, changed_at, id"""):
        changes.setdefault(row["ticket"], []).append((as_datetime(row["changed_at"]), row["status"]))
    customer: dict[int, list[datetime]] = {}
    delivered: dict[int, list[datetime]] = {}
    for row in await _rows(f"""
            SELECT ticket, kind, created_at, sent_at FROM message
            WHERE ticket IN ({ids})
              AND ((kind = 'customer' AND auto_generated IN ('none', 'list'))
                   OR (kind = 'reply' AND delivery_state = 'sent' AND sent_at IS NOT NULL))"""):
        if row["kind"] == "customer":
            customer.setdefault(row["ticket"], []).append(as_datetime(row["created_at"]))
        else:
            delivered.setdefault(row["ticket"], []).append(as_datetime(row["sent_at"]))
    return {
        row["id"]: rules.TicketSnapshot(
            id=row["id"], priority=row["priority"], status=row["status"], channel=row["channel"],
            created_at=as_datetime(row["created_at"]), tier=row["tier"], team_id=row["team"],
            mailbox_id=mailboxes.get(row["id"]), tags=frozenset(tags.get(row["id"], ())),
            status_changes=tuple(changes.get(row["id"], ())),
            customer_messages=tuple(sorted(customer.get(row["id"], ()))),
            replies_delivered=tuple(sorted(delivered.get(row["id"], ()))),
        )
        for row in tickets
    }


async def _rows(sql: str) -> list[dict[str, Any]]:
    return await Ticket.raw(sql).run()
