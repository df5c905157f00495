"""The database: engine selection, table binding, migrations and the unit of work.

Piccolo tables find their engine lazily through ``piccolo_conf.DB``; ``configure``
points that (and every registered table) at the engine chosen by the settings, so one
process can be started on SQLite or PostgreSQL without import-time environment reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import itertools
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.columns import Column, Text, Timestamptz, Varchar
from piccolo.columns.combination import Combinable
from piccolo.conf.apps import Finder
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.query import Select

from helpdesk import events
from helpdesk.errors import ConfigurationError, ValidationFailed
from helpdesk.pagination import check_limit, decode_cursor, encode_cursor
from helpdesk.settings import Settings

logger = logging.getLogger(__name__)

PICCOLO_CONF_MODULE = "helpdesk.piccolo_conf"
SQLITE_BUSY_TIMEOUT_S = 30


def engine_for(settings: Settings) -> Engine:
    if settings.database_url:
        return PostgresEngine(config={"dsn": settings.database_url}, log_queries=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.sqlite_path
    _enable_wal(str(path))
    return _SQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT_S)


class _SQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with one thread hand-off per statement inside a transaction, not four.

    aiosqlite runs every call in the connection's thread and wakes the event loop for the answer,
    and Piccolo makes four such calls per statement in a transaction (PRAGMA foreign_keys,
    execute, fetchall, close). That PRAGMA is a no-op inside a transaction (SQLite ignores it
    there; the connection set it when it opened), and ``execute_fetchall`` does the rest in one
    call. Intake runs thousands of statements per transaction, so this roughly halves their cost.
    """

    __slots__ = ()

    async def _run_in_existing_connection(self, connection, query: str, args: list[Any] | None = None,
                                          query_type: str = "generic", table: Any = None) -> Any:
        if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING: Piccolo's own way
            return await super()._run_in_existing_connection(connection, query, args, query_type, table)
        return list(await connection.execute_fetchall(query, args or []))


def _enable_wal(path: str) -> None:
    # WAL is a property of the database file, so setting it once is enough.
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


_engine: Engine | None = None


def configure(settings: Settings) -> Engine:
    """Bind Piccolo (its CLI machinery and all our tables) to the engine for ``settings``."""
    global _engine
    os.environ["PICCOLO_CONF"] = PICCOLO_CONF_MODULE
    engine = engine_for(settings)
    conf = importlib.import_module(PICCOLO_CONF_MODULE)
    conf.DB = engine
    for table in all_tables():
        table._meta.db = engine
    Migration._meta.db = engine
    _engine = engine
    return engine


def current_engine() -> Engine:
    if _engine is None:
        raise ConfigurationError("the database is not configured; call helpdesk.db.configure first")
    return _engine


def is_postgres() -> bool:
    return isinstance(current_engine(), PostgresEngine)


def all_tables() -> list[type]:
    tables: list[type] = []
    for app_config in Finder().get_app_configs():
        tables.extend(app_config.table_classes)
    return tables


async def start(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20)


async def stop(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def ddl_migration(
    migration_id: str, app_name: str, description: str, statements: list[str], *, postgres_only: bool = False,
    sqlite_statements: list[str] | None = None,
) -> Callable[[], Awaitable[MigrationManager]]:
    """A migration's ``forwards`` that runs plain DDL (indexes Piccolo's columns cannot declare).

    ``postgres_only``: storage tuning SQLite has no equivalent for; a no-op there.
    ``sqlite_statements``: what SQLite runs instead, where its DDL differs (it cannot drop a
    constraint, say, only rebuild the table).
    """

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name=app_name, description=description)

        async def run_statements() -> None:
            engine = engine_finder()  # also right when Piccolo's own CLI runs the migration
            chosen = statements
            if not isinstance(engine, PostgresEngine):
                if postgres_only:
                    return
                chosen = statements if sqlite_statements is None else sqlite_statements
            for statement in chosen:
                await engine.run_ddl(statement)

        manager.add_raw(run_statements)
        return manager

    return forwards


async def migrate() -> None:
    # Piccolo reports progress with print(); keep standard output clean for commands like export.
    progress = io.StringIO()
    with contextlib.redirect_stdout(progress):
        result = await run_forwards("all")
    for line in progress.getvalue().splitlines():
        if line.strip(" -"):
            logger.debug("migrate: %s", line.strip())
    if not result.success:
        raise ConfigurationError(f"migrations failed: {result.message}")


@dataclass
class _TransactionState:
    """What this process remembers about the open transaction, dropped with it."""

    cache: dict[Any, Any] = field(default_factory=dict)
    # PostgreSQL: a savepoint whose block succeeded but which is not released yet; the next
    # SAVEPOINT releases it in the same message (one round trip, not two). COMMIT releases it too.
    unreleased_savepoint: str | None = None


_transaction_state: ContextVar[_TransactionState | None] = ContextVar("helpdesk_transaction_state", default=None)


