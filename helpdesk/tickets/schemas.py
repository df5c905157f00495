from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from helpdesk.schemas import Strict

Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["email", "web", "api", "phone"]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^[\w.:-]+$")]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Body = Annotated[str, msgspec.Meta(max_length=1_000_000)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class PersonRef(msgspec.Struct, kw_only=True):
    id: int
    name: str
    email: str | None = None


class TicketRead(msgspec.Struct, kw_only=True):
    id: int
    number: str
    subject: str
    status: str
    priority: str
    channel: str
    requester: PersonRef | None
    account: PersonRef | None
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    solved_at: datetime | None
    version: int


class AttachmentRead(msgspec.Struct, kw_only=True):
    id: int
    filename: str
    content_type: str
    size: int
    content_id: str | None
    inline: bool
    sha256: str


class MessageRead(msgspec.Struct, kw_only=True):
    id: int
    ticket_id: int
    kind: str
    author_agent_id: int | None
    author_contact_id: int | None
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    subject: str
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    text: str
    new_text: str  # the newly written part, without quoted history or signature
    html: str | None
    auto_generated: str
    created_at: datetime
    delivery_state: str | None
    delivery_error: str | None
    thread_reason: str
    thread_ref: str
    attachments: list[AttachmentRead]


class TicketDetail(msgspec.Struct, kw_only=True):
    ticket: TicketRead
    messages: list[MessageRead]
    participants: list[str]


class NewRequester(Strict, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class AttachmentUpload(Strict, kw_only=True):
    filename: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    content_type: Annotated[str, msgspec.Meta(max_length=200, pattern=r"^[\w.+-]+/[\w.+-]+$")] = "application/octet-stream"
    content_base64: str


class TicketCreate(Strict, kw_only=True):
    subject: Subject
    requester_id: int | None = None
    requester: NewRequester | None = None
    priority: Priority = "normal"
    channel: Channel = "api"
    team_id: int | None = None
    assignee_id: int | None = None
    tags: list[Tag] = []
    custom_fields: dict[str, Any] = {}
    text: Body = ""
    html: Body | None = None


class TicketUpdate(Strict, kw_only=True):
    version: int  # the version the client saw; a stale one is refused with 409
    subject: Subject | Unset = UNSET
    status: Status | Unset = UNSET
    priority: Priority | Unset = UNSET
    tags: list[Tag] | Unset = UNSET
    assignee_id: int | None | Unset = UNSET
    team_id: int | None | Unset = UNSET
    custom_fields: dict[str, Any] | Unset = UNSET


class TicketAssign(Strict, kw_only=True):
    version: int
    assignee_id: int | None | Unset = UNSET
    team_id: int | None | Unset = UNSET


class MessageCreate(Strict, kw_only=True):
    kind: Literal["reply", "note"]
    text: Body
    html: Body | None = None
    attachments: list[AttachmentUpload] = []
    # The ticket version the agent saw while writing; when given, a newer customer
    # message makes the call fail with 409 so the agent reads it first.
    version: int | None = None


class BacklogRow(msgspec.Struct, kw_only=True):
    team_id: int | None
    status: str
    tickets: int


class TicketCount(msgspec.Struct, kw_only=True):
    count: int
