"""Business-time arithmetic: hand-worked examples, then properties against a brute-force oracle.

Expected instants are written as local wall times where unambiguous and as UTC where the
wall time is ambiguous (the repeated hour of a fall-back night).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.sla.calendar import (
    END_OF_DAY,
    BusinessCalendar,
    Interval,
    add_business_time,
    add_business_time_excluding,
    business_time_between,
    business_time_between_excluding,
    first_windows,
    measure,
    public_holidays,
    windows,
)

UTC = timezone.utc
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
LORD_HOWE = "Australia/Lord_Howe"  # DST shifts by 30 minutes
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

OFFICE_HOURS = {day: [("09:00", "12:00"), ("13:00", "17:00")] for day in range(5)}
SPLIT_DAY = BusinessCalendar.weekly_hours(BERLIN, OFFICE_HOURS)


def at(wall: str, tz: str) -> datetime:
    """A local wall time; fold=0, so only use it for unambiguous wall times."""
    return datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(tz))


def utc(wall: str) -> datetime:
    return datetime.fromisoformat(wall).replace(tzinfo=UTC)


def total(intervals: Sequence[Interval]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta(0))


# --- split day, weekends, holidays ------------------------------------------------------


def test_split_day_skips_the_lunch_break() -> None:
    due = add_business_time(SPLIT_DAY, at("2024-01-15 11:00", BERLIN), 2 * HOUR)  # a Monday

    assert due == at("2024-01-15 14:00", BERLIN)
    assert due == utc("2024-01-15 13:00")
    assert due.tzinfo is UTC


def test_windows_of_a_split_day_are_clipped_and_in_utc() -> None:
    assert list(windows(SPLIT_DAY, at("2024-01-15 10:30", BERLIN), at("2024-01-15 18:00", BERLIN))) == [
        (utc("2024-01-15 09:30"), utc("2024-01-15 11:00")),
        (utc("2024-01-15 12:00"), utc("2024-01-15 16:00")),
    ]


def test_business_time_between_counts_only_open_hours() -> None:
    monday_10, tuesday_10 = at("2024-01-15 10:00", BERLIN), at("2024-01-16 10:00", BERLIN)

    assert business_time_between(SPLIT_DAY, monday_10, tuesday_10) == 7 * HOUR  # 2 + 4 + 1
    assert business_time_between(SPLIT_DAY, tuesday_10, monday_10) == timedelta(0)
    assert business_time_between(SPLIT_DAY, monday_10, monday_10) == timedelta(0)


def test_friday_evening_continues_on_monday_morning() -> None:
    due = add_business_time(SPLIT_DAY, at("2024-01-19 16:30", BERLIN), HOUR)

    assert due == at("2024-01-22 09:30", BERLIN)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2024-01-20 10:00", "2024-01-22 09:30"),  # Saturday: waits for Monday
        ("2024-01-15 12:30", "2024-01-15 13:30"),  # lunch: waits for 13:00
        ("2024-01-15 06:00", "2024-01-15 09:30"),  # before opening
    ],
)
def test_a_start_outside_hours_waits_for_the_next_window(start: str, expected: str) -> None:
    assert add_business_time(SPLIT_DAY, at(start, BERLIN), 30 * MINUTE) == at(expected, BERLIN)


def test_a_target_ending_at_closing_time_is_due_at_closing_time() -> None:
    # The earliest instant with a full hour elapsed is Friday 17:00, not Monday 09:00.
    assert add_business_time(SPLIT_DAY, at("2024-01-19 16:00", BERLIN), HOUR) == at(
        "2024-01-19 17:00", BERLIN
    )


def test_zero_duration_is_due_at_start_even_when_closed() -> None:
    saturday = at("2024-01-20 10:00", BERLIN)

    assert add_business_time(SPLIT_DAY, saturday, timedelta(0)) == saturday


def test_a_holiday_is_skipped() -> None:
    calendar = BusinessCalendar.weekly_hours(BERLIN, OFFICE_HOURS, holidays={date(2024, 1, 22)})

    assert add_business_time(calendar, at("2024-01-19 16:30", BERLIN), HOUR) == at("2024-01-23 09:30", BERLIN)


def test_german_christmas_holidays_are_skipped() -> None:
    german = public_holidays("DE", [2024])
    calendar = BusinessCalendar.weekly_hours(BERLIN, OFFICE_HOURS, holidays=german)

    assert {date(2024, 10, 3), date(2024, 12, 25), date(2024, 12, 26)} <= german
    assert date(2024, 12, 24) not in german
    # Tuesday 24th: one hour; Wednesday and Thursday are holidays; Friday from 09:00.
    assert add_business_time(calendar, at("2024-12-24 16:00", BERLIN), 2 * HOUR) == at(
        "2024-12-27 10:00", BERLIN
    )


def test_public_holidays_of_a_subdivision() -> None:
    assert date(2024, 1, 6) in public_holidays("DE", [2024], subdiv="BY")  # Epiphany in Bavaria
    assert date(2024, 1, 6) not in public_holidays("DE", [2024])
    assert date(2025, 1, 1) in public_holidays("DE", range(2024, 2026))


@pytest.mark.parametrize(("country", "subdiv"), [("XX", None), ("DE", "ZZ")])
def test_public_holidays_of_an_unknown_place_raise(country: str, subdiv: str | None) -> None:
    with pytest.raises(ValueError, match="no public holidays known"):
        public_holidays(country, [2024], subdiv)


# --- 24/7 and day boundaries ------------------------------------------------------------


@pytest.mark.parametrize("tz", ["UTC", BERLIN])
def test_always_open_has_no_gap_at_midnight(tz: str) -> None:
    calendar = BusinessCalendar.always(tz)
    before_midnight = at("2024-03-05 23:59", tz)

    assert add_business_time(calendar, before_midnight, 2 * MINUTE) == at("2024-03-06 00:01", tz)
    assert business_time_between(calendar, before_midnight, at("2024-03-06 00:01", tz)) == 2 * MINUTE
    assert list(windows(calendar, at("2024-03-05 23:00", tz), at("2024-03-06 01:00", tz))) == [
        (at("2024-03-05 23:00", tz), at("2024-03-06 01:00", tz))
    ]


def test_end_of_day_marker_joins_windows_across_midnight() -> None:
    night_shift = BusinessCalendar.weekly_hours("UTC", {0: [("22:00", "24:00")], 1: [("00:00", "02:00")]})

    assert night_shift.weekly[0] == ((time(22, 0), END_OF_DAY),)
    assert list(windows(night_shift, utc("2024-01-15 00:00"), utc("2024-01-17 00:00"))) == [
        (utc("2024-01-15 22:00"), utc("2024-01-16 02:00"))
    ]


def test_touching_intervals_are_one_window() -> None:
    calendar = BusinessCalendar.weekly_hours("UTC", {0: [("09:00", "12:00"), ("12:00", "17:00")]})

    assert list(windows(calendar, utc("2024-01-15 00:00"), utc("2024-01-16 00:00"))) == [
        (utc("2024-01-15 09:00"), utc("2024-01-15 17:00"))
    ]


def test_year_boundary_with_new_years_day_closed() -> None:
    weekdays_9_to_5 = BusinessCalendar.weekly_hours(
        BERLIN, {day: [("09:00", "17:00")] for day in range(5)}, holidays={date(2025, 1, 1)}
    )

    due = add_business_time(weekdays_9_to_5, at("2024-12-31 16:00", BERLIN), 2 * HOUR)

    assert due == at("2025-01-02 10:00", BERLIN)


def test_year_boundary_on_an_always_open_calendar() -> None:
    due = add_business_time(BusinessCalendar.always(), utc("2024-12-31 23:30"), timedelta(days=1, hours=1))

    assert due == utc("2025-01-02 00:30")


def test_long_targets_on_an_always_open_calendar_are_plain_addition() -> None:
    start = utc("2024-02-10 08:15")
    always = BusinessCalendar.always()

    assert add_business_time(always, start, timedelta(days=30)) == start + timedelta(days=30)
    assert add_business_time(always, start, timedelta(days=1000)) == start + timedelta(days=1000)


def test_long_targets_on_office_hours_round_trip() -> None:
    start = at("2024-01-15 10:00", BERLIN)
    target = timedelta(hours=2000)  # about a year of 35-hour weeks, across two DST changes

    due = add_business_time(SPLIT_DAY, start, target)

    assert business_time_between(SPLIT_DAY, start, due) == target
    assert due.astimezone(ZoneInfo(BERLIN)).time() != time(0, 0)


def test_the_zone_of_the_input_does_not_matter() -> None:
    start = at("2024-01-19 16:30", BERLIN)
    in_tokyo = start.astimezone(ZoneInfo("Asia/Tokyo"))

    assert add_business_time(SPLIT_DAY, in_tokyo, HOUR) == add_business_time(SPLIT_DAY, start, HOUR)
    assert add_business_time(SPLIT_DAY, in_tokyo, HOUR).tzinfo is UTC


# --- daylight saving time ---------------------------------------------------------------


def test_berlin_spring_forward_day_has_23_hours() -> None:
    always = BusinessCalendar.always(BERLIN)

    assert (
        business_time_between(always, at("2024-03-31 00:00", BERLIN), at("2024-04-01 00:00", BERLIN))
        == 23 * HOUR
    )
    # 01:30 CET plus one real hour: the clock jumps 02:00 -> 03:00 on the way.
    assert add_business_time(always, at("2024-03-31 01:30", BERLIN), HOUR) == at("2024-03-31 03:30", BERLIN)


def test_berlin_fall_back_day_has_25_hours() -> None:
    always = BusinessCalendar.always(BERLIN)

    assert (
        business_time_between(always, at("2024-10-27 00:00", BERLIN), at("2024-10-28 00:00", BERLIN))
        == 25 * HOUR
    )
    # 01:30 CEST plus two real hours is the second 02:30 (CET), 01:30 UTC.
    due = add_business_time(always, at("2024-10-27 01:30", BERLIN), 2 * HOUR)
    assert due == utc("2024-10-27 01:30")
    assert due.astimezone(ZoneInfo(BERLIN)).fold == 1


def test_an_interval_opening_in_the_spring_gap_opens_when_the_clock_jumps() -> None:
    early_sunday = BusinessCalendar.weekly_hours(BERLIN, {6: [("02:30", "04:00")]})

    change_day = list(windows(early_sunday, at("2024-03-31 00:00", BERLIN), at("2024-04-01 00:00", BERLIN)))
    assert change_day == [(at("2024-03-31 03:00", BERLIN), at("2024-03-31 04:00", BERLIN))]
    assert change_day == [(utc("2024-03-31 01:00"), utc("2024-03-31 02:00"))]
    normal_day = business_time_between(
        early_sunday, at("2024-03-24 00:00", BERLIN), at("2024-03-25 00:00", BERLIN)
    )
    assert normal_day == 90 * MINUTE


def test_an_interval_across_the_fall_back_counts_the_repeated_hour() -> None:
    early_sunday = BusinessCalendar.weekly_hours(BERLIN, {6: [("01:00", "03:00")]})

    # 01:00 CEST (23:00 UTC the day before) to 03:00 CET (02:00 UTC): three real hours.
    assert list(windows(early_sunday, at("2024-10-26 00:00", BERLIN), at("2024-10-28 00:00", BERLIN))) == [
        (utc("2024-10-26 23:00"), utc("2024-10-27 02:00"))
    ]


def test_an_interval_inside_the_repeated_hour_is_open_twice() -> None:
    calendar = BusinessCalendar.weekly_hours(BERLIN, {6: [("02:15", "02:45")]})

    assert list(windows(calendar, at("2024-10-26 00:00", BERLIN), at("2024-10-28 00:00", BERLIN))) == [
        (utc("2024-10-27 00:15"), utc("2024-10-27 00:45")),  # first 02:15-02:45 (CEST)
        (utc("2024-10-27 01:15"), utc("2024-10-27 01:45")),  # second 02:15-02:45 (CET)
    ]


def test_new_york_spring_forward_over_a_weekend() -> None:
    weekdays_8_to_5 = BusinessCalendar.weekly_hours(NEW_YORK, {day: [("08:00", "17:00")] for day in range(5)})

    due = add_business_time(weekdays_8_to_5, at("2024-03-08 16:00", NEW_YORK), 2 * HOUR)  # Friday, EST

    assert due == at("2024-03-11 09:00", NEW_YORK)
    assert due == utc("2024-03-11 13:00")  # EDT; a fixed EST offset would say 14:00


def test_new_york_fall_back_repeats_one_oclock() -> None:
    one_to_two = BusinessCalendar.weekly_hours(NEW_YORK, {6: [("01:00", "02:00")]})

    # 01:00 EDT = 05:00 UTC; 02:00 EST = 07:00 UTC; both 01:xx hours are open.
    assert list(windows(one_to_two, at("2024-11-02 00:00", NEW_YORK), at("2024-11-04 00:00", NEW_YORK))) == [
        (utc("2024-11-03 05:00"), utc("2024-11-03 07:00"))
    ]
    assert add_business_time(one_to_two, utc("2024-11-03 05:30"), HOUR) == utc("2024-11-03 06:30")


def test_lord_howe_half_hour_daylight_saving() -> None:
    always = BusinessCalendar.always(LORD_HOWE)

    def day_length(day: str, next_day: str) -> timedelta:
        return business_time_between(
            always, at(f"{day} 00:00", LORD_HOWE), at(f"{next_day} 00:00", LORD_HOWE)
        )

    assert day_length("2024-04-07", "2024-04-08") == timedelta(hours=24, minutes=30)
    assert day_length("2024-10-06", "2024-10-07") == timedelta(hours=23, minutes=30)
    # 01:45 (+10:30) plus 30 real minutes: 02:00 jumps to 02:30, so 02:45 (+11:00).
    due = add_business_time(always, at("2024-10-06 01:45", LORD_HOWE), 30 * MINUTE)
    assert due == at("2024-10-06 02:45", LORD_HOWE)
    assert due == utc("2024-10-05 15:45")


# --- pauses -----------------------------------------------------------------------------


def test_paused_time_does_not_count() -> None:
    monday = "2024-01-15"
    paused = [
        (at(f"{monday} 11:30", BERLIN), at(f"{monday} 14:00", BERLIN)),  # half an hour, lunch, an hour
        (at(f"{monday} 10:00", BERLIN), at(f"{monday} 11:00", BERLIN)),
        (at(f"{monday} 10:30", BERLIN), at(f"{monday} 10:45", BERLIN)),  # inside the one before
    ]
    start, end = at(f"{monday} 09:00", BERLIN), at(f"{monday} 17:00", BERLIN)

    assert business_time_between_excluding(SPLIT_DAY, start, end, paused) == timedelta(hours=4, minutes=30)
    # 09-10, 11:00-11:30, then 14:00 + 2.5 h
    assert add_business_time_excluding(SPLIT_DAY, start, 4 * HOUR, paused) == at(f"{monday} 16:30", BERLIN)
    assert add_business_time_excluding(SPLIT_DAY, start, 4 * HOUR, []) == add_business_time(
        SPLIT_DAY, start, 4 * HOUR
    )


def test_a_pause_that_ends_before_it_starts_is_rejected() -> None:
    backwards = [(utc("2024-01-15 12:00"), utc("2024-01-15 11:00"))]

    with pytest.raises(ValueError, match="pause ends before it starts"):
        business_time_between_excluding(
            SPLIT_DAY, utc("2024-01-15 00:00"), utc("2024-01-16 00:00"), backwards
        )


# --- validation -------------------------------------------------------------------------


def test_a_calendar_without_open_hours_cannot_reach_a_target() -> None:
    never = BusinessCalendar("UTC", {})
    start, end = utc("2024-01-01 00:00"), utc("2024-03-01 00:00")

    assert list(windows(never, start, end)) == []
    assert business_time_between(never, start, end) == timedelta(0)
    assert add_business_time(never, start, timedelta(0)) == start
    with pytest.raises(ValueError, match="no open hours"):
        add_business_time(never, start, MINUTE)


def test_a_calendar_closed_for_years_raises_instead_of_scanning_forever() -> None:
    every_day = frozenset(date(2024, 1, 1) + timedelta(days=n) for n in range(3 * 366))
    closed = BusinessCalendar.weekly_hours("UTC", OFFICE_HOURS, holidays=every_day)

    with pytest.raises(ValueError, match="no open time"):
        add_business_time(closed, utc("2024-01-01 00:00"), MINUTE)
    with pytest.raises(ValueError, match="no open time"):
        add_business_time_excluding(closed, utc("2024-01-01 00:00"), MINUTE, [])


def test_naive_datetimes_are_rejected() -> None:
    naive, aware = datetime(2024, 1, 15, 10), utc("2024-01-15 10:00")

    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(SPLIT_DAY, naive, HOUR)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(SPLIT_DAY, aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        windows(SPLIT_DAY, naive, aware)  # eagerly, not at the first next()
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between_excluding(SPLIT_DAY, aware, aware + HOUR, [(naive, aware)])


def test_a_negative_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_time(SPLIT_DAY, utc("2024-01-15 10:00"), -MINUTE)


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "europe/berlin", "", "../etc/passwd", "/etc/localtime"])
def test_an_unknown_time_zone_is_rejected(tz: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessCalendar.always(tz)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({0: [("13:00", "17:00"), ("09:00", "12:00")]}, "overlaps or precedes"),
        ({0: [("09:00", "12:00"), ("11:00", "17:00")]}, "overlaps or precedes"),
        ({0: [("09:00", "24:00"), ("00:00", "01:00")]}, "overlaps or precedes"),
        ({0: [("12:00", "09:00")]}, "must open before it closes"),
        ({0: [("09:00", "09:00")]}, "must open before it closes"),
        ({7: [("09:00", "17:00")]}, "weekday keys"),
        ({0: [("9am", "5pm")]}, "wall-clock time"),
        ({0: [("25:00", "26:00")]}, "not a valid wall-clock time"),
        ({0: [("24:00", "24:00")]}, "can only close"),
        ({0: [(time(9, tzinfo=UTC), time(17, tzinfo=UTC))]}, "naive wall-clock"),
    ],
)
def test_invalid_opening_hours_are_rejected(
    hours: dict[int, list[tuple[str | time, str | time]]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.weekly_hours("UTC", hours)


def test_a_calendar_is_immutable_hashable_and_compares_by_value() -> None:
    hours = {0: [("09:00", "17:00")]}
    calendar = BusinessCalendar.weekly_hours("UTC", hours)
    hours[0].append(("18:00", "19:00"))

    assert calendar.weekly[0] == ((time(9), time(17)),)
    assert calendar.weekly[3] == ()
    with pytest.raises(TypeError):
        calendar.weekly[1] = ()  # type: ignore[index]
    same = BusinessCalendar("UTC", {0: ((time(9), time(17)),), 3: ()})
    assert calendar == same and hash(calendar) == hash(same)


# --- properties against a brute-force oracle --------------------------------------------

# Each zone with instants at or near its offset changes in 2024; starts are drawn around them.
ZONE_CHANGES = {
    BERLIN: [utc("2024-03-31 01:00"), utc("2024-10-27 01:00")],
    NEW_YORK: [utc("2024-03-10 07:00"), utc("2024-11-03 06:00")],
    LORD_HOWE: [utc("2024-04-06 15:00"), utc("2024-10-05 15:30")],
    "UTC": [utc("2024-12-31 12:00")],  # the year boundary instead
    # A half-hour offset with no DST: business hours fall on odd UTC minutes.
    "Asia/Kolkata": [utc("2024-06-14 03:30"), utc("2024-12-31 18:30")],
}
ORACLE_HORIZON_MINUTES = 7 * 24 * 60
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, database=None)


def test_the_property_tests_straddle_real_offset_changes() -> None:
    for tz, changes in ZONE_CHANGES.items():
        if tz in ("UTC", "Asia/Kolkata"):  # no offset changes: other edges are drawn there
            continue
        for change in changes:
            zone = ZoneInfo(tz)
            assert (change - MINUTE).astimezone(zone).utcoffset() != change.astimezone(zone).utcoffset()


def oracle_open_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> list[datetime]:
    """The open minutes in [start, start + minutes), found by reading a wall clock each minute."""
    zone = ZoneInfo(calendar.tz)
    open_by_weekday = {day: _open_minutes_of_day(intervals) for day, intervals in calendar.weekly.items()}
    found = []
    for n in range(minutes):
        minute = start + n * MINUTE
        local = minute.astimezone(zone)
        if (
            local.date() not in calendar.holidays
            and (local.hour * 60 + local.minute) in open_by_weekday[local.weekday()]
        ):
            found.append(minute)
    return found


def _open_minutes_of_day(intervals: Sequence[tuple[time, time]]) -> set[int]:
    minutes: set[int] = set()
    for opens, closes in intervals:
        close_minute = 24 * 60 if closes == time(0, 0) else closes.hour * 60 + closes.minute
        minutes.update(range(opens.hour * 60 + opens.minute, close_minute))
    return minutes


def without(minutes: list[datetime], paused: Sequence[Interval]) -> list[datetime]:
    return [m for m in minutes if not any(start <= m < end for start, end in paused)]


# Quarter hours are frequent so that intervals start and end on DST change times.
wall_minutes = st.one_of(st.integers(0, 96).map(lambda quarter: quarter * 15), st.integers(0, 24 * 60))


@st.composite
def day_intervals(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    """Cut the day at random boundaries and open some of the pieces (neighbours may touch)."""
    cuts = sorted(draw(st.sets(wall_minutes, max_size=5)) | {0, 24 * 60})
    pieces = zip(cuts, cuts[1:])
    return tuple((_wall(start), _wall(end)) for start, end in pieces if draw(st.booleans()))


def _wall(minute: int) -> time:
    return END_OF_DAY if minute == 24 * 60 else time(minute // 60, minute % 60)


@st.composite
def calendars_and_starts(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    """A random calendar and a minute-aligned start within ten days of an offset change."""
    tz = draw(st.sampled_from(sorted(ZONE_CHANGES)))
    change = draw(st.sampled_from(ZONE_CHANGES[tz]))
    start = change + draw(st.integers(-10 * 24 * 60, 10 * 24 * 60)) * MINUTE
    around = start.astimezone(ZoneInfo(tz)).date()
    holidays = draw(st.sets(st.integers(-3, 8).map(lambda n: around + timedelta(days=n)), max_size=3))
    if draw(st.integers(0, 4)) == 0:
        return BusinessCalendar(tz, BusinessCalendar.always(tz).weekly, frozenset(holidays)), start
    weekly = {day: draw(day_intervals()) for day in range(7)}
    return BusinessCalendar(tz, weekly, frozenset(holidays)), start


@st.composite
def pauses_after(draw: st.DrawFn, start: datetime) -> list[Interval]:
    offsets = draw(st.lists(st.tuples(st.integers(-120, 5 * 24 * 60), st.integers(0, 24 * 60)), max_size=4))
    return [(start + begin * MINUTE, start + (begin + length) * MINUTE) for begin, length in offsets]


@PROPERTY_SETTINGS
@given(calendars_and_starts(), st.data())
def test_add_business_time_matches_the_oracle(
    calendar_and_start: tuple[BusinessCalendar, datetime], data: st.DataObject
) -> None:
    calendar, start = calendar_and_start
    open_minutes = oracle_open_minutes(calendar, start, ORACLE_HORIZON_MINUTES)
    if not open_minutes:
        # Closed for the whole horizon: the target lies beyond it (or can never be reached).
        if calendar.has_open_hours():
            assert add_business_time(calendar, start, MINUTE) > start + ORACLE_HORIZON_MINUTES * MINUTE
        else:
            with pytest.raises(ValueError):
                add_business_time(calendar, start, MINUTE)
        return
    minutes = data.draw(st.integers(1, min(len(open_minutes), 3 * 24 * 60)), label="minutes")

    due = add_business_time(calendar, start, minutes * MINUTE)

    assert due == open_minutes[minutes - 1] + MINUTE  # the end of the last minute needed
    assert due.tzinfo is UTC


@PROPERTY_SETTINGS
@given(calendars_and_starts(), st.integers(0, ORACLE_HORIZON_MINUTES))
def test_business_time_between_and_windows_match_the_oracle(
    calendar_and_start: tuple[BusinessCalendar, datetime], minutes: int
) -> None:
    calendar, start = calendar_and_start
    end = start + minutes * MINUTE
    expected = len(oracle_open_minutes(calendar, start, minutes)) * MINUTE

    found = list(windows(calendar, start, end))

    assert business_time_between(calendar, start, end) == expected
    assert total(found) == expected
    assert all(start <= opens < closes <= end for opens, closes in found)
    assert all(earlier[1] < later[0] for earlier, later in zip(found, found[1:]))  # ordered, merged
    assert all(opens.tzinfo is UTC and closes.tzinfo is UTC for opens, closes in found)


@PROPERTY_SETTINGS
@given(
    calendars_and_starts(),
    st.integers(0, 4 * 24 * 60 * 60 * 10**6).map(lambda us: timedelta(microseconds=us)),
    st.integers(0, 59 * 60 * 10**6).map(lambda us: timedelta(microseconds=us)),
)
def test_business_time_between_undoes_add_business_time(
    calendar_and_start: tuple[BusinessCalendar, datetime], duration: timedelta, unaligned: timedelta
) -> None:
    calendar, aligned_start = calendar_and_start
    start = aligned_start + unaligned  # not minute-aligned on purpose
    if not calendar.has_open_hours():
        return

    due = add_business_time(calendar, start, duration)

    assert business_time_between(calendar, start, due) == duration
    if duration:  # and not a microsecond earlier
        assert business_time_between(calendar, start, due - timedelta.resolution) < duration


@PROPERTY_SETTINGS
@given(calendars_and_starts(), st.data())
def test_paused_clocks_match_the_oracle(
    calendar_and_start: tuple[BusinessCalendar, datetime], data: st.DataObject
) -> None:
    calendar, start = calendar_and_start
    paused = data.draw(pauses_after(start), label="paused")
    open_minutes = without(oracle_open_minutes(calendar, start, ORACLE_HORIZON_MINUTES), paused)
    end = start + data.draw(st.integers(0, ORACLE_HORIZON_MINUTES), label="minutes until end") * MINUTE

    assert (
        business_time_between_excluding(calendar, start, end, paused)
        == sum(m < end for m in open_minutes) * MINUTE
    )
    if open_minutes:
        minutes = data.draw(st.integers(1, len(open_minutes)), label="minutes")
        due = add_business_time_excluding(calendar, start, minutes * MINUTE, paused)
        assert due == open_minutes[minutes - 1] + MINUTE


@PROPERTY_SETTINGS
@given(calendars_and_starts(), st.data())
def test_measure_is_the_single_functions_in_one_pass(
    calendar_and_start: tuple[BusinessCalendar, datetime], data: st.DataObject
) -> None:
    calendar, start = calendar_and_start
    if not calendar.has_open_hours():
        return
    paused = data.draw(pauses_after(start), label="paused")
    end = start + data.draw(st.integers(0, ORACLE_HORIZON_MINUTES), label="minutes until end") * MINUTE
    durations = [n * MINUTE for n in data.draw(st.lists(st.integers(0, 3 * 24 * 60), max_size=3), label="durations")]

    elapsed, reached = measure(calendar, start, end, durations, paused)

    assert elapsed == business_time_between_excluding(calendar, start, end, paused)
    assert reached == [add_business_time_excluding(calendar, start, d, paused) for d in durations]
    limit = data.draw(st.integers(1, 5), label="limit")
    assert first_windows(calendar, start, end, limit) == list(windows(calendar, start, end))[:limit]


def test_answers_stay_exact_when_far_apart_questions_rebuild_the_cached_timeline() -> None:
    office = BusinessCalendar.weekly_hours(BERLIN, OFFICE_HOURS, holidays=[date(2024, 12, 25)])
    questions = [utc("2024-12-20 15:00"), utc("2033-03-25 10:00"), utc("2024-12-20 15:00"), utc("2019-10-25 16:00")]
    answers = [add_business_time(office, start, 16 * HOUR) for start in questions]
    # Friday 16:00 in Berlin + 16 business hours: 1 on Friday, 7 on Monday, 7 on Tuesday, the 25th is
    # a holiday, the last hour on Thursday morning.
    assert answers[0] == answers[2] == datetime(2024, 12, 26, 10, tzinfo=ZoneInfo(BERLIN))
    for start, answer in zip(questions, answers):
        assert business_time_between(office, start, answer) == 16 * HOUR
