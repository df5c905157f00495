from __future__ import annotations

from urllib.parse import quote

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from helpdesk.pagination import DEFAULT_LIMIT, Page
from helpdesk.tickets import service
from helpdesk.tickets.schemas import (
    BacklogRow,
    MessageCreate,
    MessageRead,
    TicketAssign,
    TicketCount,
    TicketCreate,
    TicketDetail,
    TicketRead,
    TicketUpdate,
)
from helpdesk.web.auth import CurrentActor, Now, requires


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()


class TicketController(Controller):
    path = "/api/tickets"
    tags = ["tickets"]

    @get("/", operation_id="list_tickets")
    async def list_tickets(
        self,
        actor: CurrentActor,
        status: FromQuery[str | None] = None,
        priority: FromQuery[str | None] = None,
        assignee: FromQuery[str | None] = None,
        team_id: FromQuery[int | None] = None,
        account_id: FromQuery[int | None] = None,
        contact_id: FromQuery[int | None] = None,
        tag: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        sort: FromQuery[str] = "updated",
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[TicketRead]:
        """Filters combine with AND; ``status`` and ``priority`` take comma-separated lists,
        ``assignee`` an agent id, ``me`` or ``none``; ``sort`` is updated, created or priority (newest first)."""
        query = service.TicketQuery(
            statuses=_csv(status), priorities=_csv(priority), assignee=assignee, team_id=team_id,
            account_id=account_id, contact_id=contact_id, tag=tag, text=q, sort=sort,
        )
        return await service.list_tickets(actor, query, cursor=cursor, limit=limit)

    @get("/count", operation_id="count_tickets")
    async def count_tickets(
        self,
        actor: CurrentActor,
        status: FromQuery[str | None] = None,
        priority: FromQuery[str | None] = None,
        assignee: FromQuery[str | None] = None,
        team_id: FromQuery[int | None] = None,
        account_id: FromQuery[int | None] = None,
        contact_id: FromQuery[int | None] = None,
        tag: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
    ) -> TicketCount:
        """The exact number of tickets ``GET /api/tickets`` lists for the same filters."""
        query = service.TicketQuery(
            statuses=_csv(status), priorities=_csv(priority), assignee=assignee, team_id=team_id,
            account_id=account_id, contact_id=contact_id, tag=tag, text=q,
        )
        return TicketCount(count=await service.count_tickets(actor, query))

    @post("/", operation_id="create_ticket")
    async def create_ticket(self, data: JSONBody[TicketCreate], actor: CurrentActor, now: Now) -> TicketDetail:
        return await service.create_ticket(actor, data, now=now)

    @get("/{ticket_id:int}", operation_id="get_ticket")
    async def get_ticket(self, ticket_id: FromPath[int]) -> TicketDetail:
        return await service.get_ticket_detail(ticket_id)

    @patch("/{ticket_id:int}", operation_id="update_ticket")
    async def update_ticket(self, ticket_id: FromPath[int], data: JSONBody[TicketUpdate], actor: CurrentActor, now: Now) -> TicketRead:
        return await service.update_ticket(actor, ticket_id, data, now=now)

    @post("/{ticket_id:int}/assign", operation_id="assign_ticket", status_code=200)
    async def assign_ticket(self, ticket_id: FromPath[int], data: JSONBody[TicketAssign], actor: CurrentActor, now: Now) -> TicketRead:
        update = TicketUpdate(version=data.version, assignee_id=data.assignee_id, team_id=data.team_id)
        return await service.update_ticket(actor, ticket_id, update, now=now)

    @post("/{ticket_id:int}/messages", operation_id="add_ticket_message")
    async def add_message(self, ticket_id: FromPath[int], data: JSONBody[MessageCreate], actor: CurrentActor, now: Now) -> MessageRead:
        return await service.add_message(actor, ticket_id, data, now=now)


class AttachmentController(Controller):
    path = "/api/attachments"
    tags = ["tickets"]

    @get("/{attachment_id:int}", operation_id="download_attachment", media_type="application/octet-stream")
    async def download(self, attachment_id: FromPath[int]) -> Response[bytes]:
        attachment, content = await service.get_attachment(attachment_id)
        # Always a download, never rendered: customer files must not run in our origin.
        return Response(
            content,
            media_type=attachment.content_type,
            headers={
                "Content-Disposition": _content_disposition(attachment.filename),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox; default-src 'none'",
            },
        )


def _content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class ReportController(Controller):
    path = "/api/reports"
    tags = ["reports"]
    guards = [requires("lead")]

    @get("/backlog", operation_id="report_backlog")
    async def backlog(self, actor: CurrentActor) -> list[BacklogRow]:
        return await service.backlog(actor)
