from __future__ import annotations

from datetime import timedelta

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from helpdesk.queues import service
from helpdesk.queues.schemas import (
    BreachingQueue,
    DueAnswer,
    SavedFilterCreate,
    SavedFilterRead,
    SavedFilterUpdate,
)
from helpdesk.web.auth import CurrentActor, Now


class SavedFilterController(Controller):
    path = "/api/saved-filters"
    tags = ["queues"]

    @get("/", operation_id="list_saved_filters")
    async def list_filters(self, actor: CurrentActor) -> list[SavedFilterRead]:
        """The calling agent's saved filters, by name."""
        return await service.list_saved_filters(actor)

    @get("/{filter_id:int}", operation_id="get_saved_filter")
    async def get_filter(self, filter_id: FromPath[int], actor: CurrentActor) -> SavedFilterRead:
        return await service.access_saved_filter(actor, filter_id)

    @post("/", operation_id="create_saved_filter")
    async def create_filter(self, data: JSONBody[SavedFilterCreate], actor: CurrentActor, now: Now) -> SavedFilterRead:
        return await service.create_saved_filter(actor, data, now=now)

    @patch("/{filter_id:int}", operation_id="update_saved_filter")
    async def update_filter(
        self, filter_id: FromPath[int], data: JSONBody[SavedFilterUpdate], actor: CurrentActor, now: Now
    ) -> SavedFilterRead:
        return await service.update_saved_filter(actor, filter_id, data, now=now)

    @delete("/{filter_id:int}", operation_id="delete_saved_filter")
    async def delete_filter(self, filter_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_saved_filter(actor, filter_id, now=now)


class SlaDueController(Controller):
    path = "/api/sla"
    tags = ["queues"]

    @get("/due", operation_id="list_sla_due")
    async def due(self, now: Now, ticket_id: FromQuery[list[int] | None] = None) -> DueAnswer:
        """The next due SLA clock of each ticket named (``?ticket_id=1&ticket_id=2``, at most 200)."""
        return await service.due_for_tickets(ticket_id or [], now=now)

    @get("/breaching", operation_id="list_sla_breaching")
    async def breaching(self, now: Now, within_minutes: FromQuery[int] = 60, limit: FromQuery[int] = 100) -> BreachingQueue:
        """Open tickets whose SLA is breached, warning, or due within ``within_minutes``; due first."""
        return await service.breaching_soon(now=now, within=timedelta(minutes=within_minutes), limit=limit)
