"""Stored clocks: computed clocks compared with their rows, and only the differences written.

A batch costs two reads (its clocks' digests and its fired levels), a plain insert of the
clocks it had no row for, an upsert on the (ticket, target) key of those whose values changed
(the driver's executemany on SQLite; on PostgreSQL one ``unnest`` of an array per column, or
COPY for many) and one delete for clocks that no longer apply. Times travel as integer
microseconds and become timestamps in the statement itself, so no Python datetime is made for a
row. A clock that did not change keeps its row, ``computed_at`` included.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from helpdesk.db import (
    copy_records,
    execute_many,
    fetch_rows,
    is_postgres,
    is_unique_violation,
    read_concurrently,
    savepoint,
    unit_of_work,
    write_concurrently,
)
from helpdesk.sla import bulk
from helpdesk.sla.policy import TARGETS
from helpdesk.sla.snapshots import Selection
from helpdesk.sla.tables import SlaClock

# The sla_clock columns a computation sets per row, in the order of the rows _rows() builds;
# computed_at, the same for the whole batch, is one value in the statement.
COLUMNS = ("ticket", "target", "policy", "state", "started_at", "due_at", "warn_at", "stopped_at",
           "target_minutes", "elapsed_seconds", "next_check_at", "digest")
_TIMES = frozenset({"started_at", "due_at", "warn_at", "stopped_at", "next_check_at"})


@dataclass(frozen=True)
class Stored:
    """What is stored for a selection of tickets: each clock's key (see ``_key``) and digest,
    sorted by key, and the fired escalation levels."""

    keys: np.ndarray
    digests: np.ndarray
    fired: bulk.Fired

    @classmethod
    def nothing(cls) -> Stored:
        """For a ticket created in the current transaction."""
        empty = np.empty(0, np.int64)
        return cls(empty, empty, bulk.Fired(empty, empty, np.empty(0, str)))


def _key(tickets: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return tickets * len(TARGETS) + targets


_TARGET_CODE_SQL = "CASE target " + " ".join(f"WHEN '{t}' THEN {code}" for code, t in enumerate(TARGETS)) + " END"


async def load(selection: Selection) -> Stored:
    """The selection's stored clocks and fired levels (two queries, read at once)."""
    rows, fired = await read_concurrently(
        partial(fetch_rows, f"SELECT ticket * {len(TARGETS)} + {_TARGET_CODE_SQL}, digest FROM sla_clock "
                            f"WHERE ticket {selection.subquery}"),
        partial(fetch_rows, f"SELECT ticket, {_TARGET_CODE_SQL}, level FROM sla_escalation "
                            f"WHERE ticket {selection.subquery}"))
    keys, digests = (np.array(column, np.int64) for column in (list(zip(*rows)) if rows else [(), ()]))
    order = np.argsort(keys)
    fired_tickets, fired_targets, levels = list(zip(*fired)) if fired else [(), (), ()]
    return Stored(keys=keys[order], digests=digests[order],
                  fired=bulk.Fired(np.array(fired_tickets, np.int64), np.array(fired_targets, np.int64),
                                   np.array(levels, str)))


