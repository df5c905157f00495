"""A seeded desk for the dashboard tests, and the dashboard's figures worked out in plain Python
from the same rows (the definitions in helpdesk/dashboard/service.py, without any SQL)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from helpdesk.actors import SYSTEM
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import TeamCreate
from helpdesk.sla.tables import Calendar, Policy, SlaClock
from helpdesk.tickets.tables import Ticket

OPEN = ("new", "open", "pending", "on_hold")
SUBJECTS = ["Cannot log in", "Invoice shows the wrong VAT", "Export times out", "Refund for a duplicate charge",
            "Webhook deliveries failing", "Two-factor codes not arriving", "Order has not arrived"]
DAY = timedelta(days=1)


@dataclass
class SeedTicket:
    id: int
    status: str
    team: int | None
    assignee: int | None
    created_at: datetime
    solved_at: datetime | None


@dataclass
class SeedClock:
    ticket: SeedTicket
    target: str
    policy: int
    target_minutes: int
    elapsed_seconds: int
    due_at: datetime | None
    stopped_at: datetime | None

    @property
    def met(self) -> bool:
        return self.stopped_at is not None and self.elapsed_seconds <= self.target_minutes * 60

    @property
    def decided_at(self) -> datetime | None:
        return self.stopped_at if self.met else self.due_at


@dataclass
class Seeded:
    now: datetime
    team_ids: list[int]
    agent_ids: list[int]
    policy_ids: list[int]
    tickets: list[SeedTicket]
    clocks: list[SeedClock]


def _jitter(rng: random.Random, low_s: float, high_s: float) -> timedelta:
    # Half seconds: no seeded instant can fall exactly on a window edge (those are whole seconds).
    return timedelta(seconds=rng.randint(int(low_s), int(high_s)) + 0.5)


async def seed(agent_ids: list[int], now: datetime, *, tickets: int = 90, seed_value: int = 7,
               on_time: float = 0.0) -> Seeded:
    """Tickets over the last 40 days in two teams, each with a first-response and a resolution clock;
    ``on_time`` is the share of stopped clocks forced within their budget (the rest fall anywhere)."""
    rng = random.Random(seed_value)
    teams = [(await auth.create_team(SYSTEM, TeamCreate(name=name, member_ids=agent_ids), now=now)).id
             for name in ("Support", "Billing")]
    [calendar] = await Calendar.insert(Calendar(name="24/7", always_open=True, created_at=now, updated_at=now)).run()
    policies = []
    for name in ("Standard", "Premium"):
        [row] = await Policy.insert(Policy(name=name, calendar=calendar["id"], targets={}, created_at=now,
                                           updated_at=now)).run()
        policies.append(row["id"])
    seeded_tickets: list[SeedTicket] = []
    clocks: list[SeedClock] = []
    for number in range(tickets):
        created = now - _jitter(rng, 60, 40 * 86400)
        solved = created + _jitter(rng, 600, 5 * 86400) if rng.random() < 0.6 else None
        if solved is not None and solved > now:
            solved = None
        status = "solved" if solved else rng.choice(OPEN)
        team = rng.choice([*teams, None])
        assignee = rng.choice([*agent_ids, None])
        [row] = await Ticket.insert(Ticket(subject=f"{rng.choice(SUBJECTS)} ({number})", status=status, team=team,
                                           assignee=assignee, created_at=created, updated_at=solved or created,
                                           solved_at=solved)).run()
        ticket = SeedTicket(row["id"], status, team, assignee, created, solved)
        seeded_tickets.append(ticket)
        policy = rng.choice(policies)
        for target, minutes in (("first_response", 60), ("resolution", 480)):
            clocks.append(_clock(rng, ticket, target, policy, minutes, now, on_time))
    await SlaClock.delete().where(SlaClock.id > 0).run()  # only the clocks written below
    await SlaClock.insert(*[SlaClock(
        ticket=clock.ticket.id, target=clock.target, policy=clock.policy, state="seeded",
        started_at=clock.ticket.created_at, due_at=clock.due_at, stopped_at=clock.stopped_at,
        target_minutes=clock.target_minutes, elapsed_seconds=clock.elapsed_seconds, computed_at=now)
        for clock in clocks]).run()
    return Seeded(now, teams, agent_ids, policies, seeded_tickets, clocks)


def _clock(rng: random.Random, ticket: SeedTicket, target: str, policy: int, minutes: int, now: datetime,
           on_time: float) -> SeedClock:
    budget = minutes * 60
    if ticket.solved_at is not None or rng.random() < 0.4:
        # Stopped: within the budget or over it; the business time used never exceeds the wall time.
        stopped = ticket.solved_at or min(now - timedelta(seconds=30.5), ticket.created_at + _jitter(rng, 60, 3 * budget))
        wall = int((stopped - ticket.created_at).total_seconds())
        elapsed = rng.randint(0, max(min(wall, budget) if rng.random() < on_time else wall, 1))
        due = ticket.created_at + timedelta(seconds=budget)
        return SeedClock(ticket, target, policy, minutes, elapsed, due, stopped)
    if rng.random() < 0.15:  # paused: no due time
        return SeedClock(ticket, target, policy, minutes, rng.randint(0, budget), None, None)
    # Running: due from two hours ago to an hour ahead, or long past.
    due = now + _jitter(rng, -2 * 3600, 3600) if rng.random() < 0.7 else ticket.created_at + timedelta(seconds=budget)
    return SeedClock(ticket, target, policy, minutes, rng.randint(0, budget), due, None)


# ---------------------------------------------------------------- the figures, in Python


def nearest_rank(values: list[int], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(fraction * len(ordered)) - 1] / 60, 2)


def percent(met: int, measured: int) -> float | None:
    return round(100 * met / measured, 2) if measured else None


def day_start(now: datetime, days: int) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - (days - 1) * DAY


def decided_between(clocks: list[SeedClock], start: datetime, now: datetime) -> list[SeedClock]:
    return [c for c in clocks if c.decided_at is not None and start <= c.decided_at <= now]


def compliance(clocks: list[SeedClock], start: datetime, now: datetime) -> dict:
    decided = decided_between(clocks, start, now)
    met = sum(c.met for c in decided)
    return {"measured": len(decided), "met": met, "percent": percent(met, len(decided))}


def first_responses(clocks: list[SeedClock], start: datetime, now: datetime) -> list[int]:
    return [c.elapsed_seconds for c in clocks
            if c.target == "first_response" and c.stopped_at is not None and start <= c.stopped_at <= now]


def risk(seeded: Seeded, clocks: list[SeedClock]) -> dict[str, list[tuple[datetime, int]]]:
    """Open tickets under their earliest running target due within the hour: (due, ticket id)."""
    earliest: dict[int, datetime] = {}
    for c in clocks:
        if c.stopped_at is None and c.due_at is not None and c.ticket.status in OPEN \
                and c.due_at <= seeded.now + timedelta(hours=1):
            earliest[c.ticket.id] = min(earliest.get(c.ticket.id, c.due_at), c.due_at)
    result: dict[str, list[tuple[datetime, int]]] = {"at_risk": [], "breached": []}
    for ticket_id, due in earliest.items():
        result["breached" if due <= seeded.now else "at_risk"].append((due, ticket_id))
    return {state: sorted(items) for state, items in result.items()}
