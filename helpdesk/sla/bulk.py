"""The clocks of many tickets at once: the rules of ``policy.py`` as array arithmetic (pure).

``policy.evaluate`` works on one ticket with datetimes and is the readable reference (the
ticket's SLA tab explains a clock with it). A recompute of every open ticket cannot afford
its per-clock Python, so this module computes the same stored values for a whole batch with
numpy: policy matching as masks, business time as bisects (``searchsorted``) on a calendar's
cached timeline, pauses as per-clock sums. Instants are int64 microseconds since the Unix
epoch (UTC), so results are exact to the microsecond, as the reference's are; the unit tests
compare both on generated tickets.

What is stored does not depend on "now" for a running clock: its due and warning times stay
put while nothing happens to the ticket, so a recompute rewrites only clocks whose ticket
changed. Its elapsed time (which grows) is left at 0 and computed when the clock is read;
paused and stopped clocks keep theirs. A running clock past its due time is still
``running`` here: "breached" is due time against now, which every reader compares itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from helpdesk.sla import policy as rules
from helpdesk.sla.calendar import BusinessCalendar, Timeline, timeline

MISSING = np.iinfo(np.int64).min  # "no instant" in a time column
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MINUTE_US = 60_000_000
_TARGET_CODES = {target: code for code, target in enumerate(rules.TARGETS)}
# Each clock's timeline reaches this far beyond its end (a due time further out widens it).
_HORIZON_FACTOR = 7
_HORIZON_MARGIN_US = 14 * 24 * 3600 * 1_000_000
_MAX_WIDENINGS = 4


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // _US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


@dataclass(frozen=True)
class Tickets:
    """A batch of tickets as columns (one entry per ticket, in ``ids`` order).

    Strings are numpy unicode arrays ("" for none), optional ids are -1 for none. Replies are
    the delivered agent replies; ``customer_after_reply`` is the first customer message after
    the latest of them (MISSING when none). ``changes_*`` are the status changes, grouped by
    ticket in ``ids`` order and by time within a ticket.
    """

    ids: np.ndarray
    priority: np.ndarray
    status: np.ndarray
    channel: np.ndarray
    tier: np.ndarray
    team: np.ndarray
    mailbox: np.ndarray
    created: np.ndarray
    first_reply: np.ndarray
    last_reply: np.ndarray
    customer_after_reply: np.ndarray
    changes_ticket: np.ndarray  # index into ids
    changes_at: np.ndarray
    changes_status: np.ndarray
    tags_ticket: np.ndarray  # index into ids
    tags: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Fired:
    """Escalation levels already fired, as columns: ticket id, target (index into
    ``policy.TARGETS``) and level."""

    ticket: np.ndarray
    target: np.ndarray
    level: np.ndarray

    @classmethod
    def of(cls, fired: Mapping[int, Mapping[str, Iterable[str]]]) -> Fired:
        rows = [(ticket, _TARGET_CODES[target], level) for ticket, targets in fired.items()
                for target, levels in targets.items() for level in levels]
        return cls(np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64),
                   np.array([r[2] for r in rows], str))

    def for_ticket(self, ticket_id: int) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for at in np.flatnonzero(self.ticket == ticket_id).tolist():
            found.setdefault(rules.TARGETS[self.target[at]], set()).add(str(self.level[at]))
        return found

    def tickets_with(self, target: str, level: str) -> np.ndarray:
        return self.ticket[(self.target == _TARGET_CODES[target]) & (self.level == level)]


STATES = ("running", "paused", "met", "breached")
RUNNING, PAUSED, MET, BREACHED = range(len(STATES))


@dataclass(frozen=True)
class Clocks:
    """Computed clocks as columns: ``target`` indexes ``policy.TARGETS``, ``state`` indexes
    ``STATES``, ``policy`` is a policy id; times are MISSING when absent."""

    ticket: np.ndarray
    target: np.ndarray
    policy: np.ndarray
    state: np.ndarray
    started: np.ndarray
    due: np.ndarray
    warn: np.ndarray
    stopped: np.ndarray
    minutes: np.ndarray
    elapsed_s: np.ndarray
    next_check: np.ndarray

    def __len__(self) -> int:
        return len(self.ticket)

    def where(self, mask: np.ndarray) -> Clocks:
        return Clocks(*(getattr(self, name)[mask] for name in Clocks.__dataclass_fields__))

    def digests(self) -> np.ndarray:
        """A 64-bit digest (as int64) of every stored value of each clock: equal values, equal digest."""
        digest = np.zeros(len(self), np.uint64)
        for column in (self.policy, self.state, self.started, self.due, self.warn, self.stopped, self.minutes,
                       self.elapsed_s, self.next_check):
            digest = _mix(digest ^ column.astype(np.int64).view(np.uint64))
        return digest.view(np.int64)


def _mix(values: np.ndarray) -> np.ndarray:
    # splitmix64's finaliser: every input bit moves every output bit.
    with np.errstate(over="ignore"):
        values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))


class CalendarTimelines:
    """Each calendar's timeline as arrays of microseconds, built once and widened on demand."""

    def __init__(self, calendars: Mapping[int, BusinessCalendar]):
        self._calendars = calendars
        self._arrays: dict[int, tuple[Timeline, _TimelineArrays]] = {}

    def covering(self, calendar_id: int, lo: int, hi: int) -> _TimelineArrays | None:
        known = self._arrays.get(calendar_id)
        if known is not None and known[1].lo <= lo and hi <= known[1].hi:
            return known[1]
        found = timeline(self._calendars[calendar_id], from_us(lo), from_us(hi))
        if found is None:
            return None
        if known is None or known[0] is not found:
            self._arrays[calendar_id] = (found, _TimelineArrays(found))
        return self._arrays[calendar_id][1]


