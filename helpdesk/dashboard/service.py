"""Dashboard figures, each computed by a few aggregate queries (no ticket is loaded into Python).

Definitions (the README's "SLA dashboard" section says the same in short):
- backlog: tickets in an open status; over time, tickets created and not yet solved at the end of
  each UTC day (from created_at/solved_at, so a reopened ticket counts as open since creation);
- at risk: a running (not stopped, not paused) target due within the next hour; breached: one
  already past its due time — a ticket counts once, under its earliest due target;
- compliance: targets whose outcome was decided in the window — met when stopped within the
  business-time budget, breached at the due time otherwise — met / decided;
- first response percentiles: nearest-rank over stopped first-response clocks' business minutes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk.actors import Actor
from helpdesk.auth.tables import Agent, Team
from helpdesk.dashboard.schemas import (
    BreakdownRow,
    Compliance,
    DashboardSeries,
    DashboardSummary,
    DayPoint,
    RiskTicket,
    RiskTickets,
)
from helpdesk.dashboard.sql import OPEN_LIST, Filters, Params, day_index, decided_clocks, percentiles
from helpdesk.errors import ValidationFailed
from helpdesk.sla.tables import SlaClock
from helpdesk.tickets.numbers import ticket_number

MAX_DAYS = 366
AT_RISK_WINDOW = timedelta(hours=1)
BREAKDOWNS = {"team": "t.team", "agent": "t.assignee"}
RISK_STATES = ("at_risk", "breached")


def check_period(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"days must be between 1 and {MAX_DAYS}", field="days")
    return days


def period_start(now: datetime, days: int) -> datetime:
    """UTC midnight ``days - 1`` days before today: the period holds today and the days before."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


async def _rows(sql: str, p: Params) -> list[dict[str, Any]]:
    return await SlaClock.raw(sql, *p.values).run()


def _percent(met: int, measured: int) -> float | None:
    return round(100 * met / measured, 2) if measured else None


def _minutes(seconds: int | float | None) -> float | None:
    return round(seconds / 60, 2) if seconds is not None else None


# ---------------------------------------------------------------- tiles


async def summary(actor: Actor, filters: Filters, *, days: int, now: datetime) -> DashboardSummary:
    actor.require("lead")
    start = period_start(now, check_period(days))
    today = period_start(now, 1)
    # Independent reads: run side by side (a pooled connection each on PostgreSQL, a thread each on SQLite).
    (backlog, unassigned), risk, compliance, (p50, p90) = await asyncio.gather(
        _backlog_now(filters),
        _risk_counts(filters, now=now),
        _compliance_windows(filters, now=now, windows={
            "today": today, "7d": now - timedelta(days=7), "30d": now - timedelta(days=30)}),
        _first_response_percentiles(filters, start=start, now=now),
    )
    return DashboardSummary(
        generated_at=now, period_days=days, open_backlog=backlog, unassigned=unassigned,
        at_risk=risk.get("at_risk", 0), breached=risk.get("breached", 0),
        compliance_today=compliance["today"], compliance_7d=compliance["7d"], compliance_30d=compliance["30d"],
        first_response_p50_minutes=p50, first_response_p90_minutes=p90,
    )


async def _backlog_now(filters: Filters) -> tuple[int, int]:
    p = Params()
    [row] = await _rows(f"""
        SELECT COUNT(*) AS open, SUM(CASE WHEN t.assignee IS NULL THEN 1 ELSE 0 END) AS unassigned
        FROM ticket t WHERE t.status IN ({OPEN_LIST}){filters.on_tickets(p)}""", p)
    return row["open"], row["unassigned"] or 0


def _first_due(p: Params, filters: Filters, *, now: datetime) -> str:
    """Per open ticket, the earliest due time of its running targets, when within the at-risk window."""
    return f"""
        SELECT c.ticket AS ticket, MIN(c.due_at) AS due_at
        FROM sla_clock c JOIN ticket t ON t.id = c.ticket
        WHERE c.stopped_at IS NULL AND c.due_at <= {p(now + AT_RISK_WINDOW)}
          AND t.status IN ({OPEN_LIST}){filters.on_clocks(p)}
        GROUP BY c.ticket"""


async def _risk_counts(filters: Filters, *, now: datetime) -> dict[str, int]:
    p = Params()  # placeholders are numbered in text order: build the query left to right
    state = f"CASE WHEN due_at <= {p(now)} THEN 'breached' ELSE 'at_risk' END"
    rows = await _rows(f"SELECT {state} AS state, COUNT(*) AS tickets FROM ({_first_due(p, filters, now=now)}) e "
                       "GROUP BY 1", p)
    return {row["state"]: row["tickets"] for row in rows}


