"""SLA engine benchmark: a full recompute of every open ticket's clocks, and an incremental tick.

    .venv/bin/python bench/sla.py [--tickets N] [--engine sqlite|postgres] [--changed K]

Seeds N tickets (about two thirds open) with the API benchmark's seeder, defines two calendars
(24/7 UTC and Berlin office hours with German holidays) and three policies, then times:
  - recompute_s: the first scheduler tick, which recomputes every open ticket;
  - tick_ms: a later tick after K tickets changed (the incremental path the scheduler runs).
The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import BenchDatabase, log, prepare, seed  # noqa: E402


async def define_policies(now: datetime) -> None:
    import msgspec

    from helpdesk.actors import SYSTEM
    from helpdesk.sla import service as sla
    from helpdesk.sla.schemas import CalendarCreate, PolicyCreate

    always = await sla.create_calendar(SYSTEM, CalendarCreate(name="24/7", always_open=True), now=now)
    office = await sla.create_calendar(SYSTEM, msgspec.convert({
        "name": "Berlin office", "tz": "Europe/Berlin", "holiday_country": "DE",
        "weekly": {str(day): [["09:00", "12:00"], ["13:00", "17:00"]] for day in range(5)}}, CalendarCreate), now=now)
    policies = [
        {"name": "Enterprise", "position": 1, "calendar_id": always.id, "conditions": {"tiers": ["enterprise"]},
         "targets": {p: {"first_response": 60, "next_response": 120, "resolution": 1440}
                     for p in ("low", "normal", "high", "urgent")},
         "escalations": [{"level": "breach", "actions": [{"type": "add_tag", "tag": "sla-breach"}]}]},
        {"name": "Urgent", "position": 2, "calendar_id": always.id, "conditions": {"priorities": ["urgent", "high"]},
         "targets": {p: {"first_response": 30, "resolution": 480} for p in ("high", "urgent")}},
        {"name": "Standard", "position": 3, "calendar_id": office.id, "warn_percent": 75,
         "targets": {p: {"first_response": 480, "next_response": 480, "resolution": 2400}
                     for p in ("low", "normal")}},
    ]
    for policy in policies:
        await sla.create_policy(SYSTEM, msgspec.convert(policy, PolicyCreate), now=now)


async def measure(settings, changed: int, rounds: int) -> dict[str, float]:
    from helpdesk import db
    from helpdesk.clock import FrozenClock
    from helpdesk.sla.runner import SlaRunner
    from helpdesk.sla.tables import SlaClock
    from helpdesk.tickets.tables import Ticket

    engine = db.configure(settings)
    await db.start(engine)
    try:
        now = datetime.now(UTC)
        await define_policies(now)
        clock = FrozenClock(now + timedelta(minutes=1))  # the policies were written just before
        runner = SlaRunner(clock)
        started = time.perf_counter()
        first = await runner.tick()
        recompute_s = time.perf_counter() - started
        clocks = await SlaClock.count().run()
        log(f"full recompute: {first['recomputed']:,} open tickets, {clocks:,} clocks in {recompute_s:.2f} s")
        open_ids = [row["id"] for row in await Ticket.select(Ticket.id).where(
            Ticket.status.is_in(["new", "open"])).limit(changed * rounds).run()]
        ticks = []
        for round_number in range(rounds):
            clock.advance(timedelta(seconds=10))
            batch = open_ids[round_number * changed:(round_number + 1) * changed]
            await Ticket.update({Ticket.updated_at: clock.now()}).where(Ticket.id.is_in(batch or [0])).run()
            started = time.perf_counter()
            await runner.tick()
            ticks.append((time.perf_counter() - started) * 1000)
        return {"recompute_s": round(recompute_s, 3), "tick_ms": round(statistics.median(ticks), 1),
                "tick_max_ms": round(max(ticks), 1), "open_recomputed": first["recomputed"], "clocks": clocks}
    finally:
        await db.stop(engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--changed", type=int, default=20, help="tickets changed before each incremental tick")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    database = BenchDatabase(args.engine)
    try:
        settings = database.settings()
        _, agent_ids, team_of_agent = asyncio.run(prepare(settings))
        seed(database, settings, args.tickets, agent_ids, team_of_agent, sqlite_analyze=True)
        figures = asyncio.run(measure(settings, args.changed, args.rounds))
    finally:
        database.close(keep=False)
    print(json.dumps({"bench": "sla", "tickets": args.tickets, "recompute_s": figures["recompute_s"],
                      "tick_ms": figures["tick_ms"], "engine": args.engine, "changed_per_tick": args.changed,
                      **{k: v for k, v in figures.items() if k not in ("recompute_s", "tick_ms")}}))


if __name__ == "__main__":
    main()
