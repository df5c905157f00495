from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from helpdesk.activities import service
from helpdesk.activities.schemas import (
    ActivityCreate,
    ActivityRead,
    ActivityUpdate,
    Kind,
)
from helpdesk.pagination import DEFAULT_LIMIT, Page
from helpdesk.web.auth import CurrentActor, Now


class ActivityController(Controller):
    path = "/api/activities"
    tags = ["activities"]

    @get("/", operation_id="list_activities")
    async def list_activities(
        self, actor: CurrentActor, account_id: FromQuery[int | None] = None, contact_id: FromQuery[int | None] = None,
        ticket_id: FromQuery[int | None] = None, kind: FromQuery[Kind | None] = None, assignee: FromQuery[str | None] = None,
        done: FromQuery[bool | None] = None, cursor: FromQuery[str | None] = None, limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[ActivityRead]:
        query = service.ActivityQuery(
            account_id=account_id, contact_id=contact_id, ticket_id=ticket_id, kind=kind, assignee=assignee, done=done
        )
        return await service.list_activities(actor, query, cursor=cursor, limit=limit)

    @get("/{activity_id:int}", operation_id="get_activity")
    async def get_activity(self, activity_id: FromPath[int]) -> ActivityRead:
        return await service.get_activity(activity_id)

    @post("/", operation_id="create_activity")
    async def create_activity(self, data: JSONBody[ActivityCreate], actor: CurrentActor, now: Now) -> ActivityRead:
        return await service.create_activity(actor, data, now=now)

    @patch("/{activity_id:int}", operation_id="update_activity")
    async def update_activity(self, activity_id: FromPath[int], data: JSONBody[ActivityUpdate], actor: CurrentActor, now: Now) -> ActivityRead:
        return await service.update_activity(actor, activity_id, data, now=now)

    @delete("/{activity_id:int}", operation_id="delete_activity")
    async def delete_activity(self, activity_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_activity(actor, activity_id, now=now)