async def _compliance_windows(filters: Filters, *, now: datetime, windows: dict[str, datetime]) -> dict[str, Compliance]:
    """All windows in one pass over the clocks decided since the earliest window start."""
    p = Params()
    sums = ", ".join(
        f"SUM(CASE WHEN decided_at >= {p(since)} THEN 1 ELSE 0 END) AS n_{name}, "
        f"SUM(CASE WHEN decided_at >= {p(since)} THEN met ELSE 0 END) AS met_{name}"
        for name, since in windows.items())
    source = decided_clocks(p, filters, start=min(windows.values()), now=now, columns="c.id")
    [row] = await _rows(f"SELECT {sums} FROM ({source}) d", p)
    result = {}
    for name in windows:
        measured, met = row[f"n_{name}"] or 0, row[f"met_{name}"] or 0
        result[name] = Compliance(measured=measured, met=met, percent=_percent(met, measured))
    return result


async def _first_response_percentiles(filters: Filters, *, start: datetime, now: datetime) -> tuple[float | None, float | None]:
    p = Params()
    source = _first_responses(p, filters, group="0", start=start, now=now)
    rows = await _rows(percentiles(source, group="g", value="elapsed", fractions={"p50": 0.5, "p90": 0.9}), p)
    return (_minutes(rows[0]["p50"]), _minutes(rows[0]["p90"])) if rows else (None, None)


def _first_responses(p: Params, filters: Filters, *, group: str, start: datetime, now: datetime) -> str:
    """First-response clocks stopped (answered) in [start, now], with their business seconds."""
    return f"""
        SELECT {group} AS g, c.elapsed_seconds AS elapsed FROM {filters.clocks_from(ticket_columns=group != "0")}
        WHERE c.target = 'first_response' AND c.stopped_at >= {p(start)} AND c.stopped_at <= {p(now)}
              {filters.on_clocks(p)}"""


# ---------------------------------------------------------------- per team / per agent


async def breakdown(actor: Actor, filters: Filters, *, by: str, days: int, now: datetime) -> list[BreakdownRow]:
    actor.require("lead")
    if by not in BREAKDOWNS:
        raise ValidationFailed(f"by must be one of {', '.join(BREAKDOWNS)}", field="by")
    start = period_start(now, check_period(days))
    group = BREAKDOWNS[by]

    p1, p2, p3, p4 = Params(), Params(), Params(), Params()
    open_rows, solved_rows, outcome_rows, median_rows, names = await asyncio.gather(
        _rows(f"""SELECT {group} AS g, COUNT(*) AS n FROM ticket t
            WHERE t.status IN ({OPEN_LIST}){filters.on_tickets(p1)} GROUP BY {group}""", p1),
        _rows(f"""SELECT {group} AS g, COUNT(*) AS n FROM ticket t
            WHERE t.solved_at >= {p2(start)} AND t.solved_at <= {p2(now)}{filters.on_tickets(p2)} GROUP BY {group}""", p2),
        _rows(f"""SELECT g, COUNT(*) AS measured, SUM(met) AS met
            FROM ({decided_clocks(p3, filters, start=start, now=now, columns=f"{group} AS g", ticket_columns=True)}) d
            GROUP BY g""", p3),
        _rows(percentiles(_first_responses(p4, filters, group=group, start=start, now=now),
                          group="g", value="elapsed", fractions={"p50": 0.5}), p4),
        _names(by),
    )

    opened = {row["g"]: row["n"] for row in open_rows}
    solved = {row["g"]: row["n"] for row in solved_rows}
    outcomes = {row["g"]: (row["measured"], row["met"] or 0) for row in outcome_rows}
    medians = {row["g"]: row["p50"] for row in median_rows}
    rows = []
    for key in set(opened) | set(solved) | set(outcomes) | set(medians):
        measured, met = outcomes.get(key, (0, 0))
        rows.append(BreakdownRow(
            group_id=key, name=names.get(key, f"#{key}") if key is not None else _NO_GROUP[by],
            open=opened.get(key, 0), solved=solved.get(key, 0), measured=measured, met=met,
            compliance_percent=_percent(met, measured), first_response_median_minutes=_minutes(medians.get(key))))
    return sorted(rows, key=lambda row: (row.group_id is None, row.name.lower(), row.group_id or 0))


_NO_GROUP = {"team": "No team", "agent": "Unassigned"}


async def _names(by: str) -> dict[int, str]:
    table = Team if by == "team" else Agent
    return {row["id"]: row["name"] for row in await table.select(table.id, table.name).run()}


