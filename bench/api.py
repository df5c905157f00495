"""API latency at scale: seed N tickets, serve the real app with uvicorn, time requests over HTTP.

    .venv/bin/python bench/api.py --tickets 100000 --engine sqlite
    .venv/bin/python bench/api.py --tickets 100000 --engine postgres   # HELPDESK_DATABASE_URL or a private cluster

The schema comes from the project's migrations; the rows are bulk-loaded (bench/_seed.py). The
server is ``helpdesk.app.create_app`` under uvicorn (one worker, its own process) on a free
loopback port; one httpx client with keep-alive sends sequential requests after a warm-up and
times each one end to end. Progress goes to stderr; the last stdout line is one JSON object.

Endpoints timed (``--requests`` each, default 300):
  health      GET /healthz                                     the floor: no auth, no database
  list        GET /api/tickets?limit=50                       first page, newest updated first
  list_open   GET /api/tickets?limit=50&status=open
  deep        GET /api/tickets?limit=50&cursor=…               pages at random positions across the
              whole list (cursors built from random tickets' sort keys, as the API would issue them)
  deep_open   the same with status=open
  walk        following ``next`` from the first page ``--walk-pages`` pages deep (default 200)
  overview    GET /api/contacts/{id}/overview                  uniformly random contacts
  overview_heavy  the same for the busiest 1% of requesters (a fifth of all tickets)

``--profile`` then runs the same service calls in-process, records every SQL statement with its
time, and prints per-endpoint query counts and EXPLAIN (QUERY PLAN | ANALYZE) for each statement.

``--try-fix NAME`` (repeatable) is an experiment: it monkeypatches a proposed fix into helpdesk in
the server process (and the profile) so its effect can be measured before anyone edits helpdesk/;
the JSON then carries ``experimental_fixes``. Figures with it are not the product's.

This machine is shared: the JSON records the 1-minute load average before and after timing, and the
``health`` floor shows how much of a p99 is scheduling noise. ``--quiet-wait S`` waits (bounded) for
the load to drop before timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LIMIT = 50


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def loadavg() -> float:
    """The 1-minute load average: other work on this 2-core machine shows up in the latencies."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def wait_for_quiet(threshold: float, seconds: float) -> None:
    """Other people's work on this machine shows up in p99: wait (bounded) for the load to settle."""
    deadline = time.monotonic() + seconds
    while (load := loadavg()) > threshold and time.monotonic() < deadline:
        log(f"  load average {load} > {threshold}; waiting (up to {deadline - time.monotonic():.0f} s more)")
        time.sleep(15)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the database


