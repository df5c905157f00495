from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import FromQuery, QueryParameter

from helpdesk.dashboard import export, service
from helpdesk.dashboard.schemas import BreakdownRow, DashboardSeries, DashboardSummary, RiskTickets
from helpdesk.dashboard.sql import Filters
from helpdesk.web.auth import CurrentActor, Now, requires

CSV = "text/csv; charset=utf-8"
# "state" is a name Litestar reserves for the app state: the handlers take it as risk_state.
RiskState = Annotated[str, QueryParameter(name="state")]


def _csv(name: str, text: str) -> Response[str]:
    return Response(text, media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "X-Content-Type-Options": "nosniff"})


class DashboardController(Controller):
    """The SLA dashboard for leads and admins; ``days`` is the period (today and the days before, UTC)."""

    path = "/api/dashboard"
    tags = ["dashboard"]
    guards = [requires("lead")]

    @get("/summary", operation_id="dashboard_summary")
    async def summary(self, actor: CurrentActor, now: Now, days: FromQuery[int] = 30,
                      team_id: FromQuery[int | None] = None, policy_id: FromQuery[int | None] = None) -> DashboardSummary:
        return await service.summary(actor, Filters(team_id, policy_id), days=days, now=now)

    @get("/breakdown", operation_id="dashboard_breakdown")
    async def breakdown(self, actor: CurrentActor, now: Now, by: FromQuery[str] = "team", days: FromQuery[int] = 30,
                        team_id: FromQuery[int | None] = None,
                        policy_id: FromQuery[int | None] = None) -> list[BreakdownRow]:
        return await service.breakdown(actor, Filters(team_id, policy_id), by=by, days=days, now=now)

    @get("/breakdown.csv", operation_id="dashboard_breakdown_csv", media_type=CSV)
    async def breakdown_csv(self, actor: CurrentActor, now: Now, by: FromQuery[str] = "team", days: FromQuery[int] = 30,
                            team_id: FromQuery[int | None] = None,
                            policy_id: FromQuery[int | None] = None) -> Response[str]:
        rows = await service.breakdown(actor, Filters(team_id, policy_id), by=by, days=days, now=now)
        return _csv(f"sla-by-{by}", export.to_csv(export.BREAKDOWN_COLUMNS, rows))

    @get("/series", operation_id="dashboard_series")
    async def series(self, actor: CurrentActor, now: Now, days: FromQuery[int] = 30,
                     team_id: FromQuery[int | None] = None, policy_id: FromQuery[int | None] = None) -> DashboardSeries:
        return await service.series(actor, Filters(team_id, policy_id), days=days, now=now)

    @get("/series.csv", operation_id="dashboard_series_csv", media_type=CSV)
    async def series_csv(self, actor: CurrentActor, now: Now, days: FromQuery[int] = 30,
                         team_id: FromQuery[int | None] = None,
                         policy_id: FromQuery[int | None] = None) -> Response[str]:
        result = await service.series(actor, Filters(team_id, policy_id), days=days, now=now)
        return _csv("sla-daily", export.to_csv(export.SERIES_COLUMNS, result.days))

    @get("/tickets", operation_id="dashboard_tickets")
    async def tickets(self, actor: CurrentActor, now: Now, risk_state: RiskState = "breached",
                      limit: FromQuery[int] = 50, team_id: FromQuery[int | None] = None,
                      policy_id: FromQuery[int | None] = None) -> RiskTickets:
        """Tickets ``at_risk`` (a target due within the hour) or ``breached`` (past due), most urgent first."""
        return await service.risk_tickets(actor, Filters(team_id, policy_id), state=risk_state, now=now, limit=limit)

    @get("/tickets.csv", operation_id="dashboard_tickets_csv", media_type=CSV)
    async def tickets_csv(self, actor: CurrentActor, now: Now, risk_state: RiskState = "breached",
                          team_id: FromQuery[int | None] = None,
                          policy_id: FromQuery[int | None] = None) -> Response[str]:
        result = await service.risk_tickets(actor, Filters(team_id, policy_id), state=risk_state, now=now, limit=None)
        return _csv(f"sla-{risk_state}", export.to_csv(export.TICKET_COLUMNS, result.tickets))
