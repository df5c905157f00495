from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from helpdesk.schemas import AwareDatetime
from helpdesk.sla import report as sla_report
from helpdesk.sla import service
from helpdesk.sla.schemas import (
    CalendarCreate,
    CalendarRead,
    CalendarUpdate,
    ClockRead,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    SlaReport,
)
from helpdesk.web.auth import CurrentActor, Now, requires


class SlaCalendarController(Controller):
    path = "/api/sla/calendars"
    tags = ["sla"]

    @get("/", operation_id="list_sla_calendars")
    async def list_calendars(self) -> list[CalendarRead]:
        return await service.list_calendars()

    @get("/{calendar_id:int}", operation_id="get_sla_calendar")
    async def get_calendar(self, calendar_id: FromPath[int]) -> CalendarRead:
        return await service.get_calendar(calendar_id)

    @post("/", operation_id="create_sla_calendar", guards=[requires("admin")])
    async def create_calendar(self, data: JSONBody[CalendarCreate], actor: CurrentActor, now: Now) -> CalendarRead:
        return await service.create_calendar(actor, data, now=now)

    @patch("/{calendar_id:int}", operation_id="update_sla_calendar", guards=[requires("admin")])
    async def update_calendar(
        self, calendar_id: FromPath[int], data: JSONBody[CalendarUpdate], actor: CurrentActor, now: Now
    ) -> CalendarRead:
        return await service.update_calendar(actor, calendar_id, data, now=now)


class SlaPolicyController(Controller):
    path = "/api/sla/policies"
    tags = ["sla"]

    @get("/", operation_id="list_sla_policies")
    async def list_policies(self) -> list[PolicyRead]:
        """In evaluation order: the first enabled policy matching a ticket applies."""
        return await service.list_policies()

    @get("/{policy_id:int}", operation_id="get_sla_policy")
    async def get_policy(self, policy_id: FromPath[int]) -> PolicyRead:
        return await service.get_policy(policy_id)

    @post("/", operation_id="create_sla_policy", guards=[requires("admin")])
    async def create_policy(self, data: JSONBody[PolicyCreate], actor: CurrentActor, now: Now) -> PolicyRead:
        return await service.create_policy(actor, data, now=now)

    @patch("/{policy_id:int}", operation_id="update_sla_policy", guards=[requires("admin")])
    async def update_policy(
        self, policy_id: FromPath[int], data: JSONBody[PolicyUpdate], actor: CurrentActor, now: Now
    ) -> PolicyRead:
        return await service.update_policy(actor, policy_id, data, now=now)

    @delete("/{policy_id:int}", operation_id="delete_sla_policy", guards=[requires("admin")])
    async def delete_policy(self, policy_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_policy(actor, policy_id, now=now)


class TicketSlaController(Controller):
    path = "/api"
    tags = ["sla"]

    @get("/tickets/{ticket_id:int}/sla", operation_id="get_ticket_sla")
    async def ticket_sla(self, ticket_id: FromPath[int], now: Now) -> list[ClockRead]:
        """Each clock with how its due time came out: policy, calendar windows, paused intervals."""
        return await service.ticket_clocks(ticket_id, now=now)

    @get("/reports/sla", operation_id="report_sla", guards=[requires("lead")])
    async def report(
        self, actor: CurrentActor, now: Now, start: FromQuery[AwareDatetime], end: FromQuery[AwareDatetime],
        group_by: FromQuery[str] = "policy", team_id: FromQuery[int | None] = None,
        policy_id: FromQuery[int | None] = None,
    ) -> SlaReport:
        return await sla_report.report(actor, start=start, end=end, group_by=group_by, now=now, team_id=team_id,
                                    policy_id=policy_id)