def transaction_cache() -> dict[Any, Any] | None:
    """A dict that lives as long as the open unit of work (None outside one), for reads that
    cannot change within it, such as definitions an action consults once per row."""
    state = _transaction_state.get()
    return state.cache if state is not None else None


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[None]:
    """One business action: one transaction, then its events once it has committed.

    Nested units join the outer one, so a service can call another service's ``do_x``
    without splitting the action in two.
    """
    engine = current_engine()
    if engine.transaction_exists():
        yield
        return
    pending, token = events.begin_collecting()
    state_token = _transaction_state.set(_TransactionState())
    try:
        if isinstance(engine, SQLiteEngine):
            # IMMEDIATE takes the write lock up front, so two writers queue instead of
            # failing with "database is locked" when a read lock cannot be upgraded.
            transaction = engine.transaction(transaction_type=TransactionType.immediate)
        else:
            transaction = engine.transaction()
        async with transaction:
            yield
    finally:
        _transaction_state.reset(state_token)
        events.stop_collecting(token)
    if pending:
        await events.get_bus().publish(pending)


@asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """Inside a unit of work: if the block raises, undo only its writes and its events, then re-raise.

    Lets one unit of work hold many independent actions (a batch of mails) where a failing one
    must not take the others with it.
    """
    transaction = current_engine().current_transaction.get()
    if transaction is None:
        raise ConfigurationError("savepoint() needs an open unit of work")
    state = _transaction_state.get()
    if isinstance(transaction, PostgresTransaction) and state is not None:
        async with _postgres_savepoint(transaction, state):
            yield
        return
    point = await transaction.savepoint()
    mark = events.collected_count()
    try:
        yield
    except Exception:
        await point.rollback_to()
        await point.release()
        events.discard_collected_since(mark)
        raise
    await point.release()