class BenchDatabase:
    """A temp data dir, and for PostgreSQL a fresh database (on HELPDESK_DATABASE_URL's server or a private one)."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.data_dir = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
        self.private = None
        self.url: str | None = None
        self.server_url: str | None = None
        self.name = f"helpdesk_bench_{uuid.uuid4().hex[:10]}"
        # piccolo_conf builds an engine from the environment at import: keep it inside our data dir.
        os.environ["HELPDESK_DATA_DIR"] = str(self.data_dir)
        if engine != "postgres":
            os.environ.pop("HELPDESK_DATABASE_URL", None)
            return
        server_url = os.environ.get("HELPDESK_DATABASE_URL")
        if server_url:
            self.server_url = server_url
            asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
            parts = urlsplit(server_url)
            self.url = urlunsplit(parts._replace(path="/" + self.name))
            log(f"postgres: database {self.name} on {parts.hostname}:{parts.port or 5432}")
        else:
            from tests.support.postgres import PrivatePostgres

            self.private = PrivatePostgres().start()
            self.url = self.private.create_database(self.name)
            log(f"postgres: private cluster on port {self.private.port}")

    async def _admin(self, sql: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.server_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def settings(self):
        from helpdesk.settings import Settings

        return Settings(data_dir=self.data_dir, database_url=self.url, run_background_tasks=False, log_level="WARNING")

    def server_env(self) -> dict[str, str]:
        return {**os.environ, "HELPDESK_DATA_DIR": str(self.data_dir), "HELPDESK_DATABASE_URL": self.url or "",
                "HELPDESK_BACKGROUND_TASKS": "false", "HELPDESK_LOG_LEVEL": "WARNING"}

    def close(self, keep: bool) -> None:
        if keep:
            log(f"kept: data dir {self.data_dir}" + (f", database {self.url}" if self.url else ""))
            return
        try:
            if self.private is not None:
                self.private.stop()
            elif self.server_url:
                asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}"'))
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


async def prepare(settings) -> tuple[str, list[int], dict[int, int]]:
    """Migrate, then make teams, agents and the benchmark's API token through the services."""
    from datetime import UTC, datetime

    from helpdesk import db
    from helpdesk.actors import SYSTEM
    from helpdesk.auth import service as auth
    from helpdesk.auth.schemas import AgentCreate, TeamCreate, TokenCreate

    engine = db.configure(settings)
    await db.start(engine)
    try:
        await db.migrate()
        now = datetime.now(UTC)
        team_ids = [(await auth.create_team(SYSTEM, TeamCreate(name=name), now=now)).id
                    for name in ("Tier 1", "Tier 2", "Billing", "Enterprise")]
        agent_ids: list[int] = []
        team_of_agent: dict[int, int] = {}
        for number in range(20):
            team = team_ids[number % len(team_ids)]
            agent = await auth.create_agent(
                SYSTEM, AgentCreate(name=f"Agent {number + 1}", email=f"agent{number + 1}@helpdesk.example",
                                    team_ids=[team]), now=now)
            agent_ids.append(agent.id)
            team_of_agent[agent.id] = team
        bench_agent = await auth.create_agent(
            SYSTEM, AgentCreate(name="Bench Lead", email="bench@helpdesk.example", role="lead", team_ids=team_ids), now=now)
        token = await auth.create_token(SYSTEM, TokenCreate(name="bench", agent_id=bench_agent.id), now=now)
        return token.secret, agent_ids, team_of_agent
    finally:
        await db.stop(engine)


def seed(database: BenchDatabase, settings, tickets: int, agent_ids: list[int], team_of_agent: dict[int, int],
         *, sqlite_analyze: bool):
    from bench import _seed

    plan = _seed.Plan(tickets=tickets, agent_ids=agent_ids, team_of_agent=team_of_agent)
    log(f"seeding {tickets:,} tickets, {plan.contacts:,} contacts, {plan.accounts:,} accounts ({database.engine})")
    if database.engine == "postgres":
        seeded = asyncio.run(_seed.seed_postgres(database.url, plan, log))
    else:
        seeded = _seed.seed_sqlite(str(settings.sqlite_path), plan, log)
        if sqlite_analyze:
            import sqlite3

            started = time.monotonic()
            with sqlite3.connect(str(settings.sqlite_path)) as connection:
                connection.execute("ANALYZE")
            log(f"  ANALYZE took {time.monotonic() - started:.1f} s")
    log(f"seeded in {seeded.seconds:.1f} s: " + ", ".join(f"{table} {count:,}" for table, count in seeded.rows.items()))
    return seeded


