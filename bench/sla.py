"""SLA engine benchmark: a full recompute of every open ticket's clocks, and an incremental tick.

    .venv/bin/python bench/sla.py [--tickets N] [--engine sqlite|postgres] [--changed K]

Seeds N open tickets of the last three weeks (new, open, pending, on hold; tags, messages,
delivered replies and status history as the API benchmark's seeder makes them), defines two
calendars (24/7 UTC and Berlin office hours with German holidays) and three policies, then times:
  - recompute_s: the full recompute in the first scheduler tick (every open ticket's clocks,
    computed and stored); first_tick_s adds the escalations already due that the same tick fires
    (one transaction each, at most one batch of due tickets per tick);
  - backlog_s: up to --drain-ticks ticks after it that fire the escalation backlog a first start
    finds (what is still due then is recorded as fired in bulk, see settle_backlog);
  - recompute_again_s: a full recompute when every clock is already stored (a restart): every
    clock computed and compared with its row, only changed ones written;
  - policy_edit_s: the full recompute after an edit of the Standard policy's targets, which
    rewrites every clock it governs (policy_edit_clocks);
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

from bench.api import BenchDatabase, log, prepare  # noqa: E402


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


async def edit_standard_policy(now: datetime) -> int:
    """Shorten the Standard policy's first-response target; returns how many clocks that moves."""
    import msgspec

    from helpdesk.actors import SYSTEM
    from helpdesk.sla import service as sla
    from helpdesk.sla.schemas import PolicyUpdate
    from helpdesk.sla.tables import SlaClock

    standard = next(policy for policy in await sla.list_policies() if policy.name == "Standard")
    targets = {priority: {**minutes, "first_response": minutes["first_response"] - 60}
               for priority, minutes in standard.targets.items()}
    await sla.update_policy(SYSTEM, standard.id, msgspec.convert({"targets": targets}, PolicyUpdate), now=now)
    return await SlaClock.count().where((SlaClock.policy == standard.id) & (SlaClock.target == "first_response")).run()


async def settle_backlog(now: datetime) -> int:
    """Record the escalation levels still due as fired, in bulk, without running their actions.

    A first start on a large backlog finds thousands of breaches, and each fires in its own
    transaction (measured above, for a few ticks); the rest is settled here so that the
    incremental ticks measure the steady state, not the backlog.
    """
    from helpdesk import db
    from helpdesk.sla import policy as rules
    from helpdesk.sla import service
    from helpdesk.sla.tables import SlaClock

    policies = await service.PolicySet.load(now=now)
    ids = [row["ticket"] for row in await SlaClock.select(SlaClock.ticket).where(
        SlaClock.next_check_at <= now).run()]
    ids = list(dict.fromkeys(ids))
    settled = 0
    for start in range(0, len(ids), 1000):
        batch = ids[start:start + 1000]
        evaluations = await service.evaluate_many(batch, policies, now=now)
        rows = [(e.ticket_id, clock.target, level.level, now, "[]")
                for e in evaluations.values() if e.policy for clock in e.clocks
                for level in rules.due_levels(e.policy, clock, now) if level.level not in e.fired.get(clock.target, ())]
        async with db.unit_of_work():
            await db.execute_many("INSERT INTO sla_escalation (ticket, target, level, fired_at, actions) "
                                  "VALUES ({}, {}, {}, {}, {}) ON CONFLICT DO NOTHING", rows)
            await service.recompute_many(batch, policies, now=now)  # next checks move past what is recorded
        settled += len(rows)
    return settled


