"""SLA policies evaluated against a ticket snapshot at an instant (pure; the clock is a parameter).

Targets:
* first_response — from the ticket's creation to the first agent reply that was delivered;
* next_response — from the first customer mail after our latest delivered reply to our next one;
* resolution — from creation until the ticket is solved (solved/closed time does not count).
Solving a ticket also stops its response clocks (as the big helpdesks do): a ticket closed
without a reply (spam, a duplicate, a "thanks!") is measured up to the solve, not left running.
Each target's time runs in the policy's business calendar and stands still while the ticket is
in one of the policy's pause statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.sla.calendar import BusinessCalendar, Interval, first_windows, measure

TARGETS = ("first_response", "next_response", "resolution")
EXPLAINED_WINDOWS = 200  # a clock keeps its first windows, enough to show how its due time came about
DONE_STATUSES = frozenset({"solved", "closed"})


@dataclass(frozen=True)
class Conditions:
    """Empty means "any"; all given conditions must hold."""

    priorities: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    team_ids: frozenset[int] = frozenset()
    mailbox_ids: frozenset[int] = frozenset()
    tags: frozenset[str] = frozenset()  # the ticket has at least one of them
    channels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Escalation:
    level: str  # "warning", "breach", or "breach+N" (N minutes after the breach)
    actions: tuple[dict, ...]

    @property
    def minutes_after_breach(self) -> int | None:
        if self.level.startswith("breach+"):
            return int(self.level.split("+", 1)[1])
        return 0 if self.level == "breach" else None


@dataclass(frozen=True)
class Policy:
    id: int
    name: str
    conditions: Conditions
    targets: dict[str, dict[str, int]]  # priority → target → minutes of business time
    pause_statuses: frozenset[str] = frozenset({"pending", "on_hold"})
    warn_percent: int | None = 80
    warn_minutes_before: int | None = None
    escalations: tuple[Escalation, ...] = ()


@dataclass(frozen=True)
class TicketSnapshot:
    id: int
    priority: str
    status: str
    channel: str
    created_at: datetime
    tier: str | None = None
    team_id: int | None = None
    mailbox_id: int | None = None
    tags: frozenset[str] = frozenset()
    status_changes: tuple[tuple[datetime, str], ...] = ()  # (when, new status), oldest first
    customer_messages: tuple[datetime, ...] = ()
    replies_delivered: tuple[datetime, ...] = ()  # agent replies actually sent


@dataclass(frozen=True)
class ClockState:
    target: str
    started_at: datetime
    target_minutes: int
    state: str  # running, paused, met, breached
    due_at: datetime | None  # None while paused
    warn_at: datetime | None
    stopped_at: datetime | None
    elapsed: timedelta  # business time used so far (excluding pauses)
    paused: tuple[Interval, ...] = field(default=())
    windows: tuple[Interval, ...] = field(default=())  # the first EXPLAINED_WINDOWS calendar windows counted


def matches(conditions: Conditions, ticket: TicketSnapshot) -> bool:
    return (
        (not conditions.priorities or ticket.priority in conditions.priorities)
        and (not conditions.tiers or ticket.tier in conditions.tiers)
        and (not conditions.team_ids or ticket.team_id in conditions.team_ids)
        and (not conditions.mailbox_ids or ticket.mailbox_id in conditions.mailbox_ids)
        and (not conditions.tags or bool(conditions.tags & ticket.tags))
        and (not conditions.channels or ticket.channel in conditions.channels)
    )


def choose_policy(policies: Sequence[Policy], ticket: TicketSnapshot) -> Policy | None:
    """The first matching policy in order wins."""
    return next((policy for policy in policies if matches(policy.conditions, ticket)), None)


def status_intervals(ticket: TicketSnapshot, statuses: frozenset[str], *, until: datetime) -> list[Interval]:
    """When the ticket was in one of ``statuses`` (an ongoing stretch ends at ``until``)."""
    intervals: list[Interval] = []
    current, since = "new", ticket.created_at
    for when, status in (*ticket.status_changes, (until, "")):
        if current in statuses and when > since:
            intervals.append((since, min(when, until)))
        current, since = status, when
    return [interval for interval in intervals if interval[0] < interval[1]]


def _target_span(target: str, ticket: TicketSnapshot, now: datetime) -> tuple[datetime, datetime | None] | None:
    """(start, stop or None while running) for a target, or None when it does not apply now."""
    done = _done_at(ticket) if ticket.status in DONE_STATUSES else None
    if target == "first_response":
        return ticket.created_at, _earliest(min(ticket.replies_delivered, default=None), done)
    if target == "resolution":
        return ticket.created_at, done
    last_reply = max(ticket.replies_delivered, default=None)
    waiting = [moment for moment in ticket.customer_messages if last_reply and moment > last_reply]
    # Only while the customer waits on us after we answered once (before that, first_response runs).
    if not waiting:
        return None
    start = min(waiting)
    return start, max(done, start) if done else None


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((moment for moment in moments if moment is not None), default=None)


def _done_at(ticket: TicketSnapshot) -> datetime:
    done = [when for when, status in ticket.status_changes if status in DONE_STATUSES]
    return done[-1] if done else ticket.created_at


def evaluate(policy: Policy, calendar: BusinessCalendar, ticket: TicketSnapshot, now: datetime) -> list[ClockState]:
    targets = policy.targets.get(ticket.priority, {})
    clocks = []
    for target in TARGETS:
        minutes = targets.get(target)
        span = _target_span(target, ticket, now) if minutes else None
        if span is None:
            continue
        clocks.append(_clock(policy, calendar, ticket, target, minutes, span, now))
    return clocks


def _clock(policy: Policy, calendar: BusinessCalendar, ticket: TicketSnapshot, target: str, minutes: int,
           span: tuple[datetime, datetime | None], now: datetime) -> ClockState:
    start, stop = span
    end = stop or now
    pause_statuses = policy.pause_statuses | (DONE_STATUSES if target == "resolution" else frozenset())
    paused = [(max(a, start), b) for a, b in status_intervals(ticket, pause_statuses, until=end) if b > start]
    budget = timedelta(minutes=minutes)
    paused_now = stop is None and ticket.status in pause_statuses
    # The due time, and the warning time while the clock runs, in the same pass as the elapsed time.
    budgets = [] if paused_now else [budget]
    if stop is None and not paused_now and policy.warn_percent:
        budgets.append(budget * policy.warn_percent / 100)
    elapsed, reached = measure(calendar, start, end, budgets, paused)
    due = reached[0] if reached else None
    if stop is not None:
        state = "met" if elapsed <= budget else "breached"
    elif paused_now:
        state = "paused"
    else:
        state = "breached" if due is not None and due <= now else "running"
    warn = None
    if due is not None and stop is None:
        candidates = reached[1:]
        if policy.warn_minutes_before:
            candidates.append(due - timedelta(minutes=policy.warn_minutes_before))
        warn = min(candidates) if candidates else None
    counted_until = stop or due or now
    return ClockState(
        target=target, started_at=start, target_minutes=minutes, state=state, due_at=due, warn_at=warn,
        stopped_at=stop, elapsed=elapsed, paused=tuple(paused),
        windows=tuple(first_windows(calendar, start, counted_until, EXPLAINED_WINDOWS)),
    )


def due_levels(policy: Policy, clock: ClockState, now: datetime) -> list[Escalation]:
    """The escalation levels whose time has come for a running clock."""
    if clock.stopped_at is not None or clock.due_at is None:
        return []
    reached = []
    for escalation in policy.escalations:
        after = escalation.minutes_after_breach
        at = clock.warn_at if after is None else clock.due_at + timedelta(minutes=after)
        if at is not None and at <= now:
            reached.append(escalation)
    return reached


def next_check(policy: Policy, clock: ClockState, fired: set[str]) -> datetime | None:
    """The next instant at which something may happen to this clock (for the due-time index)."""
    if clock.stopped_at is not None or clock.due_at is None:
        return None
    moments = []
    for escalation in policy.escalations:
        if escalation.level in fired:
            continue
        after = escalation.minutes_after_breach
        moments.append(clock.warn_at if after is None else clock.due_at + timedelta(minutes=after))
    return min((moment for moment in moments if moment is not None), default=None)