class _TimelineArrays:
    __slots__ = ("lo", "hi", "opens", "closes", "before", "through")

    def __init__(self, found: Timeline):
        self.lo, self.hi = to_us(found.lo), to_us(found.hi)
        self.opens = np.array([to_us(moment) for moment in found.opens], np.int64)
        self.closes = np.array([to_us(moment) for moment in found.closes], np.int64)
        self.before = np.array([amount // _US for amount in found.before], np.int64)
        self.through = np.array([amount // _US for amount in found.through], np.int64)

    def business_until(self, moments: np.ndarray) -> np.ndarray:
        """Business time in ``[lo, moment)`` for each moment (``Timeline.business_until``)."""
        index = np.searchsorted(self.opens, moments, side="right") - 1
        safe = np.maximum(index, 0)
        if not len(self.opens):
            return np.zeros(len(moments), np.int64)
        inside = self.before[safe] + np.minimum(moments, self.closes[safe]) - self.opens[safe]
        return np.where(index < 0, 0, inside)

    def instant_reaching(self, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(instants, beyond): ``Timeline.instant_reaching`` per amount; ``beyond`` marks amounts
        the timeline does not reach (its caller widens it)."""
        index = np.searchsorted(self.through, amounts, side="left")
        beyond = index >= len(self.through)
        safe = np.minimum(index, max(len(self.through) - 1, 0))
        if not len(self.through):
            return np.zeros(len(amounts), np.int64), np.ones(len(amounts), bool)
        return self.closes[safe] - (self.through[safe] - amounts), beyond


def compute(policies: Sequence[rules.Policy], calendar_of: Mapping[int, int], timelines: CalendarTimelines,
            tickets: Tickets, fired: Fired, now: int) -> tuple[Clocks, np.ndarray]:
    """The clocks of ``tickets`` at ``now``, and the ids of tickets this could not compute (their
    calendar has no timeline that far; the caller computes them with ``policy.evaluate``)."""
    chosen = _choose_policies(policies, tickets)
    parts: list[Clocks] = []
    left_out: list[np.ndarray] = []
    segments = _Segments(tickets)
    done_at = _done_at(tickets)
    for number, policy in enumerate(policies):
        members = np.flatnonzero(chosen == number)
        if not len(members):
            continue
        for target in rules.TARGETS:
            group = _target_group(policy, target, tickets, members, done_at)
            if group is None:
                continue
            clocks, beyond = _group_clocks(policy, target, group, tickets, segments,
                                           timelines, calendar_of[policy.id], fired, now)
            parts.append(clocks)
            left_out.append(beyond)
    return concatenate(parts), np.unique(np.concatenate(left_out)) if left_out else np.empty(0, np.int64)


def _choose_policies(policies: Sequence[rules.Policy], tickets: Tickets) -> np.ndarray:
    """The position of each ticket's first matching policy, -1 for none."""
    chosen = np.full(len(tickets), -1, np.int64)
    for number, policy in enumerate(policies):
        match = chosen < 0
        conditions = policy.conditions
        for values, wanted in ((tickets.priority, conditions.priorities), (tickets.tier, conditions.tiers),
                               (tickets.team, conditions.team_ids), (tickets.mailbox, conditions.mailbox_ids),
                               (tickets.channel, conditions.channels)):
            if wanted:
                match &= np.isin(values, list(wanted))
        if conditions.tags:
            tagged = tickets.tags_ticket[np.isin(tickets.tags, list(conditions.tags))]
            match &= np.isin(np.arange(len(tickets)), tagged)
        chosen[match] = number
    return chosen


class _Segments:
    """Each ticket's status history as segments ``[start, end)`` with a status: "new" from its
    creation, then one per change (the last one open-ended)."""

    def __init__(self, tickets: Tickets):
        count = len(tickets)
        # Per ticket: its creation segment first, then its changes (already grouped and ordered).
        ticket = np.concatenate([np.arange(count), tickets.changes_ticket])
        rank = np.concatenate([np.zeros(count, np.int64), np.arange(1, len(tickets.changes_ticket) + 1)])
        order = np.lexsort((rank, ticket))
        self.ticket = ticket[order]
        self.start = np.concatenate([tickets.created, tickets.changes_at])[order]
        self.status = np.concatenate([np.full(count, "new"), tickets.changes_status])[order]
        last = np.append(self.ticket[1:] != self.ticket[:-1], True)
        self.end = np.where(last, np.iinfo(np.int64).max, np.append(self.start[1:], 0))


def _done_at(tickets: Tickets) -> np.ndarray:
    """When each solved or closed ticket was last solved or closed (``policy._done_at``); MISSING
    for a ticket not done now."""
    done = tickets.created.copy()
    changed = np.isin(tickets.changes_status, list(rules.DONE_STATUSES))
    # Changes are ordered by time within a ticket, so the last write per ticket wins.
    done[tickets.changes_ticket[changed]] = tickets.changes_at[changed]
    return np.where(np.isin(tickets.status, list(rules.DONE_STATUSES)), done, MISSING)


@dataclass(frozen=True)
class _Group:
    """The tickets of one policy that have a clock for one target, and its span."""

    members: np.ndarray  # ticket indexes
    minutes: np.ndarray
    start: np.ndarray
    stop: np.ndarray  # MISSING while running


def _target_group(policy: rules.Policy, target: str, tickets: Tickets, members: np.ndarray,
                  done_at: np.ndarray) -> _Group | None:
    """The span of ``target`` for the policy's tickets that have one (``policy._target_span``)."""
    minutes = np.zeros(len(members), np.int64)
    priorities = tickets.priority[members]
    for priority, targets in policy.targets.items():
        if targets.get(target):
            minutes[priorities == priority] = targets[target]
    if target == "next_response":
        # Only while a customer waits on us after we answered once.
        minutes[tickets.customer_after_reply[members] == MISSING] = 0
    applies = minutes > 0
    members, minutes = members[applies], minutes[applies]
    if not len(members):
        return None
    done = done_at[members]
    if target == "first_response":
        return _Group(members, minutes, tickets.created[members], _earliest(tickets.first_reply[members], done))
    if target == "resolution":
        return _Group(members, minutes, tickets.created[members], done)
    start = tickets.customer_after_reply[members]
    return _Group(members, minutes, start, np.where(done == MISSING, MISSING, np.maximum(done, start)))


def _earliest(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    big = np.iinfo(np.int64).max
    earliest = np.minimum(np.where(first == MISSING, big, first), np.where(second == MISSING, big, second))
    return np.where(earliest == big, MISSING, earliest)


def _group_clocks(policy: rules.Policy, target: str, group: _Group, tickets: Tickets, segments: _Segments,
                  timelines: CalendarTimelines, calendar_id: int, fired: Fired, now: int) -> tuple[Clocks, np.ndarray]:
    """One policy's clocks for one target (``policy._clock``), and the tickets left to the reference."""
    count = len(group.members)
    stopped = group.stop != MISSING
    end = np.where(stopped, group.stop, now)
    pause_statuses = list(policy.pause_statuses | (rules.DONE_STATUSES if target == "resolution" else frozenset()))
    paused_now = ~stopped & np.isin(tickets.status[group.members], pause_statuses)
    budget = group.minutes * _MINUTE_US
    warn_budget = budget * (policy.warn_percent or 0) // 100
    wants_warning = ~stopped & ~paused_now & (warn_budget > 0)
    pauses = _Pauses(group, segments, pause_statuses, end, len(tickets))

    lo = int(group.start.min())
    hi = int(end.max()) + int(budget.max()) * _HORIZON_FACTOR + _HORIZON_MARGIN_US
    elapsed = due = warn = np.zeros(count, np.int64)
    beyond = np.ones(count, bool)
    for _ in range(_MAX_WIDENINGS):
        arrays = timelines.covering(calendar_id, lo, hi)
        if arrays is None:  # out of datetime's range: the reference's engine walks instead
            break
        b_start = arrays.business_until(group.start)
        paused = arrays.business_until(pauses.end) - arrays.business_until(pauses.start)
        elapsed = np.where(end > group.start, arrays.business_until(end) - b_start - pauses.total(paused), 0)
        due, due_beyond = _budget_used_up(arrays, budget, b_start, pauses, paused)
        warn, warn_beyond = _budget_used_up(arrays, warn_budget, b_start, pauses, paused)
        beyond = (due_beyond & ~paused_now) | (warn_beyond & wants_warning)
        if not beyond.any():
            break
        hi += hi - lo
    due = np.where(paused_now, MISSING, due)
    warn = np.where(wants_warning, warn, MISSING)
    if policy.warn_minutes_before:
        early = np.where(~stopped & ~paused_now, due - policy.warn_minutes_before * _MINUTE_US, MISSING)
        warn = np.where(warn == MISSING, early, np.minimum(warn, early))
    state = np.where(stopped, np.where(elapsed <= budget, MET, BREACHED), np.where(paused_now, PAUSED, RUNNING))
    ticket_ids = tickets.ids[group.members]
    clocks = Clocks(
        ticket=ticket_ids, target=np.full(count, _TARGET_CODES[target]), policy=np.full(count, policy.id),
        state=state, started=group.start, due=due, warn=warn, stopped=group.stop, minutes=group.minutes,
        elapsed_s=np.where(stopped | paused_now, elapsed // 1_000_000, 0),
        next_check=_next_check(policy, target, ticket_ids, stopped | paused_now, due, warn, fired),
    )
    return clocks, ticket_ids[beyond]


class _Pauses:
    """Each clock's paused stretches: its ticket's segments in a pause status, clipped to the
    clock's ``[start, end]``, grouped by clock (``owner``) and ordered in time."""

    def __init__(self, group: _Group, segments: _Segments, statuses: list[str], end: np.ndarray, tickets: int):
        position = np.full(tickets, -1, np.int64)
        position[group.members] = np.arange(len(group.members))
        owner = position[segments.ticket]
        keep = (owner >= 0) & np.isin(segments.status, statuses)
        owner = owner[keep]
        start = np.maximum(segments.start[keep], group.start[owner])
        stop = np.minimum(segments.end[keep], end[owner])
        nonempty = stop > start
        # Segments come grouped by ticket, and members in ticket order, so owners stay grouped.
        self.owner, self.start, self.end = owner[nonempty], start[nonempty], stop[nonempty]
        self.clocks = len(group.members)

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.owner, weights=values, minlength=self.clocks).astype(np.int64)


def _budget_used_up(arrays: _TimelineArrays, budget: np.ndarray, b_start: np.ndarray, pauses: _Pauses,
                    paused: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The instant each clock has used ``budget``, pauses not counting (``Timeline.add_excluding``).

    The budget runs out before pause k once the business time available before it (since the
    start, minus earlier pauses) covers it. The pauses before that one all count, so the answer
    is where the timeline reaches the start's business time plus the budget plus those pauses.
    """
    if len(pauses.owner):
        paused_before = _cumulative_within(pauses.owner, paused) - paused
        available = arrays.business_until(pauses.start) - b_start[pauses.owner] - paused_before
        skipped = pauses.total(np.where(available >= budget[pauses.owner], 0, paused))
    else:
        skipped = 0
    return arrays.instant_reaching(b_start + budget + skipped)


def _cumulative_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at each new group (groups are contiguous)."""
    total = np.cumsum(values)
    first = np.flatnonzero(np.append(True, groups[1:] != groups[:-1]))
    offsets = np.repeat(total[first] - values[first], np.diff(np.append(first, len(values))))
    return total - offsets


def _next_check(policy: rules.Policy, target: str, ticket_ids: np.ndarray, quiet: np.ndarray, due: np.ndarray,
                warn: np.ndarray, fired: Fired) -> np.ndarray:
    """The next instant an escalation level not fired yet is reached (``policy.next_check``)."""
    big = np.iinfo(np.int64).max
    earliest = np.full(len(ticket_ids), big)
    for escalation in policy.escalations:
        after = escalation.minutes_after_breach
        moment = warn if after is None else np.where(due == MISSING, MISSING, due + after * _MINUTE_US)
        pending = (moment != MISSING) & ~np.isin(ticket_ids, fired.tickets_with(target, escalation.level))
        earliest = np.where(pending, np.minimum(earliest, moment), earliest)
    return np.where(quiet | (due == MISSING) | (earliest == big), MISSING, earliest)


def concatenate(parts: list[Clocks]) -> Clocks:
    if not parts:
        empty = np.empty(0, np.int64)
        return Clocks(*(empty for _ in Clocks.__dataclass_fields__))
    return Clocks(*(np.concatenate([getattr(part, name) for part in parts]) for name in Clocks.__dataclass_fields__))


# ---------------------------------------------------------------- to and from the reference


def tickets_from_snapshots(snapshots: Sequence[rules.TicketSnapshot]) -> Tickets:
    """Columns for snapshots (how the tests compare this module with the reference)."""
    changes = [(index, when, status) for index, ticket in enumerate(snapshots)
               for when, status in ticket.status_changes]
    tags = [(index, tag) for index, ticket in enumerate(snapshots) for tag in sorted(ticket.tags)]

    def moment(value: datetime | None) -> int:
        return MISSING if value is None else to_us(value)

    def after_last_reply(ticket: rules.TicketSnapshot) -> int:
        last = max(ticket.replies_delivered, default=None)
        return moment(min((m for m in ticket.customer_messages if last and m > last), default=None))

    return Tickets(
        ids=np.array([t.id for t in snapshots], np.int64),
        priority=np.array([t.priority for t in snapshots], str),
        status=np.array([t.status for t in snapshots], str),
        channel=np.array([t.channel for t in snapshots], str),
        tier=np.array([t.tier or "" for t in snapshots], str),
        team=np.array([-1 if t.team_id is None else t.team_id for t in snapshots], np.int64),
        mailbox=np.array([-1 if t.mailbox_id is None else t.mailbox_id for t in snapshots], np.int64),
        created=np.array([to_us(t.created_at) for t in snapshots], np.int64),
        first_reply=np.array([moment(min(t.replies_delivered, default=None)) for t in snapshots], np.int64),
        last_reply=np.array([moment(max(t.replies_delivered, default=None)) for t in snapshots], np.int64),
        customer_after_reply=np.array([after_last_reply(t) for t in snapshots], np.int64),
        changes_ticket=np.array([index for index, _, _ in changes], np.int64),
        changes_at=np.array([to_us(when) for _, when, _ in changes], np.int64),
        changes_status=np.array([status for _, _, status in changes], str),
        tags_ticket=np.array([index for index, _ in tags], np.int64),
        tags=np.array([tag for _, tag in tags], str),
    )


def snapshot_of(tickets: Tickets, index: int) -> rules.TicketSnapshot:
    """The reference's view of one ticket of a batch (enough for every rule: first and latest
    reply, first customer message after it)."""
    def moment(value: int) -> datetime | None:
        return None if value == MISSING else from_us(value)

    replies = tuple(m for m in (moment(tickets.first_reply[index]), moment(tickets.last_reply[index])) if m)
    waiting = moment(tickets.customer_after_reply[index])
    changed = tickets.changes_ticket == index
    return rules.TicketSnapshot(
        id=int(tickets.ids[index]), priority=str(tickets.priority[index]), status=str(tickets.status[index]),
        channel=str(tickets.channel[index]), created_at=from_us(tickets.created[index]),
        tier=str(tickets.tier[index]) or None, team_id=_optional_id(tickets.team[index]),
        mailbox_id=_optional_id(tickets.mailbox[index]),
        tags=frozenset(str(tag) for tag in tickets.tags[tickets.tags_ticket == index]),
        status_changes=tuple((from_us(at), str(status)) for at, status in
                             zip(tickets.changes_at[changed], tickets.changes_status[changed])),
        customer_messages=(waiting,) if waiting else (), replies_delivered=replies,
    )


def _optional_id(value: np.integer) -> int | None:
    return None if value < 0 else int(value)


def reference_clocks(policy: rules.Policy, calendar: BusinessCalendar, ticket: rules.TicketSnapshot,
                     fired: Mapping[str, set[str]], now: datetime) -> Clocks:
    """``policy.evaluate``'s clocks for one ticket, as this module stores them."""
    return from_states(ticket.id, policy, rules.evaluate(policy, calendar, ticket, now), fired)


def from_states(ticket_id: int, policy: rules.Policy, states: Sequence[rules.ClockState],
                fired: Mapping[str, set[str]]) -> Clocks:
    """One ticket's clocks computed by ``policy.evaluate``, as this module stores them."""
    quiet = [clock.stopped_at is not None or clock.due_at is None for clock in states]

    def column(values: list, kind: type = np.int64) -> np.ndarray:
        return np.array(values, kind) if values else np.empty(0, kind)

    def moment(value: datetime | None) -> int:
        return MISSING if value is None else to_us(value)

    return Clocks(
        ticket=column([ticket_id] * len(states)), target=column([_TARGET_CODES[c.target] for c in states]),
        policy=column([policy.id] * len(states)),
        state=column([RUNNING if c.state == "breached" and c.stopped_at is None else STATES.index(c.state)
                      for c in states]),
        started=column([to_us(c.started_at) for c in states]), due=column([moment(c.due_at) for c in states]),
        warn=column([moment(c.warn_at) for c in states]), stopped=column([moment(c.stopped_at) for c in states]),
        minutes=column([c.target_minutes for c in states]),
        elapsed_s=column([c.elapsed // timedelta(seconds=1) if q else 0 for c, q in zip(states, quiet)]),
        next_check=column([moment(rules.next_check(policy, c, fired.get(c.target, set()))) for c in states]),
    )