async def save(stored: Stored, clocks: bulk.Clocks, *, now: int, chunk: int = 20_000) -> set[int]:
    """Make the selection's stored clocks equal ``clocks``, one transaction per ``chunk`` written
    rows (two at once on PostgreSQL), or the caller's; returns the tickets whose clocks were
    written or deleted."""
    keys = _key(clocks.ticket, clocks.target)
    digests = clocks.digests()
    at = np.searchsorted(stored.keys, keys)
    known = np.zeros(len(keys), bool)
    inside = at < len(stored.keys)
    known[inside] = stored.keys[at[inside]] == keys[inside]
    changed = ~known
    changed[known] = stored.digests[at[known]] != digests[known]
    stale = stored.keys[~np.isin(stored.keys, keys)]
    # In key order: two instances writing overlapping batches lock rows in the same order.
    order = np.flatnonzero(changed)[np.argsort(keys[changed], kind="stable")]
    if len(stale):
        async with unit_of_work():
            await execute_many("DELETE FROM sla_clock WHERE ticket = {} AND target = {}",
                               [(int(key) // len(TARGETS), TARGETS[key % len(TARGETS)]) for key in stale.tolist()])
    # Disjoint chunks, each in key order, so concurrent ones never wait on each other.
    await write_concurrently([partial(_write, clocks, rows[start:start + chunk], digests, now=now, new=new)
                              for rows, new in ((order[~known[order]], True), (order[known[order]], False))
                              for start in range(0, len(rows), chunk)])
    return set(clocks.ticket[changed].tolist()) | set((stale // len(TARGETS)).tolist())


async def _write(clocks: bulk.Clocks, order: np.ndarray, digests: np.ndarray, *, now: int, new: bool) -> None:
    """Store one chunk of clocks in one transaction: ``new`` ones with a plain insert, which costs
    about half an upsert's work on PostgreSQL; if another writer stored one of them meanwhile
    (intake opening a ticket, another instance), the insert is undone and the rows upserted instead."""
    columns = _rows(clocks, order, digests)
    async with unit_of_work():
        if new:
            try:
                async with savepoint():
                    await _insert(columns, now=now, on_conflict="")
                return
            except Exception as exc:
                if not is_unique_violation(exc):
                    raise
        await _insert(columns, now=now, on_conflict=_UPSERT)


def _rows(clocks: bulk.Clocks, order: np.ndarray, digests: np.ndarray) -> list[list]:
    """One list per written column (times as microseconds, None when absent)."""
    def times(values: np.ndarray) -> list[int | None]:
        return [None if value == bulk.MISSING else value for value in values[order].tolist()]

    return [clocks.ticket[order].tolist(), [TARGETS[code] for code in clocks.target[order].tolist()],
            clocks.policy[order].tolist(), [bulk.STATES[code] for code in clocks.state[order].tolist()],
            clocks.started[order].tolist(), times(clocks.due), times(clocks.warn), times(clocks.stopped),
            clocks.minutes[order].tolist(), clocks.elapsed_s[order].tolist(), times(clocks.next_check),
            digests[order].tolist()]


_STORED = (*COLUMNS, "computed_at")
_NAMES = ", ".join(_STORED)
_UPSERT = f"ON CONFLICT (ticket, target) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _STORED[2:])}"
# PostgreSQL: a few rows as one array per column (one statement); many through COPY into a
# temporary table first (per connection, emptied at commit), several times faster.
_PG_TYPES = ("int", "text", "int", "text", "int8", "int8", "int8", "int8", "int", "int", "int8", "int8")
_PG_COPY_FROM = 1000
_PG_BATCH_TABLE = (f"CREATE TEMP TABLE IF NOT EXISTS sla_clock_batch "
                   f"({', '.join(f'{c} {kind}' for c, kind in zip(COLUMNS, _PG_TYPES))}) ON COMMIT DELETE ROWS")


def _timestamp_pg(value: str) -> str:
    return f"(timestamptz 'epoch' + {value} * interval '1 microsecond')"


def _timestamp_sqlite(value: str) -> str:
    # The text Piccolo writes for a UTC datetime: str(datetime), so no fraction when it is zero.
    return (f"strftime('%Y-%m-%d %H:%M:%S', {value} / 1000000, 'unixepoch') || CASE WHEN {value} % 1000000 = 0 "
            f"THEN '' ELSE printf('.%06d', {value} % 1000000) END || '+00:00'")


async def _insert(columns: list[list], *, now: int, on_conflict: str) -> None:
    if not is_postgres():
        values = ", ".join(_timestamp_sqlite(f"{{{n}}}") if c in _TIMES else f"{{{n}}}"
                           for n, c in enumerate(COLUMNS, start=1))
        await execute_many(f"INSERT INTO sla_clock ({_NAMES}) VALUES ({values}, {_timestamp_sqlite(str(now))}) "
                           f"{on_conflict}", list(zip(*columns)))
        return
    selected = ", ".join([*(_timestamp_pg(c) if c in _TIMES else c for c in COLUMNS), _timestamp_pg(str(now))])
    if len(columns[0]) < _PG_COPY_FROM:
        arrays = ", ".join(f"{{}}::{kind}[]" for kind in _PG_TYPES)
        await SlaClock.raw(f"INSERT INTO sla_clock ({_NAMES}) SELECT {selected} "
                           f"FROM unnest({arrays}) AS batch ({', '.join(COLUMNS)}) {on_conflict}", *columns).run()
        return
    await SlaClock.raw(_PG_BATCH_TABLE).run()
    await copy_records("sla_clock_batch", COLUMNS, list(zip(*columns)))
    await SlaClock.raw(f"INSERT INTO sla_clock ({_NAMES}) SELECT {selected} FROM sla_clock_batch "
                       f"ORDER BY ticket, target {on_conflict}").run()
    await SlaClock.raw("DELETE FROM sla_clock_batch").run()  # a second batch may follow before the commit
