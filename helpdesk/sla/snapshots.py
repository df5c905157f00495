"""Tickets as the SLA policies see them, loaded set-based: a handful of queries per selection.

A recompute of thousands of tickets must not pay a round of queries per ticket, so each part
(ticket with its account tier, tags, mailbox, status history, messages reduced to what the rules
use) is one query over the whole selection, read into columns for ``bulk``; the reference's
snapshots of a few tickets come from the same columns. Ids are inlined as integers: a batch of
thousands stays one short statement on both engines, well inside their parameter limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np

from helpdesk.db import fetch_rows, is_postgres, read_concurrently
from helpdesk.sla import bulk
from helpdesk.sla import policy as rules
from helpdesk.tickets.status import OPEN_STATUSES


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
    """A few tickets as the reference (``policy.evaluate``) sees them, read as the batch path
    reads them (unknown ids are left out). ``mailbox_ids`` gives the mailbox of a ticket whose
    opening mail is not linked to it yet."""
    tickets = await load_columns(Selection.of(ticket_ids), needs=needs, mailbox_ids=mailbox_ids)
    return {ticket_id: bulk.snapshot_of(tickets, index) for index, ticket_id in enumerate(tickets.ids.tolist())}


def epoch_us(column: str) -> str:
    """SQL for a timestamp column as ``_moments`` takes it: integer microseconds since the epoch
    from PostgreSQL; SQLite's own text, as an expression so that the driver does not make a
    datetime of it (numpy converts the lot, much faster than either that or strftime)."""
    return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint" if is_postgres() else f"({column} || '')"


@dataclass(frozen=True)
class Selection:
    """Which tickets a bulk read covers, as SQL conditions: given ids, or every open ticket
    (one pass over each table instead of id lists)."""

    on_ticket: str  # a condition on ``ticket t``
    subquery: str  # ``IN (…)`` for a ``ticket`` column of another table

    @classmethod
    def of(cls, ticket_ids: Iterable[int]) -> Selection:
        ids = id_list(sorted(set(ticket_ids))) or "NULL"
        return cls(on_ticket=f"t.id IN ({ids})", subquery=f"IN ({ids})")

    @classmethod
    def open_tickets(cls) -> Selection:
        statuses = ", ".join(f"'{status}'" for status in sorted(OPEN_STATUSES))
        return cls(on_ticket=f"t.status IN ({statuses})",
                   subquery=f"IN (SELECT id FROM ticket WHERE status IN ({statuses}))")


async def load_columns(
    selection: Selection, *, needs: Needs = Needs(), mailbox_ids: Mapping[int, int] | None = None
) -> bulk.Tickets:
    """The selected tickets as columns for ``bulk.compute``. Up to five queries, read at once
    (``read_concurrently``), each returning at most a row or two per ticket: the database reduces
    the messages to the first and latest delivered reply and the first customer message after it."""
    queries = [f"""
        SELECT t.id, t.priority, t.status, t.channel, {epoch_us("t.created_at")}, t.team, a.tier
        FROM ticket t LEFT JOIN account a ON a.id = t.account WHERE {selection.on_ticket}""", f"""
        SELECT r.ticket, {epoch_us("r.first_sent")}, {epoch_us("r.last_sent")},
               (SELECT {epoch_us("MIN(m.created_at)")} FROM message m
                WHERE m.ticket = r.ticket AND m.kind = 'customer' AND m.auto_generated IN ('none', 'list')
                  AND m.created_at > r.last_sent)
        FROM (SELECT ticket, MIN(sent_at) AS first_sent, MAX(sent_at) AS last_sent FROM message
              WHERE ticket {selection.subquery} AND kind = 'reply' AND delivery_state = 'sent'
                AND sent_at IS NOT NULL
              GROUP BY ticket) r""", f"""
        SELECT ticket, status, {epoch_us("changed_at")} FROM ticket_status_change
        WHERE ticket {selection.subquery} ORDER BY ticket, changed_at, id"""]
    if needs.tags:
        queries.append(f"SELECT ticket, tag FROM ticket_tag WHERE ticket {selection.subquery}")
    if needs.mailbox:
        # The first mail of a ticket names the mailbox it came through; written last, it wins.
        queries.append(f"""
            SELECT ticket, mailbox FROM inbound_mail
            WHERE ticket {selection.subquery} AND mailbox IS NOT NULL ORDER BY id DESC""")
    tickets, replies, changes, *optional = await read_concurrently(*(partial(fetch_rows, sql) for sql in queries))
    tags = optional.pop(0) if needs.tags else []
    mails = optional.pop(0) if needs.mailbox else []

    ids, priority, status, channel, created, team, tier = _columns(tickets, 7)
    ids = np.array(ids, np.int64)
    by_id = np.argsort(ids, kind="stable")
    order = ids[by_id]

    def sorted_by_id(values: Sequence[Any], kind: Any) -> np.ndarray:
        return np.array(values, kind)[by_id] if len(values) else np.array(values, kind)

    def index_of(ticket_ids: Sequence[int]) -> np.ndarray:
        return np.searchsorted(order, np.array(ticket_ids, np.int64))

    replied, first_sent, last_sent, waiting_since = _columns(replies, 4)
    first_reply, last_reply, waiting = (np.full(len(order), bulk.MISSING, np.int64) for _ in range(3))
    at = index_of(replied)
    first_reply[at], last_reply[at], waiting[at] = (_moments(column) for column in (first_sent, last_sent, waiting_since))
    changed, changed_to, changed_at = _columns(changes, 3)
    tagged, tag = _columns(tags, 2)
    mailbox = np.full(len(order), -1, np.int64)
    mail_ticket, mail_mailbox = _columns(mails, 2)
    mailbox[index_of(mail_ticket)] = np.array(mail_mailbox, np.int64)
    for ticket_id, mailbox_id in (mailbox_ids or {}).items():
        position = np.searchsorted(order, ticket_id)
        if position < len(order) and order[position] == ticket_id:
            mailbox[position] = mailbox_id
    return bulk.Tickets(
        ids=order, priority=sorted_by_id(priority, str), status=sorted_by_id(status, str),
        channel=sorted_by_id(channel, str), tier=sorted_by_id([value or "" for value in tier], str),
        team=sorted_by_id([-1 if value is None else value for value in team], np.int64), mailbox=mailbox,
        created=_moments(created)[by_id] if len(created) else _moments(created),
        first_reply=first_reply, last_reply=last_reply, customer_after_reply=waiting,
        changes_ticket=index_of(changed), changes_at=_moments(changed_at), changes_status=np.array(changed_to, str),
        tags_ticket=index_of(tagged), tags=np.array(tag, str),
    )


def _columns(rows: Sequence[Sequence[Any]], count: int) -> list[Sequence[Any]]:
    return list(zip(*rows)) if rows else [()] * count


def _moments(values: Sequence[int | str | None]) -> np.ndarray:
    """Microseconds since the epoch (MISSING for none) from ``epoch_us`` columns."""
    if not any(isinstance(value, str) for value in values):
        return np.array([bulk.MISSING if value is None else value for value in values], np.int64)
    # SQLite: Piccolo writes UTC datetimes as "YYYY-MM-DD HH:MM:SS[.ffffff]+00:00"; numpy parses
    # them without the offset (None becomes NaT, which is MISSING as an integer).
    texts = ["NaT" if value is None else value[:-6] if value.endswith("+00:00") else value for value in values]
    try:
        return np.array(texts, "datetime64[us]").astype(np.int64)
    except ValueError:  # another offset or format: the slow, general way
        return np.array([bulk.MISSING if value is None else bulk.to_us(as_utc(value)) for value in values], np.int64)


def as_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
