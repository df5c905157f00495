"""The activity timeline: calls, meetings, emails, notes and tasks on accounts, contacts and tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

import helpdesk.audit.service as audit_service
from helpdesk.activities.schemas import ActivityCreate, ActivityRead, ActivityUpdate
from helpdesk.activities.tables import Activity
from helpdesk.actors import Actor
from helpdesk.auth.service import check_agent_exists
from helpdesk.customers import service as customers
from helpdesk.db import keyset_page, unit_of_work
from helpdesk.errors import NotFound, PermissionDenied, ValidationFailed
from helpdesk.events import Event, publish_on_commit
from helpdesk.pagination import Page
from helpdesk.schemas import provided_fields
from helpdesk.tickets.service import check_ticket_exists

_COLUMN_FOR = {
    "subject": Activity.subject,
    "body": Activity.body,
    "assignee_id": Activity.assignee,
    "due_at": Activity.due_at,
    "done": Activity.done,
}


@dataclass(frozen=True)
class ActivityQuery:
    account_id: int | None = None
    contact_id: int | None = None
    ticket_id: int | None = None
    kind: str | None = None
    assignee: str | None = None  # an agent id or "me"
    done: bool | None = None


def activity_read(row: dict[str, Any]) -> ActivityRead:
    return ActivityRead(
        id=row["id"], kind=row["kind"], subject=row["subject"], body=row["body"], account_id=row["account"],
        contact_id=row["contact"], ticket_id=row["ticket"], author_id=row["author"], assignee_id=row["assignee"],
        due_at=row["due_at"], done=row["done"], occurred_at=row["occurred_at"], created_at=row["created_at"],
    )


async def list_activities(
    actor: Actor, query: ActivityQuery, *, cursor: str | None = None, limit: int = 50
) -> Page[ActivityRead]:
    select = Activity.select()
    if query.account_id is not None:
        select = select.where(Activity.account == query.account_id)
    if query.contact_id is not None:
        select = select.where(Activity.contact == query.contact_id)
    if query.ticket_id is not None:
        select = select.where(Activity.ticket == query.ticket_id)
    if query.kind:
        select = select.where(Activity.kind == query.kind)
    if query.assignee == "me":
        select = select.where(Activity.assignee == actor.agent_id)
    elif query.assignee is not None:
        if not query.assignee.isdigit():
            raise ValidationFailed("assignee must be an agent id or me", field="assignee")
        select = select.where(Activity.assignee == int(query.assignee))
    if query.done is not None:
        select = select.where(Activity.done == query.done)
    rows, next_cursor = await keyset_page(select, [Activity.occurred_at, Activity.id], cursor=cursor, limit=limit,
                                          descending=True)
    return Page(items=[activity_read(row) for row in rows], next=next_cursor)


async def get_activity(activity_id: int) -> ActivityRead:
    row = await Activity.select().where(Activity.id == activity_id).first().run()
    if row is None:
        raise NotFound(f"activity {activity_id} does not exist", field="activity_id")
    return activity_read(row)


async def create_activity(actor: Actor, data: ActivityCreate, *, now: datetime) -> ActivityRead:
    if data.account_id is None and data.contact_id is None and data.ticket_id is None:
        raise ValidationFailed("an activity belongs to an account, a contact or a ticket", field="account_id")
    if data.kind != "task" and (data.due_at is not None or data.assignee_id is not None):
        raise ValidationFailed("only tasks have a due date and an assignee", field="kind")
    async with unit_of_work():
        await customers.check_account_exists(data.account_id)
        await customers.check_contact_exists(data.contact_id)
        await check_ticket_exists(data.ticket_id)
        await check_agent_exists(data.assignee_id, field="assignee_id")
        [row] = await Activity.insert(
            Activity(
                kind=data.kind, subject=data.subject, body=data.body, account=data.account_id,
                contact=data.contact_id, ticket=data.ticket_id, author=actor.agent_id, assignee=data.assignee_id,
                due_at=data.due_at, done=data.done, occurred_at=data.occurred_at or now, created_at=now,
                updated_at=now,
            )
        ).run()
        await audit_service.record(actor, "activity.created", "activity", row["id"],
                                   {"kind": [None, data.kind], "subject": [None, data.subject]}, at=now)
        publish_on_commit(Event("activity", "created", row["id"], data=_targets(data)))
    return await get_activity(row["id"])


def _targets(activity: ActivityCreate | ActivityRead) -> dict[str, int | None]:
    return {"account_id": activity.account_id, "contact_id": activity.contact_id, "ticket_id": activity.ticket_id}


async def update_activity(actor: Actor, activity_id: int, data: ActivityUpdate, *, now: datetime) -> ActivityRead:
    fields = provided_fields(data)
    async with unit_of_work():
        before = await get_activity(activity_id)
        if before.kind != "task" and ({"due_at", "assignee_id"} & fields.keys()):
            raise ValidationFailed("only tasks have a due date and an assignee", field="kind")
        if "assignee_id" in fields:
            await check_agent_exists(fields["assignee_id"], field="assignee_id")
        values = {_COLUMN_FOR[name]: value for name, value in fields.items()}
        await Activity.update({**values, Activity.updated_at: now}).where(Activity.id == activity_id).run()
        await audit_service.record(actor, "activity.updated", "activity", activity_id,
                                   audit_service.changes_between(msgspec.structs.asdict(before), fields), at=now)
        publish_on_commit(Event("activity", "updated", activity_id, data=_targets(before)))
    return await get_activity(activity_id)


async def delete_activity(actor: Actor, activity_id: int, *, now: datetime) -> None:
    async with unit_of_work():
        before = await get_activity(activity_id)
        if not actor.has_role("admin") and before.author_id != actor.agent_id:
            raise PermissionDenied("only the author or an admin can delete an activity")
        await Activity.delete().where(Activity.id == activity_id).run()
        await audit_service.record(actor, "activity.deleted", "activity", activity_id,
                                   {"subject": [before.subject, None]}, at=now)
        publish_on_commit(Event("activity", "deleted", activity_id, data=_targets(before)))
