"""Saved filters (per agent), the next SLA due time of listed tickets, and the breaching-soon queue."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

import helpdesk.audit.service as audit_service
from helpdesk.actors import Actor
from helpdesk.auth.service import check_team_exists
from helpdesk.db import unit_of_work
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.events import Event, publish_on_commit
from helpdesk.queues.schemas import (
    BreachingQueue,
    DueAnswer,
    DueRead,
    SavedFilterCreate,
    SavedFilterRead,
    SavedFilterUpdate,
    TicketFilters,
)
from helpdesk.queues.tables import SavedFilter
from helpdesk.schemas import provided_fields
from helpdesk.sla.tables import SlaClock
from helpdesk.tickets import service as tickets
from helpdesk.tickets.status import OPEN_STATUSES, PRIORITIES, STATUSES

MAX_SAVED_FILTERS = 50  # per agent: the sidebar is no place for hundreds
MAX_DUE_TICKETS = 200  # the ticket list's largest page
MAX_BREACHING_WINDOW_MINUTES = 7 * 24 * 60
_TAG = re.compile(r"^[\w.:-]+$")

# ---------------------------------------------------------------- saved filters


def _agent_of(actor: Actor) -> int:
    if actor.agent_id is None:
        raise PermissionDenied("saved filters belong to an agent; act as one")
    return actor.agent_id


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


async def check_filters(filters: TicketFilters) -> TicketFilters:
    """Reject filters the ticket list would silently match nothing with; return them normalised."""
    statuses, priorities = _csv(filters.status), _csv(filters.priority)
    for status in statuses:
        if status not in STATUSES:
            raise ValidationFailed(f"unknown status {status!r}; use {', '.join(STATUSES)}", field="filters.status")
    for priority in priorities:
        if priority not in PRIORITIES:
            raise ValidationFailed(f"unknown priority {priority!r}; use {', '.join(PRIORITIES)}",
                                   field="filters.priority")
    assignee = (filters.assignee or "").strip() or None
    if assignee is not None and assignee not in ("me", "none") and not assignee.isdigit():
        raise ValidationFailed("assignee must be an agent id, me or none", field="filters.assignee")
    await check_team_exists(filters.team_id, field="filters.team_id")
    tag = (filters.tag or "").strip().lower() or None
    if tag is not None and not _TAG.match(tag):
        raise ValidationFailed("a tag is letters, digits and . : - _ only", field="filters.tag")
    return TicketFilters(
        status=",".join(statuses) or None, priority=",".join(priorities) or None, assignee=assignee,
        team_id=filters.team_id, tag=tag, q=(filters.q or "").strip() or None,
    )


def _saved_read(row: dict[str, Any]) -> SavedFilterRead:
    return SavedFilterRead(id=row["id"], name=row["name"], filters=msgspec.convert(row["filters"], TicketFilters),
                           created_at=row["created_at"], updated_at=row["updated_at"])


async def list_saved_filters(actor: Actor) -> list[SavedFilterRead]:
    rows = await SavedFilter.select().output(load_json=True).where(SavedFilter.agent == _agent_of(actor)).order_by(
        SavedFilter.name).run()
    return [_saved_read(row) for row in rows]


async def access_saved_filter(actor: Actor, filter_id: int) -> SavedFilterRead:
    """Another agent's filter answers as missing: its existence is nobody else's business."""
    row = await SavedFilter.select().output(load_json=True).where(
        (SavedFilter.id == filter_id) & (SavedFilter.agent == _agent_of(actor))).first().run()
    if row is None:
        raise NotFound(f"saved filter {filter_id} does not exist", field="filter_id")
    return _saved_read(row)


async def _check_name_free(agent_id: int, name: str, *, except_id: int | None = None) -> None:
    query = SavedFilter.select(SavedFilter.id, SavedFilter.name).where(SavedFilter.agent == agent_id)
    for row in await query.run():
        if row["name"].casefold() == name.casefold() and row["id"] != except_id:
            raise Conflict(f"you already have a saved filter named {row['name']!r}", field="name")


async def create_saved_filter(actor: Actor, data: SavedFilterCreate, *, now: datetime) -> SavedFilterRead:
    agent_id = _agent_of(actor)
    name = data.name.strip()
    if not name:
        raise ValidationFailed("name must not be blank", field="name")
    filters = await check_filters(data.filters)
    async with unit_of_work():
        await _check_name_free(agent_id, name)
        if await SavedFilter.count().where(SavedFilter.agent == agent_id).run() >= MAX_SAVED_FILTERS:
            raise Conflict(f"at most {MAX_SAVED_FILTERS} saved filters per agent", field="name")
        [row] = await SavedFilter.insert(SavedFilter(agent=agent_id, name=name, filters=msgspec.to_builtins(filters),
                                                     created_at=now, updated_at=now)).run()
        await audit_service.record(actor, "saved_filter.created", "saved_filter", row["id"], {"name": [None, name]},
                                   at=now)
        publish_on_commit(Event("saved_filter", "created", row["id"], data={"agent_id": agent_id}))
    return await access_saved_filter(actor, row["id"])


async def update_saved_filter(actor: Actor, filter_id: int, data: SavedFilterUpdate, *, now: datetime) -> SavedFilterRead:
    agent_id = _agent_of(actor)
    fields = provided_fields(data)
    async with unit_of_work():
        before = await access_saved_filter(actor, filter_id)
        values: dict[Any, Any] = {SavedFilter.updated_at: now}
        changes: dict[str, list[Any]] = {}
        if "name" in fields:
            name = fields["name"].strip()
            if not name:
                raise ValidationFailed("name must not be blank", field="name")
            await _check_name_free(agent_id, name, except_id=filter_id)
            values[SavedFilter.name] = name
            changes["name"] = [before.name, name]
        if "filters" in fields:
            filters = msgspec.to_builtins(await check_filters(fields["filters"]))
            values[SavedFilter.filters] = filters
            changes["filters"] = [msgspec.to_builtins(before.filters), filters]
        await SavedFilter.update(values).where(SavedFilter.id == filter_id).run()
        await audit_service.record(actor, "saved_filter.updated", "saved_filter", filter_id, changes, at=now)
        publish_on_commit(Event("saved_filter", "updated", filter_id, data={"agent_id": agent_id}))
    return await access_saved_filter(actor, filter_id)


async def delete_saved_filter(actor: Actor, filter_id: int, *, now: datetime) -> None:
    agent_id = _agent_of(actor)
    async with unit_of_work():
        before = await access_saved_filter(actor, filter_id)
        await SavedFilter.delete().where(SavedFilter.id == filter_id).run()
        await audit_service.record(actor, "saved_filter.deleted", "saved_filter", filter_id,
                                   {"name": [before.name, None]}, at=now)
        publish_on_commit(Event("saved_filter", "deleted", filter_id, data={"agent_id": agent_id}))


# ---------------------------------------------------------------- SLA due times


def _level(due_at: datetime, warn_at: datetime | None, now: datetime) -> str:
    # The stored state is as of the last recompute; the level is as of now.
    if due_at <= now:
        return "breached"
    if warn_at is not None and warn_at <= now:
        return "warning"
    return "ok"


def _running_clocks() -> Any:
    """Clocks still counting toward a due time: not stopped (met or breached and answered), not paused."""
    return SlaClock.select(SlaClock.ticket, SlaClock.target, SlaClock.due_at, SlaClock.warn_at).where(
        SlaClock.stopped_at.is_null() & SlaClock.due_at.is_not_null()
    ).order_by(SlaClock.due_at, SlaClock.id)


def _first_per_ticket(rows: list[dict[str, Any]], now: datetime) -> list[DueRead]:
    """Rows come ordered by due time: the first one per ticket is the clock it runs against next."""
    seen: set[int] = set()
    due: list[DueRead] = []
    for row in rows:
        if row["ticket"] in seen:
            continue
        seen.add(row["ticket"])
        due.append(DueRead(ticket_id=row["ticket"], target=row["target"], due_at=row["due_at"], warn_at=row["warn_at"],
                           level=_level(row["due_at"], row["warn_at"], now)))
    return due


async def due_for_tickets(ticket_ids: Sequence[int], *, now: datetime) -> DueAnswer:
    """The next due clock of each of these tickets; tickets without a running clock are left out."""
    if len(ticket_ids) > MAX_DUE_TICKETS:
        raise ValidationFailed(f"at most {MAX_DUE_TICKETS} ticket ids at once", field="ticket_id")
    if not ticket_ids:
        return DueAnswer(now=now, items=[])
    rows = await _running_clocks().where(SlaClock.ticket.is_in(list(set(ticket_ids)))).run()
    return DueAnswer(now=now, items=_first_per_ticket(rows, now))


async def breaching_soon(*, now: datetime, within: timedelta, limit: int = 100) -> BreachingQueue:
    """Open tickets whose next clock is breached, warning, or due within ``within``; soonest first."""
    if not timedelta(0) <= within <= timedelta(minutes=MAX_BREACHING_WINDOW_MINUTES):
        raise ValidationFailed(f"within_minutes must be between 0 and {MAX_BREACHING_WINDOW_MINUTES}",
                               field="within_minutes")
    if not 1 <= limit <= MAX_DUE_TICKETS:
        raise ValidationFailed(f"limit must be between 1 and {MAX_DUE_TICKETS}", field="limit")
    rows = await _running_clocks().where(
        SlaClock.ticket.status.is_in(list(OPEN_STATUSES))
        & ((SlaClock.due_at <= now + within) | (SlaClock.warn_at <= now))
    ).run()
    due = _first_per_ticket(rows, now)
    listed = due[:limit]
    return BreachingQueue(now=now, count=len(due), tickets=await tickets.list_tickets_by_id([d.ticket_id for d in listed]),
                          due=listed, next_entry_at=await _next_entry(now=now, within=within))


async def _next_entry(*, now: datetime, within: timedelta) -> datetime | None:
    """The first time a running clock of an open ticket that does not qualify yet starts to: its warn
    time, or its due time minus the window."""

    def not_yet_qualifying() -> Any:
        return (SlaClock.stopped_at.is_null() & SlaClock.ticket.status.is_in(list(OPEN_STATUSES))
                & (SlaClock.due_at > now + within) & (SlaClock.warn_at.is_null() | (SlaClock.warn_at > now)))

    by_due = await SlaClock.select(SlaClock.due_at).where(not_yet_qualifying()).order_by(
        SlaClock.due_at).first().run()
    by_warning = await SlaClock.select(SlaClock.warn_at).where(
        not_yet_qualifying() & SlaClock.warn_at.is_not_null()).order_by(SlaClock.warn_at).first().run()
    candidates = ([by_due["due_at"] - within] if by_due else []) + ([by_warning["warn_at"]] if by_warning else [])
    return min(candidates, default=None)
