from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, patch, post

from helpdesk.activities import service
from helpdesk.activities.schemas import ActivityCreate, ActivityRead, ActivityUpdate, Kind
from helpdesk.actors import Actor
from helpdesk.pagination import DEFAULT_LIMIT, Page


class ActivityController(Controller):
    path = "/api/activities"
    tags = ["activities"]

    @get("/", operation_id="list_activities")
    async def list_activities(
        self, actor: Actor, account_id: int | None = None, contact_id: int | None = None,
        ticket_id: int | None = None, kind: Kind | None = None, assignee: str | None = None,
        done: bool | None = None, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page[ActivityRead]:
        query = service.ActivityQuery(
            account_id=account_id, contact_id=contact_id, ticket_id=ticket_id, kind=kind, assignee=assignee, done=done
        )
        return await service.list_activities(actor, query, cursor=cursor, limit=limit)

    @get("/{activity_id:int}", operation_id="get_activity")
    async def get_activity(self, activity_id: int) -> ActivityRead:
        return await service.get_activity(activity_id)

    @post("/", operation_id="create_activity")
    async def create_activity(self, data: ActivityCreate, actor: Actor, now: datetime) -> ActivityRead:
        return await service.create_activity(actor, data, now=now)

    @patch("/{activity_id:int}", operation_id="update_activity")
    async def update_activity(self, activity_id: int, data: ActivityUpdate, actor: Actor, now: datetime) -> ActivityRead:
        return await service.update_activity(actor, activity_id, data, now=now)

    @delete("/{activity_id:int}", operation_id="delete_activity")
    async def delete_activity(self, activity_id: int, actor: Actor, now: datetime) -> None:
        await service.delete_activity(actor, activity_id, now=now)