@asynccontextmanager
async def _postgres_savepoint(transaction: PostgresTransaction, state: _TransactionState) -> AsyncIterator[None]:
    """``savepoint`` on PostgreSQL in one round trip where Piccolo's takes two: a block that
    succeeds leaves its savepoint to be released by the next SAVEPOINT (or the commit)."""
    name = f"savepoint_{transaction.get_savepoint_id()}"
    previous, state.unreleased_savepoint = state.unreleased_savepoint, None
    opening = f"RELEASE SAVEPOINT {previous}; SAVEPOINT {name}" if previous else f"SAVEPOINT {name}"
    await transaction.connection.execute(opening)  # no arguments: one simple-query message
    mark = events.collected_count()
    try:
        yield
    except Exception:
        # Rolling back to this savepoint also discards any left unreleased inside the block.
        state.unreleased_savepoint = None
        await transaction.connection.execute(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
        events.discard_collected_since(mark)
        raise
    # Releasing this one later also releases any left unreleased inside the block.
    state.unreleased_savepoint = name


@asynccontextmanager
async def reading() -> AsyncIterator[None]:
    """Several reads on one connection and one consistent snapshot, without SQLite's write lock.

    Outside a transaction Piccolo opens a connection per statement on SQLite (milliseconds
    each); a deferred transaction reads on one and never blocks writers (WAL). Inside a unit of
    work it joins it. Write in a ``unit_of_work`` after leaving, never inside.
    """
    engine = current_engine()
    if engine.transaction_exists():
        yield
        return
    if isinstance(engine, SQLiteEngine):
        transaction = engine.transaction(transaction_type=TransactionType.deferred)
    else:
        transaction = engine.transaction()
    async with transaction:
        yield


async def execute_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Inside a unit of work: run one statement once per row. Placeholders are ``{}`` as in
    ``Table.raw``, or ``{1}``, ``{2}``… for a statement that uses a value more than once.

    The drivers' own executemany: thousands of rows cost about what one statement does,
    where Piccolo's query builder spends milliseconds binding each thousand parameters.
    """
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise ConfigurationError("execute_many() needs an open unit of work")
    if not rows:
        return
    await transaction.connection.executemany(numbered_placeholders(sql), rows)


async def fetch_rows(sql: str, *args: Any) -> Sequence[Sequence[Any]]:
    """Rows as the driver gives them (tuples, records), for reads of many thousands of rows where
    building a dict per row would dominate. Placeholders as in :func:`execute_many`. Inside a
    transaction it reads on that one; outside, in a read transaction of its own."""
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None and isinstance(engine, SQLiteEngine):
        # A connection of its own without Piccolo's type converters: they call Python for every
        # INTEGER and TIMESTAMPTZ value, which costs more than the query. Values stay as stored.
        async with aiosqlite.connect(engine.path, timeout=SQLITE_BUSY_TIMEOUT_S) as connection:
            return await connection.execute_fetchall(numbered_placeholders(sql), args)
    if transaction is None:
        async with reading():
            return await fetch_rows(sql, *args)
    if isinstance(transaction, PostgresTransaction):
        return await transaction.connection.fetch(numbered_placeholders(sql), *args)
    cursor = await transaction.connection.execute(numbered_placeholders(sql), args)
    cursor.row_factory = None  # plain tuples, not Piccolo's dicts
    try:
        return await cursor.fetchall()
    finally:
        await cursor.close()


async def copy_records(table: str, columns: Sequence[str], records: Sequence[Sequence[Any]]) -> None:
    """PostgreSQL, inside a unit of work: rows into a table through COPY (binary), several times
    faster than INSERT for tens of thousands of rows."""
    transaction = current_engine().current_transaction.get()
    if not isinstance(transaction, PostgresTransaction):
        raise ConfigurationError("copy_records() needs a unit of work on PostgreSQL")
    await transaction.connection.copy_records_to_table(table, records=records, columns=list(columns))


async def read_concurrently(*reads: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Independent reads: on PostgreSQL at once, each on a pooled connection (the server works
    on one while this process converts another's rows); on SQLite, and inside a transaction,
    one after another (SQLite's driver builds rows holding the interpreter: threads only queue).
    Reads outside a transaction do not share one snapshot: for callers that recompute from them
    and redo anything changed since (the SLA runner)."""
    if not _pooled_outside_a_transaction():
        return [await read() for read in reads]
    return list(await asyncio.gather(*(read() for read in reads)))


async def write_concurrently(writes: Sequence[Callable[[], Awaitable[None]]], *, at_once: int = 2) -> None:
    """Independent units of work, each its own transaction: on PostgreSQL ``at_once`` at a time,
    each on a pooled connection, so the server writes on several cores (bulk SLA clock writes:
    2.4 → 1.7 s for 207,615 rows with two on a 2-core machine); on SQLite, whose single writer takes
    them in turn anyway, and inside a transaction, one after another."""
    if not _pooled_outside_a_transaction():
        for write in writes:
            await write()
        return
    for start in range(0, len(writes), at_once):
        await asyncio.gather(*(write() for write in writes[start:start + at_once]))


def _pooled_outside_a_transaction() -> bool:
    engine = current_engine()
    return isinstance(engine, PostgresEngine) and not engine.transaction_exists()


def numbered_placeholders(sql: str) -> str:
    """``{}`` / ``{n}`` placeholders as the current driver numbers them (``$n`` or ``?n``)."""
    marker = "$" if isinstance(current_engine(), PostgresEngine) else "?"
    counter = itertools.count(1)
    return re.sub(r"\{(\d*)\}", lambda found: f"{marker}{found.group(1) or next(counter)}", sql)


def is_unique_violation(exc: BaseException) -> bool:
    """Whether a database error is a unique key refusing a second row (either engine's driver).

    Services check names and keys first for a clear message; this is what a race past that check
    ends in, and the API answers it as a conflict, not a server error.
    """
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE constraint failed" in str(exc)
    return getattr(exc, "sqlstate", None) == "23505"  # asyncpg's UniqueViolationError


def keyset_condition(columns: list[Column], key: list[Any], *, descending: bool) -> Combinable:
    """Rows strictly after ``key`` in the order of ``columns`` (the last one unique, e.g. id).

    Written as a <= x AND ((a < x) OR (a = x AND b < y) …): the OR alone is correct but neither
    engine turns it into an index range, so deep pages would scan from the top; the leading
    bound lets both seek the composite index.
    """
    values = [_cursor_value(column, value) for column, value in zip(columns, key)]
    condition: Combinable | None = None
    for depth in reversed(range(len(columns))):
        column, value = columns[depth], values[depth]
        step = (column < value) if descending else (column > value)
        if condition is not None:
            step = step | ((column == value) & condition)
        condition = step
    assert condition is not None
    leading = (columns[0] <= values[0]) if descending else (columns[0] >= values[0])
    return leading & condition


_BIGINT = range(-(2**63), 2**63)


async def keyset_page(
    query: Select, columns: list[Column], *, cursor: str | None, limit: int, descending: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``query`` in the order of ``columns`` (the last one unique), and the next cursor."""
    limit = check_limit(limit)
    query = query.order_by(*columns, ascending=not descending).limit(limit + 1)
    key = decode_cursor(cursor, length=len(columns))
    if key:
        query = query.where(keyset_condition(columns, key, descending=descending))
    rows = await query.run()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor([_cursor_plain(last[column._meta.name]) for column in columns])


def _cursor_plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _cursor_value(column: Column, value: Any) -> Any:
    """A cursor's key checked against its column: a forged cursor is a 422, never a database error."""
    if isinstance(column, Timestamptz):
        try:
            instant = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            instant = None
        if instant is not None and instant.tzinfo is not None:
            return instant
    elif isinstance(column, (Varchar, Text)):
        if isinstance(value, str):
            return value
    elif isinstance(value, int) and not isinstance(value, bool) and value in _BIGINT:
        return value
    raise ValidationFailed("not a cursor for this listing", field="cursor")
