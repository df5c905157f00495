"""Business-time arithmetic for SLA clocks: pure, no I/O, no clock reads.

What counts as business time
----------------------------
An instant is *open* when the wall clock in the calendar's time zone, at that instant,
shows a local date that is not a holiday and a time inside one of that weekday's
intervals ``[open, close)``. Business time is the **real elapsed time** spent in open
instants. Consequences around daylight-saving changes, all deliberate:

* Spring forward: wall times inside the gap never occur. An interval that starts in the
  gap opens when the clock jumps past it ("maps forward"); a 24/7 day has 23 real hours.
* Fall back: the repeated wall hour is lived twice, and each time the clock shows an open
  time counts. A 24/7 day has 25 real hours; 01:00-03:00 on the Berlin fall-back day runs
  from 01:00 CEST to 03:00 CET, 3 real hours. So an ambiguous open time means its first
  occurrence (``fold=0``) and an ambiguous close time its last (``fold=1``); an interval
  lying inside the repeated hour (02:15-02:45) is open during both occurrences and
  closed in between, exactly as the wall clock says.

This is the definition the brute-force oracle in the tests checks minute by minute.

Every function takes timezone-aware datetimes (naive ones raise ``ValueError``) and
returns UTC-aware ones. Holidays are plain local dates; see :func:`public_holidays`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from types import MappingProxyType
from typing import Final, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "END_OF_DAY",
    "BusinessCalendar",
    "Interval",
    "add_business_time",
    "add_business_time_excluding",
    "business_time_between",
    "business_time_between_excluding",
    "first_windows",
    "Timeline",
    "measure",
    "public_holidays",
    "timeline",
    "windows",
]

#: As the *close* of an interval, ``time(0, 0)`` means 24:00 — the end of the same day —
#: so a 24/7 day is ``(time(0, 0), END_OF_DAY)`` with no gap before midnight
#: (the one-minute 23:59-00:00 hole of Zammad bug #3180 cannot be expressed).
END_OF_DAY: Final = time(0, 0)

Interval: TypeAlias = tuple[datetime, datetime]
WallInterval: TypeAlias = tuple[time, time]

_DAY: Final = timedelta(days=1)
# Offsets are probed once per step; two UTC-offset changes that cancel out within one step
# would go unseen. No zone in tzdata has two offset changes less than a day apart.
_SCAN_STEP: Final = _DAY
# A calendar with no open instant for this long is treated as never open, so that
# add_business_time raises instead of scanning forever (e.g. every date a holiday).
_MAX_CLOSED_SPAN: Final = timedelta(days=2 * 366)
_WALL_TIME = re.compile(r"\d{2}:\d{2}(:\d{2})?")


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly opening hours in one IANA time zone, minus holidays.

    ``weekly`` maps a weekday (0 = Monday … 6 = Sunday) to that day's intervals, ordered and
    non-overlapping (touching is fine), each ``(open, close)`` with ``open < close`` and
    ``close == END_OF_DAY`` meaning 24:00. Missing weekdays are closed. ``holidays`` are
    local dates on which the calendar is closed all day.
    """

    tz: str
    weekly: Mapping[int, tuple[WallInterval, ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        _zone(self.tz)  # fail at construction, not at the first computation
        # Normalise so equal calendars compare and hash equal and nothing can mutate them.
        weekly = {day: _checked_day(day, self.weekly.get(day, ())) for day in range(7)}
        unknown_days = set(self.weekly) - set(weekly)
        if unknown_days:
            raise ValueError(
                f"weekday keys must be 0 (Monday) … 6 (Sunday), got {sorted(unknown_days, key=repr)}"
            )
        object.__setattr__(self, "weekly", MappingProxyType(weekly))
        holidays = frozenset(self.holidays)
        for day in holidays:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"holidays must be dates, got {day!r}")
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "_has_open_hours", any(weekly.values()))  # asked once per computation

    def __hash__(self) -> int:
        return hash((self.tz, tuple(self.weekly.items()), self.holidays))

    @classmethod
    def always(cls, tz: str = "UTC") -> BusinessCalendar:
        """Open 24/7, with no gap at midnight."""
        whole_day = ((time(0, 0), END_OF_DAY),)
        return cls(tz=tz, weekly={day: whole_day for day in range(7)})

    @classmethod
    def weekly_hours(
        cls,
        tz: str,
        hours: Mapping[int, Iterable[tuple[str | time, str | time]]],
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build from ``{0: [("09:00", "12:00"), ("13:00", "17:00")], …}``.

        Times are ``"HH:MM"``/``"HH:MM:SS"`` strings or ``time`` objects; ``"24:00"`` (or
        ``"00:00"`` as a close) means end of day.
        """
        weekly = {
            day: tuple(
                (_parse_wall_time(opens, is_close=False), _parse_wall_time(closes, is_close=True))
                for opens, closes in intervals
            )
            for day, intervals in hours.items()
        }
        return cls(tz=tz, weekly=weekly, holidays=frozenset(holidays))

    def has_open_hours(self) -> bool:
        return self._has_open_hours  # type: ignore[attr-defined]


def public_holidays(country: str, years: Iterable[int], subdiv: str | None = None) -> frozenset[date]:
    """Public holidays of ``country`` (ISO 3166 code, e.g. ``"DE"``) and optional subdivision
    (e.g. ``"BY"``) in the given years, as plain dates for :class:`BusinessCalendar`."""
    import holidays as holidays_lib  # only this helper needs the (large) holidays package

    try:
        found = holidays_lib.country_holidays(country, subdiv=subdiv, years=list(years))
    except NotImplementedError as error:  # the package's way of saying "unknown country/subdiv"
        raise ValueError(
            f"no public holidays known for country={country!r} subdiv={subdiv!r}: {error}"
        ) from None
    return frozenset(found.keys())


def windows(cal: BusinessCalendar, start: datetime, end: datetime) -> Iterator[Interval]:
    """The open windows overlapping ``[start, end)``, clipped to it, in order, as UTC
    ``(open, close)`` pairs. Touching windows are merged (24/7 yields one window)."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if start >= end:
        return iter(())
    timeline = _timeline(cal, start, end)
    if timeline is None:
        return _merged(_open_pieces(cal, start, end))
    return iter(timeline.windows(start, end))


def first_windows(cal: BusinessCalendar, start: datetime, end: datetime, limit: int) -> list[Interval]:
    """The first ``limit`` of :func:`windows` (an explanation shows a few, not months of them)."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if start >= end:
        return []
    timeline = _timeline(cal, start, end)
    if timeline is None:
        return list(islice(_merged(_open_pieces(cal, start, end)), limit))
    return timeline.windows(start, end, limit)


def business_time_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time elapsed from ``start`` to ``end``; zero when ``end <= start``."""
    return business_time_between_excluding(cal, start, end, ())


def add_business_time(cal: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The earliest instant by which ``duration`` of business time has elapsed after ``start``.

    A ``start`` outside business hours waits for the next window. A zero duration returns
    ``start``. Raises ``ValueError`` when the calendar never opens (no open hours at all, or
    closed for two years in a row, e.g. every date a holiday).
    """
    return add_business_time_excluding(cal, start, duration, ())


def business_time_between_excluding(
    cal: BusinessCalendar, start: datetime, end: datetime, paused: Sequence[Interval]
) -> timedelta:
    """Like :func:`business_time_between`, but time inside any ``paused`` interval (e.g. waiting
    on the customer) does not count. Paused intervals may overlap; an ongoing pause is passed
    with the caller's "now" as its end."""
    start, end = _utc(start, "start"), _utc(end, "end")
    return _elapsed(cal, start, end, _normalised_pauses(paused))


def add_business_time_excluding(
    cal: BusinessCalendar, start: datetime, duration: timedelta, paused: Sequence[Interval]
) -> datetime:
    """Like :func:`add_business_time`, but the clock stands still inside ``paused`` intervals."""
    start = _utc(start, "start")
    _check_duration(cal, duration)
    return _add(cal, start, duration, _normalised_pauses(paused))


def measure(
    cal: BusinessCalendar, start: datetime, end: datetime, durations: Sequence[timedelta],
    paused: Sequence[Interval] = (),
) -> tuple[timedelta, list[datetime]]:
    """One clock's arithmetic at once: the business time from ``start`` to ``end`` and, for each
    of ``durations``, the instant it is used up — :func:`business_time_between_excluding` and
    :func:`add_business_time_excluding` with the inputs checked and the pauses sorted once."""
    start, end = _utc(start, "start"), _utc(end, "end")
    for duration in durations:
        _check_duration(cal, duration)
    holes = _normalised_pauses(paused)
    return _elapsed(cal, start, end, holes), [_add(cal, start, duration, holes) for duration in durations]


def _elapsed(cal: BusinessCalendar, start: datetime, end: datetime, holes: Sequence[Interval]) -> timedelta:
    if end <= start:
        return timedelta(0)
    timeline = _timeline(cal, start, end)
    if timeline is None:
        return _total(_subtract(_open_pieces(cal, start, end), holes))
    elapsed = timeline.business_between(start, end)
    for hole_start, hole_end in holes:
        if hole_start < end and hole_end > start:
            elapsed -= timeline.business_between(max(hole_start, start), min(hole_end, end))
    return elapsed


def _add(cal: BusinessCalendar, start: datetime, duration: timedelta, holes: Sequence[Interval]) -> datetime:
    if not duration:
        return start
    # Look a little further each time; a calendar closed for years gets the scanning engine,
    # which raises the same error as always.
    try:
        horizon = max([start, *(hole_end for _, hole_end in holes)]) + duration * 7 + _GUESS_MARGIN
        while horizon - start <= _MAX_CLOSED_SPAN:
            timeline = _timeline(cal, start, horizon)
            if timeline is None:
                break
            due = timeline.add_excluding(start, duration, holes)
            if due is not None:
                return due
            horizon += horizon - start
    except OverflowError:
        pass  # near the end of datetime's range: the engine walks and reports it
    return _consume(_subtract(_open_pieces(cal, start, None), holes), start, duration)


# --- the cached timeline ----------------------------------------------------------------
#
# The engine below walks day by day: a clock started months ago costs a walk over months,
# on every recompute. A timeline holds a calendar's merged open windows over a range once,
# with the business time before each window, so "business time up to t" is a bisect and
# "the instant at which d has elapsed" is another. It is built by the engine itself, so it
# is exactly as correct as the engine (and the oracle tests run through it).

_TIMELINE_MARGIN: Final = timedelta(days=62)
_TIMELINE_MAX_SPAN: Final = timedelta(days=6 * 366)  # beyond this a request gets a timeline of its own
_GUESS_MARGIN: Final = timedelta(days=14)
_TIMELINES_KEPT: Final = 64


class Timeline:
    """Merged open windows over ``[lo, hi)`` (UTC) with running totals of business time."""

    __slots__ = ("lo", "hi", "opens", "closes", "before", "through")

    def __init__(self, cal: BusinessCalendar, lo: datetime, hi: datetime) -> None:
        self.lo, self.hi = lo, hi
        self.opens: list[datetime] = []
        self.closes: list[datetime] = []
        self.before: list[timedelta] = []  # business time in [lo, opens[i])
        self.through: list[timedelta] = []  # business time in [lo, closes[i])
        total = timedelta(0)
        for opens, closes in _merged(_open_pieces(cal, lo, hi)):
            self.opens.append(opens)
            self.closes.append(closes)
            self.before.append(total)
            total += closes - opens
            self.through.append(total)

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.lo <= start and end <= self.hi

    def business_until(self, moment: datetime) -> timedelta:
        """Business time in ``[lo, moment)``."""
        index = bisect_right(self.opens, moment) - 1
        if index < 0:
            return timedelta(0)
        return self.before[index] + (min(moment, self.closes[index]) - self.opens[index])

    def business_between(self, start: datetime, end: datetime) -> timedelta:
        return self.business_until(end) - self.business_until(start)

    def instant_reaching(self, amount: timedelta) -> datetime | None:
        """The earliest instant by which ``amount`` (> 0) has elapsed since ``lo``; None past ``hi``."""
        index = bisect_left(self.through, amount)
        if index == len(self.through):
            return None
        return self.closes[index] - (self.through[index] - amount)

    def add_excluding(self, start: datetime, duration: timedelta, holes: Sequence[Interval]) -> datetime | None:
        """``add_business_time_excluding`` within the timeline; None when the result lies past ``hi``."""
        cursor, remaining = start, duration
        for hole_start, hole_end in holes:  # ascending and disjoint
            if hole_end <= cursor:
                continue
            if hole_start > cursor:
                available = self.business_between(cursor, hole_start)
                if remaining <= available:
                    break
                remaining -= available
            cursor = hole_end
        return self.instant_reaching(self.business_until(cursor) + remaining)

    def windows(self, start: datetime, end: datetime, limit: int | None = None) -> list[Interval]:
        first = max(bisect_right(self.opens, start) - 1, 0)
        if first < len(self.closes) and self.closes[first] <= start:
            first += 1
        last = bisect_left(self.opens, end)  # windows opening at or after end are out
        if limit is not None:
            last = min(last, first + limit)
        found = list(zip(self.opens[first:last], self.closes[first:last]))
        if found:  # only the outer two can stick out of [start, end)
            found[0] = (max(found[0][0], start), found[0][1])
            found[-1] = (found[-1][0], min(found[-1][1], end))
        return found


# Keyed by identity (hashing a calendar walks its holidays): the calendar is kept with its
# timeline, so the id cannot be reused while the entry lives.
_timelines: dict[int, tuple[BusinessCalendar, Timeline]] = {}


def timeline(cal: BusinessCalendar, start: datetime, end: datetime) -> Timeline | None:
    """The calendar's timeline covering ``[start, end]`` (for arithmetic on many clocks at once),
    or None when that is out of ``datetime``'s reach."""
    return _timeline(cal, _utc(start, "start"), _utc(end, "end"))


def _timeline(cal: BusinessCalendar, start: datetime, end: datetime) -> Timeline | None:
    """A timeline of ``cal`` covering ``[start, end]``, reused and widened across calls; None
    when the range is out of ``datetime``'s reach (the engine then walks as before)."""
    entry = _timelines.get(id(cal))
    known = entry[1] if entry is not None and entry[0] is cal else None
    if known is not None and known.covers(start, end):
        return known
    try:
        lo, hi = start - _TIMELINE_MARGIN, end + max(_TIMELINE_MARGIN, end - start)
        if known is not None and max(hi, known.hi) - min(lo, known.lo) <= _TIMELINE_MAX_SPAN:
            lo, hi = min(lo, known.lo), max(hi, known.hi)
        timeline = Timeline(cal, lo, hi)
    except OverflowError:
        return None
    if len(_timelines) >= _TIMELINES_KEPT:
        _timelines.clear()
    _timelines[id(cal)] = (cal, timeline)
    return timeline


# --- the engine -------------------------------------------------------------------------


def _open_pieces(cal: BusinessCalendar, start: datetime, end: datetime | None) -> Iterator[Interval]:
    """Open intervals from ``start`` (UTC) to ``end`` or forever, ascending, not merged.

    Walks UTC time in stretches of constant UTC offset (at most one day each). Within a
    stretch, wall time is UTC plus a fixed offset, so each local interval maps back to
    instants by subtracting that offset — which is the wall-clock definition of the module
    docstring, gaps and repeated hours included.
    """
    zone = _zone(cal.tz)
    day_spans = {
        day: tuple(_span(interval) for interval in intervals) for day, intervals in cal.weekly.items()
    }
    cursor = start
    last_open = start
    while end is None or cursor < end:
        if end is None and cursor - last_open > _MAX_CLOSED_SPAN:
            raise ValueError(
                f"calendar in {cal.tz} has no open time in the {_MAX_CLOSED_SPAN.days} days after {last_open}"
            )
        stretch_end = _constant_offset_until(zone, cursor, cursor + _SCAN_STEP)
        if end is not None:
            stretch_end = min(stretch_end, end)
        offset = _offset(zone, cursor)
        wall_from = _naive(cursor + offset)
        wall_to = _naive(stretch_end + offset)
        day = wall_from.date()
        while day <= (wall_to - timedelta.resolution).date():
            if day not in cal.holidays:
                midnight = datetime.combine(day, time(0, 0))
                for open_after, close_after in day_spans[day.weekday()]:
                    wall_open = max(wall_from, midnight + open_after)
                    wall_close = min(wall_to, midnight + close_after)
                    if wall_open < wall_close:
                        last_open = _aware(wall_close - offset)
                        yield _aware(wall_open - offset), last_open
            day += _DAY
        cursor = stretch_end


def _constant_offset_until(zone: ZoneInfo, start: datetime, limit: datetime) -> datetime:
    """The first instant after ``start`` whose UTC offset differs from ``start``'s, or ``limit``."""
    offset = _offset(zone, start)
    if _offset(zone, limit) == offset:
        return limit
    same, changed = start, limit  # bisect to the microsecond; happens twice a year per zone
    while changed - same > timedelta.resolution:
        middle = same + (changed - same) // 2
        if _offset(zone, middle) == offset:
            same = middle
        else:
            changed = middle
    return changed


def _consume(pieces: Iterable[Interval], start: datetime, duration: timedelta) -> datetime:
    remaining = duration
    if not remaining:
        return start
    for opens, closes in pieces:
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("unreachable: open pieces without an end are infinite or raise")


def _subtract(pieces: Iterable[Interval], holes: Sequence[Interval]) -> Iterator[Interval]:
    """``pieces`` (ascending) minus ``holes`` (ascending, disjoint)."""
    first_relevant = 0
    for opens, closes in pieces:
        while first_relevant < len(holes) and holes[first_relevant][1] <= opens:
            first_relevant += 1
        cursor = opens
        for hole_start, hole_end in holes[first_relevant:]:
            if hole_start >= closes:
                break
            if hole_start > cursor:
                yield cursor, hole_start
            cursor = max(cursor, hole_end)
        if cursor < closes:
            yield cursor, closes


def _merged(pieces: Iterable[Interval]) -> Iterator[Interval]:
    current: Interval | None = None
    for opens, closes in pieces:
        if current is not None and current[1] == opens:
            current = (current[0], closes)
            continue
        if current is not None:
            yield current
        current = (opens, closes)
    if current is not None:
        yield current


def _total(intervals: Iterable[Interval]) -> timedelta:
    return sum((closes - opens for opens, closes in intervals), timedelta(0))


# --- validation and small conversions ---------------------------------------------------


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)  # cached by zoneinfo itself
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(f"unknown time zone {tz!r}: expected an IANA name such as 'Europe/Berlin'") from None


def _checked_day(day: int, intervals: Iterable[Sequence[time]]) -> tuple[WallInterval, ...]:
    checked: list[WallInterval] = []
    previous_close = timedelta(0)
    for interval in intervals:
        if len(interval) != 2 or not all(isinstance(t, time) for t in interval):
            raise ValueError(f"weekday {day}: an interval is a pair of datetime.time, got {interval!r}")
        opens_at, closes_at = interval
        if opens_at.tzinfo is not None or closes_at.tzinfo is not None:
            raise ValueError(f"weekday {day}: interval {interval!r} must use naive wall-clock times")
        opens, closes = _span((opens_at, closes_at))
        if opens >= closes:
            raise ValueError(f"weekday {day}: interval {_show(interval)} must open before it closes")
        if opens < previous_close:
            raise ValueError(
                f"weekday {day}: interval {_show(interval)} overlaps or precedes the one before it"
            )
        previous_close = closes
        checked.append((opens_at, closes_at))
    return tuple(checked)


def _span(interval: WallInterval) -> tuple[timedelta, timedelta]:
    """Offsets of an interval's open and close from local midnight; a close of 00:00 is 24:00."""
    opens, closes = (
        timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)
        for t in interval
    )
    return opens, (closes or _DAY)


