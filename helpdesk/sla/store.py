"""Stored clocks: computed clocks compared with their rows, and only the differences written.

A batch costs two reads (its clocks' fingerprints and its fired levels), one batched upsert on
the (ticket, target) key for the clocks whose values changed (an ``unnest`` of one array per
column on PostgreSQL, the driver's executemany on SQLite), and one delete for clocks that no
longer apply. A clock that did not change keeps its row,
``computed_at`` included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from helpdesk.db import execute_many, is_postgres
from helpdesk.sla.snapshots import id_list
from helpdesk.sla.tables import SlaClock

# The sla_clock columns a computation sets, in the order of ClockRow.values.
COLUMNS = ("ticket", "target", "policy", "state", "started_at", "due_at", "warn_at", "stopped_at",
           "target_minutes", "elapsed_seconds", "next_check_at", "explanation", "computed_at", "fingerprint")


@dataclass(frozen=True)
class ClockRow:
    """One clock as it should be stored; ``explanation`` is JSON text."""

    ticket: int
    target: str
    policy: int
    state: str
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    stopped_at: datetime | None
    target_minutes: int
    elapsed_seconds: int
    next_check_at: datetime | None
    explanation: str
    computed_at: datetime

    @cached_property
    def fingerprint(self) -> str:
        """A digest of every stored value but ``computed_at``. The explanation already spells out
        the policy, start, due time, pauses and windows; the rest is added."""
        text = (f"{self.policy}|{self.state}|{self.warn_at}|{self.stopped_at}|{self.target_minutes}|"
                f"{self.elapsed_seconds}|{self.next_check_at}|{self.due_at}|{self.explanation}")
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, column) for column in COLUMNS)


@dataclass
class Stored:
    """What is stored for a batch of tickets: clock ids and fingerprints by (ticket, target), fired levels."""

    clocks: dict[tuple[int, str], tuple[int, str]]
    fired: dict[int, dict[str, set[str]]]

    def fired_for(self, ticket_id: int) -> dict[str, set[str]]:
        return self.fired.get(ticket_id, {})


async def load(ticket_ids: Iterable[int]) -> Stored:
    ids = id_list(ticket_ids)
    if not ids:
        return Stored({}, {})
    rows = await SlaClock.raw(f"SELECT id, ticket, target, fingerprint FROM sla_clock WHERE ticket IN ({ids})").run()
    fired: dict[int, dict[str, set[str]]] = {}
    for row in await SlaClock.raw(f"SELECT ticket, target, level FROM sla_escalation WHERE ticket IN ({ids})").run():
        fired.setdefault(row["ticket"], {}).setdefault(row["target"], set()).add(row["level"])
    return Stored({(row["ticket"], row["target"]): (row["id"], row["fingerprint"]) for row in rows}, fired)


def explanation_text(explanation: dict[str, Any]) -> str:
    return json.dumps(explanation, separators=(",", ":"))


async def save(stored: Stored, ticket_ids: Iterable[int], rows: Sequence[ClockRow]) -> set[int]:
    """Make the batch's stored clocks equal ``rows``; returns the tickets whose clocks were written or deleted."""
    changed = [row for row in rows if stored.clocks.get((row.ticket, row.target), (0, ""))[1] != row.fingerprint]
    kept = {(row.ticket, row.target) for row in rows}
    batch = set(ticket_ids)
    stale = {key: clock_id for key, (clock_id, _) in stored.clocks.items() if key not in kept and key[0] in batch}
    if stale:
        await SlaClock.raw(f"DELETE FROM sla_clock WHERE id IN ({id_list(stale.values())})").run()
    # In key order: two instances writing overlapping batches lock rows in the same order.
    await _upsert(sorted(changed, key=lambda row: (row.ticket, row.target)))
    return {row.ticket for row in changed} | {ticket for ticket, _ in stale}


_UPSERT = f"ON CONFLICT (ticket, target) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in COLUMNS[2:])}"
# PostgreSQL takes the whole batch as one array per column (one statement, not one per row).
_PG_TYPES = ("int", "text", "int", "text", "timestamptz", "timestamptz", "timestamptz", "timestamptz", "int", "int",
             "timestamptz", "text", "timestamptz", "text")


async def _upsert(rows: Sequence[ClockRow]) -> None:
    if not rows:
        return
    if is_postgres():
        arrays = ", ".join(f"{{}}::{kind}[]" for kind in _PG_TYPES)
        selected = ", ".join(f"{c}::json" if c == "explanation" else c for c in COLUMNS)
        await SlaClock.raw(
            f"INSERT INTO sla_clock ({', '.join(COLUMNS)}) SELECT {selected} "
            f"FROM unnest({arrays}) AS batch ({', '.join(COLUMNS)}) {_UPSERT}",
            *(list(column) for column in zip(*(row.values() for row in rows)))).run()
    else:
        await execute_many(
            f"INSERT INTO sla_clock ({', '.join(COLUMNS)}) VALUES ({', '.join('{}' for _ in COLUMNS)}) {_UPSERT}",
            [row.values() for row in rows])
