"""SLA dashboard latency at scale: seed N tickets with SLA clocks, serve the real app, time each
dashboard endpoint over HTTP.

    .venv/bin/python bench/dashboard.py [--tickets N] [--engine sqlite|postgres] [--requests R]

Tickets come from the API benchmark's seeder (bench/_seed.py, one year of history, recent ones
open) and its teams, agents and lead token; policies from bench/sla.py. Clocks are bulk-written
for every ticket, as the scheduler would have left them over the year: a first-response clock
(stopped at the ticket's first response) and a resolution clock (stopped when solved, paused
while pending or on hold), with targets by priority (high/urgent: 4 h / 2 days, else 1 day / 5 days),
counted around the clock so a clock's business time is its wall time. Then the app runs under
uvicorn in its own process and one keep-alive client times sequential requests after a warm-up
(``ms``: end to end, p50/p99 per endpoint); then the same service calls are timed in-process
(``queries_ms``: the SQL alone, without HTTP, auth and JSON). Progress goes to stderr; the last
stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import (  # noqa: E402
    BenchDatabase,
    loadavg,
    log,
    prepare,
    run_series,
    seed,
    start_server,
    stop_server,
    wait_for_quiet,
)

CLOCK_COLUMNS = ("ticket", "target", "policy", "state", "started_at", "due_at", "warn_at", "stopped_at",
                 "target_minutes", "elapsed_seconds", "next_check_at", "computed_at")
TARGETS = {"urgent": (240, 2880), "high": (240, 2880), "normal": (1440, 7200), "low": (1440, 7200)}
PAUSED = ("pending", "on_hold")


def clock_rows(tickets: list[tuple], policy_of: dict[str, int], now: datetime) -> list[tuple]:
    """Two clocks per ticket from (id, status, priority, created_at, first_response_at, solved_at)."""
    rows = []
    for ticket_id, status, priority, created, first_response, solved in tickets:
        first_minutes, resolution_minutes = TARGETS[priority]
        policy = policy_of["Urgent" if priority in ("high", "urgent") else "Standard"]
        for target, minutes, stopped in (("first_response", first_minutes, first_response),
                                         ("resolution", resolution_minutes, solved)):
            paused = stopped is None and target == "resolution" and status in PAUSED
            due = None if paused else created + timedelta(minutes=minutes)
            # As the engine stores them: elapsed time only for stopped and paused clocks, and a
            # running clock stays "running" past its due time.
            elapsed = int(((stopped or now) - created).total_seconds()) if stopped or paused else 0
            if stopped is not None:
                state = "met" if elapsed <= minutes * 60 else "breached"
            else:
                state = "paused" if paused else "running"
            warn = None if stopped is not None or due is None else created + timedelta(minutes=minutes * 0.8)
            next_check = None if stopped is not None or due is None else (warn if warn > now else due)
            rows.append((ticket_id, target, policy, state, created, due, warn, stopped, minutes, elapsed, next_check,
                         now))
    return rows


def _parse(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def seed_clocks(database: BenchDatabase, settings) -> int:
    from helpdesk import db
    from helpdesk.sla.tables import Policy

    now = datetime.now(UTC)
    engine = db.configure(settings)
    await db.start(engine)
    try:
        policy_of = {row["name"]: row["id"] for row in await Policy.select(Policy.id, Policy.name).run()}
    finally:
        await db.stop(engine)
    select = "SELECT id, status, priority, created_at, first_response_at, solved_at FROM ticket ORDER BY id"
    if database.engine == "postgres":
        import asyncpg

        connection = await asyncpg.connect(database.url)
        try:
            tickets = [tuple(row) for row in await connection.fetch(select)]
            rows = clock_rows(tickets, policy_of, now)
            await connection.copy_records_to_table("sla_clock", records=rows, columns=list(CLOCK_COLUMNS))
            await connection.execute("VACUUM ANALYZE sla_clock")
        finally:
            await connection.close()
        return len(rows)
    connection = sqlite3.connect(str(settings.sqlite_path), isolation_level=None)
    try:
        tickets = [(i, s, p, _parse(c), _parse(f), _parse(d)) for i, s, p, c, f, d in connection.execute(select)]
        rows = clock_rows(tickets, policy_of, now)

        def stored(value):  # as Piccolo stores an aware datetime on SQLite: str() in UTC
            return str(value.astimezone(UTC)) if isinstance(value, datetime) else value

        names = ", ".join(CLOCK_COLUMNS)
        connection.execute("BEGIN")
        connection.executemany(f"INSERT INTO sla_clock ({names}) VALUES ({', '.join('?' for _ in CLOCK_COLUMNS)})",
                               ([stored(v) for v in row] for row in rows))
        connection.execute("COMMIT")  # no ANALYZE: the app never runs one (as in bench/api.py)
    finally:
        connection.close()
    return len(rows)


async def define(settings) -> None:
    from bench.sla import define_policies
    from helpdesk import db

    engine = db.configure(settings)
    await db.start(engine)
    try:
        await define_policies(datetime.now(UTC))
    finally:
        await db.stop(engine)


ENDPOINTS = {
    "summary": ("/api/dashboard/summary", {"days": 30}),
    "summary_team": ("/api/dashboard/summary", {"days": 30, "team_id": 1}),
    "by_team": ("/api/dashboard/breakdown", {"by": "team", "days": 30}),
    "by_agent": ("/api/dashboard/breakdown", {"by": "agent", "days": 30}),
    "series_30d": ("/api/dashboard/series", {"days": 30}),
    "series_90d": ("/api/dashboard/series", {"days": 90}),
    "breached": ("/api/dashboard/tickets", {"state": "breached", "limit": 50}),
    "at_risk": ("/api/dashboard/tickets", {"state": "at_risk", "limit": 50}),
}


def measure(base: str, secret: str, requests: int) -> dict[str, dict[str, float]]:
    import httpx

    warmup = min(10, requests)
    figures: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=120) as client:
        figures["health"] = _figures(run_series(client, "health", [("/healthz", None)] * (warmup + requests),
                                                warmup=warmup))
        for name, (path, params) in ENDPOINTS.items():
            series = run_series(client, name, [(path, params)] * (warmup + requests), warmup=warmup)
            figures[name] = _figures(series)
        summary = client.get("/api/dashboard/summary", params={"days": 30}).json()
        log(f"  summary: backlog {summary['open_backlog']:,}, breached {summary['breached']:,}, "
            f"30-day compliance {summary['compliance_30d']['percent']} % of {summary['compliance_30d']['measured']:,}")
    return figures


SERVICE_CALLS = {
    "summary": ("summary", {"days": 30}),
    "summary_team": ("summary", {"days": 30, "team_id": 1}),
    "by_team": ("breakdown", {"by": "team", "days": 30}),
    "by_agent": ("breakdown", {"by": "agent", "days": 30}),
    "series_30d": ("series", {"days": 30}),
    "series_90d": ("series", {"days": 90}),
    "breached": ("risk_tickets", {"state": "breached", "limit": 50}),
    "at_risk": ("risk_tickets", {"state": "at_risk", "limit": 50}),
}


async def measure_queries(settings, requests: int) -> dict[str, dict[str, float]]:
    """The same figures in-process: the service calls alone (their SQL), no HTTP, JSON or auth."""
    from bench.api import Series
    from helpdesk import db
    from helpdesk.actors import SYSTEM
    from helpdesk.dashboard import service
    from helpdesk.dashboard.sql import Filters

    engine = db.configure(settings)
    await db.start(engine)
    figures = {}
    try:
        for name, (function, params) in SERVICE_CALLS.items():
            params = dict(params)
            filters = Filters(team_id=params.pop("team_id", None))
            call = getattr(service, function)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                await call(SYSTEM, filters, now=datetime.now(UTC), **params)
                times.append((time.perf_counter() - started) * 1000)
            series = Series(f"{name} (queries)", times)
            log("  " + series.summary())
            figures[name] = _figures(series)
    finally:
        await db.stop(engine)
    return figures


def _figures(series) -> dict[str, float]:
    return {"p50": series.pct(50), "p99": series.pct(99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per endpoint")
    parser.add_argument("--quiet-wait", type=float, default=0, help="wait up to S seconds for the load to drop")
    args = parser.parse_args()
    database = BenchDatabase(args.engine)
    try:
        settings = database.settings()
        secret, agent_ids, team_of_agent = asyncio.run(prepare(settings))
        seed(database, settings, args.tickets, agent_ids, team_of_agent, sqlite_analyze=False)
        asyncio.run(define(settings))
        started = time.monotonic()
        clocks = asyncio.run(seed_clocks(database, settings))
        log(f"seeded {clocks:,} clocks in {time.monotonic() - started:.1f} s")
        if args.quiet_wait:
            wait_for_quiet(1.5, args.quiet_wait)
        process, base = start_server(database, [])
        try:
            load_before = loadavg()
            figures = measure(base, secret, args.requests)
        finally:
            stop_server(process)
        query_figures = asyncio.run(measure_queries(settings, args.requests))
        load_after = loadavg()
    finally:
        database.close(keep=False)
    print(json.dumps({"bench": "dashboard", "engine": args.engine, "tickets": args.tickets, "clocks": clocks,
                      "requests": args.requests, "ms": figures, "queries_ms": query_figures, "load_before": load_before, "load_after": load_after,
                      "date": datetime.now(UTC).isoformat(timespec="minutes")}))


if __name__ == "__main__":
    main()