async def measure(settings, changed: int, rounds: int, drain_limit: int) -> dict[str, float]:
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
        first_tick_s = time.perf_counter() - started
        recompute_s = first["recompute_s"]
        clocks = await SlaClock.count().run()
        log(f"first tick {first_tick_s:.2f} s: full recompute of {first['recomputed']:,} open tickets "
            f"({clocks:,} clocks) {recompute_s:.2f} s, then {first['fired']:,} escalations of "
            f"{first['due']:,} due tickets {first['escalate_s']:.2f} s")
        started, fired, drain_ticks = time.perf_counter(), first["fired"], 0
        while drain_ticks < drain_limit:
            clock.advance(timedelta(seconds=1))
            drained = await runner.tick()
            if not drained["fired"]:
                break
            fired, drain_ticks = fired + drained["fired"], drain_ticks + 1
        drain_s = time.perf_counter() - started
        settled = await settle_backlog(clock.now())
        log(f"escalation backlog: {fired:,} fired in {drain_ticks} more ticks, {drain_s:.2f} s; "
            f"{settled:,} still due recorded as fired without running their actions")
        # A fresh scheduler recomputes everything again, now against stored clocks (as after a
        # restart), a little later: a running clock's row does not change with time alone.
        clock.advance(timedelta(seconds=10))
        again = await SlaRunner(clock).tick()
        recompute_again_s = again["recompute_s"]
        log(f"full recompute with stored clocks: {recompute_again_s:.2f} s ({again['written']:,} tickets' clocks written)")
        # A policy edit that moves the due time of every clock under the busiest policy.
        clock.advance(timedelta(seconds=10))
        edited = await edit_standard_policy(clock.now())
        policy_edit_s = (await runner.tick())["recompute_s"]
        log(f"full recompute after a policy edit ({edited:,} clocks rewritten): {policy_edit_s:.2f} s")
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
                "first_tick_s": round(first_tick_s, 3), "first_tick_escalations_s": round(first["escalate_s"], 3),
                "tick_max_ms": round(max(ticks), 1), "open_recomputed": first["recomputed"], "clocks": clocks,
                "escalations_fired": fired, "backlog_ticks": drain_ticks, "backlog_s": round(drain_s, 3),
                "escalations_settled": settled,
                "recompute_again_s": round(recompute_again_s, 3), "policy_edit_s": round(policy_edit_s, 3),
                "policy_edit_clocks": edited}
    finally:
        await db.stop(engine)


def seed_open_tickets(database: BenchDatabase, settings, tickets: int, agent_ids: list[int],
                      team_of_agent: dict[int, int]) -> None:
    import sqlite3

    from bench import _seed

    plan = _seed.Plan(tickets=tickets, agent_ids=agent_ids, team_of_agent=team_of_agent, open_only=True)
    log(f"seeding {tickets:,} open tickets, {plan.contacts:,} contacts, {plan.accounts:,} accounts ({database.engine})")
    if database.engine == "postgres":
        seeded = asyncio.run(_seed.seed_postgres(database.url, plan, log))
    else:
        seeded = _seed.seed_sqlite(str(settings.sqlite_path), plan, log)
        with sqlite3.connect(str(settings.sqlite_path)) as connection:
            connection.execute("ANALYZE")
    log(f"seeded in {seeded.seconds:.1f} s: " + ", ".join(f"{table} {count:,}" for table, count in seeded.rows.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000, help="open tickets to seed")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--changed", type=int, default=20, help="tickets changed before each incremental tick")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--drain-ticks", type=int, default=3,
                        help="ticks that fire the escalation backlog before the rest is settled in bulk")
    args = parser.parse_args()
    database = BenchDatabase(args.engine)
    try:
        settings = database.settings()
        _, agent_ids, team_of_agent = asyncio.run(prepare(settings))
        seed_open_tickets(database, settings, args.tickets, agent_ids, team_of_agent)
        figures = asyncio.run(measure(settings, args.changed, args.rounds, args.drain_ticks))
    finally:
        database.close(keep=False)
    print(json.dumps({"bench": "sla", "tickets": args.tickets, "recompute_s": figures["recompute_s"],
                      "tick_ms": figures["tick_ms"], "engine": args.engine, "changed_per_tick": args.changed,
                      **{k: v for k, v in figures.items() if k not in ("recompute_s", "tick_ms")}}))


if __name__ == "__main__":
    main()