# ---------------------------------------------------------------- daily series


async def series(actor: Actor, filters: Filters, *, days: int, now: datetime) -> DashboardSeries:
    actor.require("lead")
    start = period_start(now, check_period(days))

    p1, p2, p3 = Params(), Params(), Params()
    flows, [unsolved], outcomes = await asyncio.gather(
        _rows(f"""SELECT d, SUM(created) AS created, SUM(solved) AS solved FROM (
                SELECT {day_index('t.created_at', start)} AS d, 1 AS created, 0 AS solved FROM ticket t
                WHERE t.created_at >= {p1(start)}{filters.on_tickets(p1)}
                UNION ALL
                SELECT {day_index('t.solved_at', start)} AS d, 0 AS created, 1 AS solved FROM ticket t
                WHERE t.solved_at >= {p1(start)}{filters.on_tickets(p1)}
            ) f GROUP BY d""", p1),
        _rows(f"SELECT COUNT(*) AS n FROM ticket t WHERE t.solved_at IS NULL{filters.on_tickets(p2)}", p2),
        _rows(f"""SELECT {day_index('decided_at', start)} AS d, COUNT(*) AS measured, SUM(met) AS met
            FROM ({decided_clocks(p3, filters, start=start, now=now, columns="c.id")}) o
            GROUP BY {day_index('decided_at', start)}""", p3),
    )

    created = {row["d"]: row["created"] for row in flows}
    solved = {row["d"]: row["solved"] for row in flows}
    decided = {row["d"]: (row["measured"], row["met"] or 0) for row in outcomes}
    # Backlog at the end of day d = unsolved now − created after d + solved after d (walked back from today).
    backlog = unsolved["n"]
    points: list[DayPoint] = []
    for d in reversed(range(days)):
        measured, met = decided.get(d, (0, 0))
        points.append(DayPoint(
            day=(start + timedelta(days=d)).date(), backlog=backlog, created=created.get(d, 0), solved=solved.get(d, 0),
            measured=measured, breaches=measured - met, compliance_percent=_percent(met, measured)))
        backlog += -created.get(d, 0) + solved.get(d, 0)
    points.reverse()
    return DashboardSeries(generated_at=now, days=points)


# ---------------------------------------------------------------- tickets at risk / breached


async def risk_tickets(actor: Actor, filters: Filters, *, state: str, now: datetime, limit: int | None) -> RiskTickets:
    """The tickets at risk (soonest due first) or breached (longest overdue first)."""
    actor.require("lead")
    if state not in RISK_STATES:
        raise ValidationFailed(f"state must be one of {', '.join(RISK_STATES)}", field="state")
    if limit is not None and not 1 <= limit <= 500:
        raise ValidationFailed("limit must be between 1 and 500", field="limit")
    p = Params()  # placeholders are numbered in text order: the source comes first
    source = _first_due(p, filters, now=now)
    condition = f"f.due_at <= {p(now)}" if state == "breached" else f"f.due_at > {p(now)}"
    # The clock(s) behind each listed ticket's earliest due time give the target's name.
    rows = await _rows(f"""
        SELECT e.ticket AS id, c.target AS target, e.due_at AS due_at, e.total AS total, t.subject AS subject,
               t.priority AS priority, t.status AS status, t.team AS team, t.assignee AS assignee
        FROM (SELECT ticket, due_at, COUNT(*) OVER () AS total FROM ({source}) f WHERE {condition}
              ORDER BY f.due_at, f.ticket{f" LIMIT {int(limit)}" if limit else ""}) e
        JOIN ticket t ON t.id = e.ticket
        JOIN sla_clock c ON c.ticket = e.ticket AND c.due_at = e.due_at AND c.stopped_at IS NULL
        ORDER BY e.due_at, e.ticket, c.target""", p)
    first = {row["id"]: row for row in reversed(rows)}  # one row per ticket: the first target by name
    ordered = sorted(first.values(), key=lambda row: (_instant(row["due_at"]), row["id"]))
    total = rows[0]["total"] if rows else 0  # counted before the limit
    return RiskTickets(state=state, total=total, tickets=[RiskTicket(
        id=row["id"], number=ticket_number(row["id"]), subject=row["subject"], priority=row["priority"],
        status=row["status"], team_id=row["team"], assignee_id=row["assignee"], target=row["target"],
        due_at=_instant(row["due_at"])) for row in ordered])


def _instant(value: datetime | str) -> datetime:
    """SQLite hands back a subquery's timestamp as the text Piccolo stored (UTC)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
