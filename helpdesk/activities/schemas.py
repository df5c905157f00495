from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from helpdesk.schemas import AwareDatetime, Strict

Kind = Literal["call", "meeting", "email", "note", "task"]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Body = Annotated[str, msgspec.Meta(max_length=100_000)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class ActivityRead(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    subject: str
    body: str
    account_id: int | None
    contact_id: int | None
    ticket_id: int | None
    author_id: int | None
    assignee_id: int | None
    due_at: datetime | None
    done: bool
    occurred_at: datetime
    created_at: datetime


class ActivityCreate(Strict, kw_only=True):
    kind: Kind
    subject: Subject
    body: Body = ""
    account_id: int | None = None
    contact_id: int | None = None
    ticket_id: int | None = None
    assignee_id: int | None = None
    due_at: AwareDatetime | None = None
    done: bool = False
    occurred_at: AwareDatetime | None = None  # defaults to now


class ActivityUpdate(Strict, kw_only=True):
    subject: Subject | Unset = UNSET
    body: Body | Unset = UNSET
    assignee_id: int | None | Unset = UNSET
    due_at: AwareDatetime | None | Unset = UNSET
    done: bool | Unset = UNSET
