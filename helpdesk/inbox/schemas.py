from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from helpdesk.schemas import Strict

Security = Literal["tls", "starttls", "none"]
AfterIngest = Literal["flag", "move"]
Priority = Literal["low", "normal", "high", "urgent"]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:_-]+$")]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Folder = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Template = Annotated[str, msgspec.Meta(max_length=20_000)]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class MailboxHealth(msgspec.Struct, kw_only=True):
    state: str
    last_error: str | None
    last_success_at: datetime | None
    ingested: int
    backlog: int
    polled_by: str | None


class MailboxRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    addresses: list[str]
    imap_host: str
    imap_port: int
    imap_security: str
    imap_username: str
    password_source: str  # "env:NAME" or "file:/path" — never the password itself
    folder: str
    after_ingest: str
    move_to_folder: str | None
    default_team_id: int | None
    default_priority: str
    enabled: bool
    smtp_host: str | None
    smtp_port: int
    smtp_security: str
    smtp_username: str | None
    smtp_password_source: str | None
    from_address: str | None
    from_name: str
    ack_enabled: bool
    ack_limit_per_hour: int
    ack_subject_template: str
    ack_body_template: str
    signature_template: str
    uidvalidity: int | None
    last_uid: int
    health: MailboxHealth


class MailboxCreate(Strict, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    addresses: Annotated[list[Email], msgspec.Meta(min_length=1)]
    imap_host: Host
    imap_port: Port = 993
    imap_security: Security = "tls"
    imap_username: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    password_env: EnvName | None = None
    password_file: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None
    folder: Folder = "INBOX"
    after_ingest: AfterIngest = "flag"
    move_to_folder: Folder | None = None
    default_team_id: int | None = None
    default_priority: Priority = "normal"
    enabled: bool = True
    smtp_host: Host | None = None
    smtp_port: Port = 587
    smtp_security: Security = "starttls"
    smtp_username: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    smtp_password_env: EnvName | None = None
    smtp_password_file: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None
    from_address: Email | None = None
    from_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    ack_enabled: bool = False
    ack_limit_per_hour: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 5
    ack_subject_template: Template = ""
    ack_body_template: Template = ""
    signature_template: Template = ""


class MailboxUpdate(Strict, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | Unset = UNSET
    addresses: Annotated[list[Email], msgspec.Meta(min_length=1)] | Unset = UNSET
    imap_host: Host | Unset = UNSET
    imap_port: Port | Unset = UNSET
    imap_security: Security | Unset = UNSET
    imap_username: Annotated[str, msgspec.Meta(min_length=1, max_length=320)] | Unset = UNSET
    password_env: EnvName | None | Unset = UNSET
    password_file: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None | Unset = UNSET
    folder: Folder | Unset = UNSET
    after_ingest: AfterIngest | Unset = UNSET
    move_to_folder: Folder | None | Unset = UNSET
    default_team_id: int | None | Unset = UNSET
    default_priority: Priority | Unset = UNSET
    enabled: bool | Unset = UNSET
    smtp_host: Host | None | Unset = UNSET
    smtp_port: Port | Unset = UNSET
    smtp_security: Security | Unset = UNSET
    smtp_username: Annotated[str, msgspec.Meta(max_length=320)] | None | Unset = UNSET
    smtp_password_env: EnvName | None | Unset = UNSET
    smtp_password_file: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None | Unset = UNSET
    from_address: Email | None | Unset = UNSET
    from_name: Annotated[str, msgspec.Meta(max_length=200)] | Unset = UNSET
    ack_enabled: bool | Unset = UNSET
    ack_limit_per_hour: Annotated[int, msgspec.Meta(ge=0, le=1000)] | Unset = UNSET
    ack_subject_template: Template | Unset = UNSET
    ack_body_template: Template | Unset = UNSET
    signature_template: Template | Unset = UNSET


class MailboxCheck(msgspec.Struct, kw_only=True):
    ok: bool
    detail: str
    uidvalidity: int | None = None
    messages: int | None = None
    new_since_checkpoint: int | None = None
    idle_supported: bool | None = None


class InboundMailRead(msgspec.Struct, kw_only=True):
    id: int
    source: str
    mailbox_id: int | None
    uidvalidity: int | None
    uid: int | None
    message_id: str
    sha256: str
    size: int
    state: str
    error: str | None
    attempts: int
    next_attempt_at: datetime | None
    received_at: datetime
    processed_at: datetime | None
    ticket_id: int | None
    message_id_on_ticket: int | None
    thread_reason: str