async def _fetch_pg(url: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


def sort_keys(database: BenchDatabase, settings, ids: list[int]) -> dict[int, str]:
    """(id → updated_at as the API writes it in a cursor) for the given tickets."""
    from datetime import datetime

    if database.engine == "postgres":
        rows = asyncio.run(_fetch_pg(database.url, "SELECT id, updated_at FROM ticket WHERE id = ANY($1::int[])", ids))
        return {row["id"]: row["updated_at"].isoformat() for row in rows}
    import sqlite3

    with sqlite3.connect(str(settings.sqlite_path)) as connection:
        rows = connection.execute(f"SELECT id, updated_at FROM ticket WHERE id IN ({','.join('?' * len(ids))})", ids)
        return {row[0]: datetime.fromisoformat(row[1]).isoformat() for row in rows}


def open_ticket_ids(database: BenchDatabase, settings, count: int, rng: random.Random) -> list[int]:
    sql = "SELECT id FROM ticket WHERE status = 'open'"
    if database.engine == "postgres":
        ids = [row["id"] for row in asyncio.run(_fetch_pg(database.url, sql))]
    else:
        import sqlite3

        with sqlite3.connect(str(settings.sqlite_path)) as connection:
            ids = [row[0] for row in connection.execute(sql)]
    return [rng.choice(ids) for _ in range(count)] if ids else []


# ---------------------------------------------------------------- proposed fixes, tried without editing helpdesk/


def _fix_keyset() -> None:
    """Bound the keyset OR with its leading column, so both engines seek the index instead of scanning it."""
    import helpdesk.activities.service
    import helpdesk.customers.service
    import helpdesk.tickets.service
    from helpdesk import db

    original = db.keyset_condition

    def keyset_condition(columns, key, *, descending):
        first, value = columns[0], db._cursor_value(columns[0], key[0])
        bound = (first <= value) if descending else (first >= value)
        return bound & original(columns, key, descending=descending)

    for module in (db, helpdesk.tickets.service, helpdesk.customers.service, helpdesk.activities.service):
        module.keyset_condition = keyset_condition


def _fix_sqlite_connection() -> None:
    """Reuse one SQLite connection for statements outside transactions (Piccolo opens one per statement)."""
    import asyncio

    import aiosqlite
    from piccolo.engine.sqlite import SQLiteEngine, dict_factory

    shared: dict[int, tuple[Any, asyncio.Lock]] = {}

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        state = shared.get(id(self))
        if state is None:
            connection = await aiosqlite.connect(**self.connection_kwargs)
            connection.row_factory = dict_factory
            await connection.execute("PRAGMA foreign_keys = 1")
            state = shared[id(self)] = (connection, asyncio.Lock())
        connection, lock = state
        async with lock, connection.execute(query, args or []) as cursor:
            await connection.commit()
            return await cursor.fetchall()

    async def close() -> None:
        for connection, _ in shared.values():
            await connection.close()
        shared.clear()

    SQLiteEngine._run_in_new_connection = _run_in_new_connection
    CLOSERS.append(close)


CLOSERS: list[Any] = []  # async callables that release what a fix opened (aiosqlite's thread keeps a process alive)
# (A third one, writing api_token.last_used_at at most once a minute, landed in helpdesk/auth/service.py.)
FIXES = {"keyset": _fix_keyset, "sqlite-connection": _fix_sqlite_connection}


def apply_fixes(names: list[str]) -> None:
    for name in names:
        FIXES[name]()


# ---------------------------------------------------------------- the server


def serve(port: int) -> None:
    """The server process: the real app under uvicorn, one worker."""
    import uvicorn

    from helpdesk.app import create_app
    from helpdesk.settings import Settings

    apply_fixes([name for name in os.environ.get("HELPDESK_BENCH_FIXES", "").split(",") if name])
    app = create_app(Settings.from_env(os.environ))
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False,
                proxy_headers=False)


def start_server(database: BenchDatabase, fixes: list[str]) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", str(port)],
                               env={**database.server_env(), "HELPDESK_BENCH_FIXES": ",".join(fixes)}, cwd=str(ROOT), stdout=sys.stderr, stderr=sys.stderr)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, base)
    return process, base


