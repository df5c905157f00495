from __future__ import annotations

from datetime import date, datetime

import msgspec


class Compliance(msgspec.Struct, kw_only=True):
    """SLA targets decided in a window: met in time, or breached (due time passed unmet)."""

    measured: int
    met: int
    percent: float | None  # None when nothing was measured


class DashboardSummary(msgspec.Struct, kw_only=True):
    generated_at: datetime
    period_days: int
    open_backlog: int
    unassigned: int
    at_risk: int  # tickets with a running target due within the next hour
    breached: int  # tickets with a running target past its due time
    compliance_today: Compliance
    compliance_7d: Compliance
    compliance_30d: Compliance
    first_response_p50_minutes: float | None  # business minutes, over the period
    first_response_p90_minutes: float | None


class BreakdownRow(msgspec.Struct, kw_only=True):
    group_id: int | None  # None: no team / unassigned
    name: str
    open: int
    solved: int
    measured: int
    met: int
    compliance_percent: float | None
    first_response_median_minutes: float | None


class DayPoint(msgspec.Struct, kw_only=True):
    day: date  # a UTC day
    backlog: int  # open at the end of the day (or now, for today)
    created: int
    solved: int
    measured: int
    breaches: int
    compliance_percent: float | None


class DashboardSeries(msgspec.Struct, kw_only=True):
    generated_at: datetime
    days: list[DayPoint]


class RiskTicket(msgspec.Struct, kw_only=True):
    id: int
    number: str
    subject: str
    priority: str
    status: str
    team_id: int | None
    assignee_id: int | None
    target: str  # the running target due first
    due_at: datetime


class RiskTickets(msgspec.Struct, kw_only=True):
    state: str  # at_risk or breached
    total: int
    tickets: list[RiskTicket]