def _show(interval: Sequence[time]) -> str:
    opens, closes = interval
    return f"{opens.isoformat()}-{'24:00' if closes == END_OF_DAY else closes.isoformat()}"


def _parse_wall_time(value: str | time, *, is_close: bool) -> time:
    if isinstance(value, time):
        return value
    if value == "24:00":
        if not is_close:
            raise ValueError("'24:00' can only close an interval")
        return END_OF_DAY
    if not isinstance(value, str) or not _WALL_TIME.fullmatch(value):
        raise ValueError(f"wall-clock time must be 'HH:MM', 'HH:MM:SS' or '24:00', got {value!r}")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a valid wall-clock time: {value!r}") from None


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


def _normalised_pauses(paused: Sequence[Interval]) -> list[Interval]:
    pauses = []
    for pause_start, pause_end in paused:
        pause_start, pause_end = _utc(pause_start, "pause start"), _utc(pause_end, "pause end")
        if pause_end < pause_start:
            raise ValueError(
                f"pause ends before it starts: {pause_start.isoformat()} > {pause_end.isoformat()}"
            )
        pauses.append((pause_start, pause_end))
    merged: list[Interval] = []
    for pause_start, pause_end in sorted(pauses):
        if merged and pause_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], pause_end))
        elif pause_start < pause_end:
            merged.append((pause_start, pause_end))
    return merged


def _check_duration(cal: BusinessCalendar, duration: timedelta) -> None:
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if duration and not cal.has_open_hours():
        raise ValueError(f"calendar in {cal.tz} has no open hours on any weekday")


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _aware(utc_wall: datetime) -> datetime:
    return utc_wall.replace(tzinfo=timezone.utc)