def wait_until_serving(process: subprocess.Popen, base: str, *, timeout_s: float = 120) -> None:
    """Until the server process answers /healthz; it is stopped if it does not in time."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1, trust_env=False).status_code == 200:
                log(f"server up on {base} (pid {process.pid})")
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(process)
    raise RuntimeError(f"the server did not answer /healthz within {timeout_s:.0f} s")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---------------------------------------------------------------- timing


@dataclass
class Series:
    name: str
    ms: list[float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.ms)
        return round(ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)], 2)

    def summary(self) -> str:
        return (f"{self.name:15s} n={len(self.ms):4d}  p50 {self.pct(50):7.2f} ms  p90 {self.pct(90):7.2f} ms  "
                f"p99 {self.pct(99):7.2f} ms  max {max(self.ms):7.2f} ms")


def timed_get(client, path: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    body = response.content
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params} → {response.status_code}: {body[:300]!r}")
    return elapsed, json.loads(body)


def run_series(client, name: str, requests: Iterable[tuple[str, dict[str, Any] | None]], *, warmup: int,
               check=None) -> Series:
    """Sends the first ``warmup`` requests untimed, then times the rest."""
    requests = list(requests)
    for path, params in requests[:warmup]:
        timed_get(client, path, params)
    times: list[float] = []
    for path, params in requests[warmup:]:
        elapsed, body = timed_get(client, path, params)
        if check:
            check(body)
        times.append(elapsed)
    series = Series(name, times)
    log("  " + series.summary())
    return series


def full_page(body: Any) -> None:
    if len(body["items"]) != LIMIT:
        raise RuntimeError(f"expected a full page of {LIMIT}, got {len(body['items'])}")


def measure(base: str, secret: str, database: BenchDatabase, settings, seeded, *, requests: int, walk_pages: int,
            seed: int) -> dict[str, Series]:
    import httpx

    from helpdesk.pagination import encode_cursor

    rng = random.Random(seed)
    warmup = min(30, requests)
    results: dict[str, Series] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=120) as client:
        # The floor: HTTP, uvicorn and Litestar with no authentication and no database.
        results["health"] = run_series(client, "health", [("/healthz", None)] * (warmup + requests), warmup=warmup)
        results["list"] = run_series(client, "list", [("/api/tickets", {"limit": LIMIT})] * (warmup + requests),
                                     warmup=warmup, check=full_page)
        results["list_open"] = run_series(client, "list_open", [("/api/tickets", {"limit": LIMIT, "status": "open"})]
                                          * (warmup + requests), warmup=warmup, check=full_page)

        # Deep pages: cursors at random positions, the key of a random ticket (so uniform over the list).
        total = seeded.rows["ticket"]
        ids = [rng.randint(1, max(total - 5 * LIMIT, 1)) for _ in range(requests + warmup)]
        keys = sort_keys(database, settings, ids)
        results["deep"] = run_series(
            client, "deep",
            [("/api/tickets", {"limit": LIMIT, "cursor": encode_cursor([keys[i], i])}) for i in ids],
            warmup=warmup)
        open_ids = open_ticket_ids(database, settings, requests + warmup, rng)
        open_keys = sort_keys(database, settings, open_ids) if open_ids else {}
        results["deep_open"] = run_series(
            client, "deep_open",
            [("/api/tickets", {"limit": LIMIT, "status": "open", "cursor": encode_cursor([open_keys[i], i])})
             for i in open_ids], warmup=warmup)

        # Walk: follow `next` from the first page.
        times: list[float] = []
        cursor = None
        for _ in range(walk_pages):
            params = {"limit": LIMIT, **({"cursor": cursor} if cursor else {})}
            elapsed, body = timed_get(client, "/api/tickets", params)
            times.append(elapsed)
            cursor = body["next"]
            if cursor is None:
                break
        results["walk"] = Series("walk", times)
        log(f"  {results['walk'].summary()}  (pages 1–{len(times)}, last {times[-1]:.2f} ms)")

        contacts = [rng.randint(1, seeded.contacts) for _ in range(requests + warmup)]
        results["overview"] = run_series(client, "overview",
                                         [(f"/api/contacts/{c}/overview", None) for c in contacts], warmup=warmup)
        heavy = [rng.randint(1, seeded.heavy_contacts) for _ in range(requests + warmup)]
        results["overview_heavy"] = run_series(client, "overview_heavy",
                                               [(f"/api/contacts/{c}/overview", None) for c in heavy], warmup=warmup)
    return results


# ---------------------------------------------------------------- profile: every SQL statement, timed and explained


async def profile(database: BenchDatabase, settings, secret: str, seeded, keys: dict[int, str]) -> None:
    from datetime import UTC, datetime

    from helpdesk import db
    from helpdesk.auth import service as auth
    from helpdesk.overview import service as overview
    from helpdesk.pagination import encode_cursor
    from helpdesk.tickets import service as tickets
    from helpdesk.tickets.status import OPEN_STATUSES  # noqa: F401 (documents what "open" covers)

    rng = random.Random(len(keys))
    ids = list(keys)
    engine = db.configure(settings)
    await db.start(engine)
    recorded: list[tuple[str, str, list[Any], float]] = []
    label = ["-"]
    # Engines have __slots__, so the hook goes on the class (and comes off again below).
    engine_class = type(engine)
    original = engine_class.run_querystring

    async def recording(self, querystring, in_pool: bool = True):
        sql, args = querystring.compile_string(engine_type=self.engine_type)
        started = time.perf_counter()
        try:
            return await original(self, querystring, in_pool=in_pool)
        finally:
            recorded.append((label[0], sql, list(args), (time.perf_counter() - started) * 1000))

    engine_class.run_querystring = recording  # type: ignore[method-assign]
    try:
        now = datetime.now(UTC)
        calls = 20
        for _ in range(calls):
            label[0] = "auth"
            actor = await auth.authenticate_token(secret, now=now)
            label[0] = "list"
            await tickets.list_tickets(actor, tickets.TicketQuery(), limit=LIMIT)
            label[0] = "list_open"
            await tickets.list_tickets(actor, tickets.TicketQuery(statuses=("open",)), limit=LIMIT)
            label[0] = "deep"
            ticket_id = rng.choice(ids)
            await tickets.list_tickets(actor, tickets.TicketQuery(), limit=LIMIT,
                                       cursor=encode_cursor([keys[ticket_id], ticket_id]))
            label[0] = "overview"
            await overview.contact_overview(actor, rng.randint(1, seeded.contacts))
            label[0] = "overview_heavy"
            await overview.contact_overview(actor, rng.randint(1, seeded.heavy_contacts))
    finally:
        engine_class.run_querystring = original  # type: ignore[method-assign]

    by_label: dict[str, list[tuple[str, list[Any], float]]] = defaultdict(list)
    for name, sql, args, ms in recorded:
        by_label[name].append((sql, args, ms))
    log(f"\n==== profile ({database.engine}, {seeded.rows['ticket']:,} tickets): in-process service calls, "
        f"{calls} of each ====")
    for name, entries in by_label.items():
        total = sum(ms for _, _, ms in entries)
        log(f"\n-- {name}: {len(entries) / calls:.1f} statements per call, {total / calls:.2f} ms of SQL per call")
        per_sql: dict[str, list[float]] = defaultdict(list)
        sample_args: dict[str, list[Any]] = {}
        for sql, args, ms in entries:
            per_sql[sql].append(ms)
            sample_args.setdefault(sql, args)
        for sql, times in sorted(per_sql.items(), key=lambda item: -sum(item[1])):
            times.sort()
            log(f"   {sum(times) / calls:7.2f} ms/call  n={len(times):3d}  median {times[len(times) // 2]:6.2f}  "
                f"max {times[-1]:6.2f}  {' '.join(sql.split())[:160]}")
    log("\n==== plans ====")
    seen: set[str] = set()
    for name, entries in by_label.items():
        for sql, args, _ in entries:
            if sql in seen or not sql.lstrip().upper().startswith("SELECT"):
                continue
            seen.add(sql)
            log(f"\n[{name}] {' '.join(sql.split())}\n  args: {args[:8]}")
            for line in await explain(database, engine, sql, args):
                log("   " + line)
    await db.stop(engine)
    for close in CLOSERS:
        await close()


async def explain(database: BenchDatabase, engine, sql: str, args: list[Any]) -> list[str]:
    if database.engine == "postgres":
        async with engine.pool.acquire() as connection:
            rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
        return [row[0] for row in rows]
    import sqlite3

    import piccolo.engine.sqlite  # noqa: F401 (registers the datetime adapters the app uses)

    with sqlite3.connect(engine.connection_kwargs["database"]) as connection:
        rows = connection.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            connection.execute(sql, args).fetchall()
            runs.append((time.perf_counter() - started) * 1000)
    timing = f"(sqlite3 on a new connection: first run {runs[0]:.2f} ms, best of 3 {min(runs):.2f} ms)"
    return [f"{'  ' * (parent != 0)}{detail}" for _, parent, _, detail in rows] + [timing]


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--walk-pages", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="time and EXPLAIN every statement (stderr)")
    parser.add_argument("--sqlite-analyze", action="store_true",
                        help="run ANALYZE after seeding SQLite (the app itself never does)")
    parser.add_argument("--try-fix", action="append", default=[], choices=sorted(FIXES),
                        help="experiment: apply a proposed fix to helpdesk in the server process (repeatable); "
                             "figures with it are not the product's")
    parser.add_argument("--quiet-load", type=float, default=2.0,
                        help="with --quiet-wait: the 1-minute load average to wait for before timing")
    parser.add_argument("--quiet-wait", type=float, default=0, metavar="SECONDS",
                        help="wait up to this long for the machine to be quiet before timing (default: no wait)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir / database afterwards")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0

    started = time.monotonic()
    database = BenchDatabase(args.engine)
    server = None
    try:
        settings = database.settings()
        secret, agent_ids, team_of_agent = asyncio.run(prepare(settings))
        seeded = seed(database, settings, args.tickets, agent_ids, team_of_agent, sqlite_analyze=args.sqlite_analyze)
        if args.try_fix:
            log(f"EXPERIMENT: the server runs with proposed fixes applied: {', '.join(args.try_fix)}")
        server, base = start_server(database, args.try_fix)
        if args.quiet_wait > 0:
            wait_for_quiet(args.quiet_load, args.quiet_wait)
        load_before = loadavg()
        log(f"timing {args.requests} requests per endpoint (after warm-up); load average {load_before}")
        results = measure(base, secret, database, settings, seeded, requests=args.requests,
                          walk_pages=args.walk_pages, seed=args.seed)
        load_after = loadavg()
        stop_server(server)
        server = None
        if args.profile:
            rng = random.Random(args.seed + 1)
            keys = sort_keys(database, settings, [rng.randint(1, seeded.rows["ticket"] - 5 * LIMIT) for _ in range(20)])
            apply_fixes(args.try_fix)
            asyncio.run(profile(database, settings, secret, seeded, keys))
    finally:
        if server is not None:
            stop_server(server)
        database.close(args.keep)

    out: dict[str, Any] = {
        "bench": "api",
        "engine": args.engine,
        "tickets": args.tickets,
        "list_p50_ms": results["list"].pct(50),
        "list_p99_ms": results["list"].pct(99),
        "deep_p99_ms": results["deep"].pct(99),
        "overview_p99_ms": results["overview"].pct(99),
    }
    for name in ("health", "list_open", "deep", "deep_open", "walk", "overview", "overview_heavy"):
        out[f"{name}_p50_ms"] = results[name].pct(50)
        out[f"{name}_p99_ms"] = results[name].pct(99)
    out["requests_per_endpoint"] = args.requests
    if args.try_fix:
        out["experimental_fixes"] = args.try_fix
    out["seed_s"] = round(seeded.seconds, 1)
    out["loadavg_before"] = load_before
    out["loadavg_after"] = load_after
    out["total_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
