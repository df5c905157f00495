from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from helpdesk.schemas import Strict
from helpdesk.tickets.schemas import TicketRead

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET

FilterName = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]


class TicketFilters(Strict, kw_only=True):
    """The filters of ``GET /api/tickets`` under the same names; absent ones do not filter."""

    status: Annotated[str, msgspec.Meta(max_length=100)] | None = None  # comma-separated statuses
    priority: Annotated[str, msgspec.Meta(max_length=100)] | None = None  # comma-separated priorities
    assignee: Annotated[str, msgspec.Meta(max_length=20)] | None = None  # an agent id, "me" or "none"
    team_id: int | None = None
    tag: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    q: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class SavedFilterRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    filters: TicketFilters
    created_at: datetime
    updated_at: datetime


class SavedFilterCreate(Strict, kw_only=True):
    name: FilterName
    filters: TicketFilters


class SavedFilterUpdate(Strict, kw_only=True):
    name: FilterName | Unset = UNSET
    filters: TicketFilters | Unset = UNSET


class DueRead(msgspec.Struct, kw_only=True):
    """The SLA clock a ticket runs against next: the running one due first."""

    ticket_id: int
    target: str  # first_response, next_response, resolution
    due_at: datetime
    warn_at: datetime | None
    level: str  # "ok", "warning" (past its warn time) or "breached" (past its due time)


class DueAnswer(msgspec.Struct, kw_only=True):
    now: datetime  # the server's time, so a browser with a wrong clock still counts down correctly
    items: list[DueRead]


class BreachingQueue(msgspec.Struct, kw_only=True):
    now: datetime
    count: int  # every open ticket that qualifies, even beyond ``limit``
    tickets: list[TicketRead]  # ordered by due time, soonest (or longest overdue) first
    due: list[DueRead]  # one per listed ticket
    # When another open ticket enters the queue by time alone (its warn time, or its due time
    # coming within the window); None when none will. Tickets leave only through changes (events).
    next_entry_at: datetime | None
