"""The batch arithmetic of sla/bulk.py gives exactly the clocks of the reference, policy.evaluate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.sla import bulk
from helpdesk.sla import policy as rules
from helpdesk.sla.calendar import BusinessCalendar

CALENDARS = {
    1: BusinessCalendar.always(),
    2: BusinessCalendar.weekly_hours("Europe/Berlin", {day: [("09:00", "12:00"), ("13:00", "17:00")] for day in range(5)},
                                     holidays={date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)}),
    3: BusinessCalendar.weekly_hours("Australia/Lord_Howe", {day: [("08:30", "17:30")] for day in range(6)}),
    4: BusinessCalendar.weekly_hours("America/New_York", {0: [("00:00", "00:00")], 2: [("22:00", "00:00")],
                                                          3: [("00:00", "06:00")]}),
}
BREACH_TAG = rules.Escalation(level="breach", actions=({"type": "add_tag", "tag": "late"},))
POLICIES = [
    rules.Policy(id=11, name="Enterprise", conditions=rules.Conditions(tiers=frozenset({"enterprise"})),
                 targets={p: {"first_response": 60, "next_response": 120, "resolution": 1440}
                          for p in ("low", "normal", "high", "urgent")},
                 escalations=(rules.Escalation("warning", ()), BREACH_TAG, rules.Escalation("breach+30", ()))),
    rules.Policy(id=12, name="Tagged", conditions=rules.Conditions(tags=frozenset({"vip", "press"}),
                                                                    channels=frozenset({"email"})),
                 targets={"normal": {"first_response": 45, "resolution": 300}}, warn_percent=None,
                 warn_minutes_before=15, pause_statuses=frozenset({"on_hold"})),
    rules.Policy(id=13, name="Team", conditions=rules.Conditions(team_ids=frozenset({7}), priorities=frozenset({"high"})),
                 targets={"high": {"first_response": 30, "next_response": 30, "resolution": 600}},
                 warn_percent=50, warn_minutes_before=5, escalations=(BREACH_TAG,)),
    rules.Policy(id=14, name="Mailbox", conditions=rules.Conditions(mailbox_ids=frozenset({3})),
                 targets={"low": {"resolution": 2400}, "normal": {"first_response": 480}}),
    rules.Policy(id=15, name="Standard", conditions=rules.Conditions(),
                 targets={p: {"first_response": 480, "next_response": 240, "resolution": 2400}
                          for p in ("low", "normal", "high")},
                 warn_percent=75, escalations=(rules.Escalation("warning", ()), BREACH_TAG)),
]
START = datetime(2026, 12, 18, 6, 0, tzinfo=UTC)
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")


@st.composite
def tickets(draw: st.DrawFn, ticket_id: int) -> rules.TicketSnapshot:
    minutes = st.integers(0, 60 * 24 * 21)
    created = START + timedelta(minutes=draw(minutes), microseconds=draw(st.sampled_from([0, 1, 999_999])))

    def later() -> datetime:
        return created + timedelta(minutes=draw(st.integers(0, 60 * 24 * 10)), seconds=draw(st.integers(0, 59)))

    changes = tuple(sorted((later(), draw(st.sampled_from(STATUSES))) for _ in range(draw(st.integers(0, 4)))))
    status = changes[-1][1] if changes else draw(st.sampled_from(("new", "open")))
    return rules.TicketSnapshot(
        id=ticket_id, priority=draw(st.sampled_from(("low", "normal", "high", "urgent"))), status=status,
        channel=draw(st.sampled_from(("email", "web"))), created_at=created,
        tier=draw(st.sampled_from((None, "enterprise", "basic"))), team_id=draw(st.sampled_from((None, 7, 8))),
        mailbox_id=draw(st.sampled_from((None, 3))),
        tags=frozenset(draw(st.lists(st.sampled_from(("vip", "press", "billing")), max_size=2))),
        status_changes=changes,
        customer_messages=tuple(sorted(later() for _ in range(draw(st.integers(0, 3))))),
        replies_delivered=tuple(sorted(later() for _ in range(draw(st.integers(0, 2))))),
    )


def fired_levels(draw: st.DrawFn, ids: list[int]) -> dict[int, dict[str, set[str]]]:
    fired: dict[int, dict[str, set[str]]] = {}
    for ticket_id in draw(st.lists(st.sampled_from(ids), max_size=5)):
        target = draw(st.sampled_from(rules.TARGETS))
        fired.setdefault(ticket_id, {}).setdefault(target, set()).add(draw(st.sampled_from(("warning", "breach"))))
    return fired


def reference(snapshots, calendar_of, fired, now) -> list[tuple]:
    rows = []
    for ticket in snapshots:
        policy = rules.choose_policy(POLICIES, ticket)
        if policy is not None:
            clocks = bulk.reference_clocks(policy, CALENDARS[calendar_of[policy.id]], ticket,
                                           fired.get(ticket.id, {}), now)
            rows += as_rows(clocks)
    return sorted(rows)


def as_rows(clocks: bulk.Clocks) -> list[tuple]:
    return list(zip(*(getattr(clocks, name).tolist() for name in bulk.Clocks.__dataclass_fields__)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), count=st.integers(1, 12), calendars=st.lists(st.sampled_from(sorted(CALENDARS)), min_size=5,
                                                                   max_size=5))
def test_batch_clocks_equal_the_reference(data: st.DataObject, count: int, calendars: list[int]) -> None:
    snapshots = [data.draw(tickets(ticket_id)) for ticket_id in range(1, count + 1)]
    calendar_of = {policy.id: calendar for policy, calendar in zip(POLICIES, calendars)}
    fired = fired_levels(data.draw, [t.id for t in snapshots])
    now = START + timedelta(days=data.draw(st.integers(10, 40)), seconds=data.draw(st.integers(0, 86_399)))
    clocks, left = bulk.compute(POLICIES, calendar_of, bulk.CalendarTimelines(CALENDARS),
                                bulk.tickets_from_snapshots(snapshots), bulk.Fired.of(fired), bulk.to_us(now))
    assert left.size == 0
    assert sorted(as_rows(clocks)) == reference(snapshots, calendar_of, fired, now)


def test_digests_change_with_any_stored_value() -> None:
    ticket = rules.TicketSnapshot(id=1, priority="normal", status="open", channel="email", created_at=START)
    base = bulk.reference_clocks(POLICIES[-1], CALENDARS[1], ticket, {}, START + timedelta(hours=1))
    moved = bulk.reference_clocks(POLICIES[-1], CALENDARS[2], ticket, {}, START + timedelta(hours=1))
    later = bulk.reference_clocks(POLICIES[-1], CALENDARS[1], ticket, {}, START + timedelta(hours=5))
    assert np.array_equal(base.digests(), later.digests())  # a running clock's row does not age
    assert not np.any(base.digests() == moved.digests())


def test_a_due_time_beyond_every_timeline_is_left_to_the_reference() -> None:
    # Open one hour on Mondays, but every Monday of the next 40 weeks is a holiday.
    mondays = {date(2026, 12, 21) + timedelta(weeks=week) for week in range(40)}
    calendars = {1: BusinessCalendar.weekly_hours("UTC", {0: [("09:00", "10:00")]}, holidays=mondays)}
    policy = rules.Policy(id=1, name="Sparse", conditions=rules.Conditions(),
                          targets={"normal": {"first_response": 30}}, warn_percent=None)
    ticket = rules.TicketSnapshot(id=7, priority="normal", status="open", channel="email", created_at=START)
    columns = bulk.tickets_from_snapshots([ticket])
    clocks, left = bulk.compute([policy], {1: 1}, bulk.CalendarTimelines(calendars), columns, bulk.Fired.of({}),
                                bulk.to_us(START))
    assert left.tolist() == [7]
    by_reference = bulk.reference_clocks(policy, calendars[1], bulk.snapshot_of(columns, 0), {}, START)
    assert bulk.from_us(by_reference.due[0]) == datetime(2027, 9, 27, 9, 30, tzinfo=UTC)
