"""Mailboxes (admin-managed IMAP settings) and the stored inbound mail admins look after."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import helpdesk.audit.service as audit_service
from helpdesk.actors import Actor
from helpdesk.auth.service import check_team_exists
from helpdesk.db import keyset_page, unit_of_work
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Event, publish_on_commit
from helpdesk.inbox.imap import (
    ImapEndpoint,
    ImapError,
    ImapSecurity,
    ImapSession,
    is_loopback,
)
from helpdesk.inbox.ingest import Received, ingest_stored, parse_received
from helpdesk.inbox.schemas import (
    InboundMailRead,
    MailboxCheck,
    MailboxCreate,
    MailboxHealth,
    MailboxRead,
    MailboxUpdate,
)
from helpdesk.inbox.tables import InboundMail, InboundMailRaw, Mailbox
from helpdesk.pagination import Page
from helpdesk.schemas import provided_fields
from helpdesk.templates import ACK_PLACEHOLDERS, SIGNATURE_PLACEHOLDERS, check_template

_COLUMN_FOR = {
    "name": Mailbox.name, "addresses": Mailbox.addresses, "imap_host": Mailbox.imap_host,
    "imap_port": Mailbox.imap_port, "imap_security": Mailbox.imap_security, "imap_username": Mailbox.imap_username,
    "password_env": Mailbox.password_env, "password_file": Mailbox.password_file, "folder": Mailbox.folder,
    "after_ingest": Mailbox.after_ingest, "move_to_folder": Mailbox.move_to_folder,
    "default_team_id": Mailbox.default_team, "default_priority": Mailbox.default_priority, "enabled": Mailbox.enabled,
    "smtp_host": Mailbox.smtp_host, "smtp_port": Mailbox.smtp_port, "smtp_security": Mailbox.smtp_security,
    "smtp_username": Mailbox.smtp_username, "smtp_password_env": Mailbox.smtp_password_env,
    "smtp_password_file": Mailbox.smtp_password_file, "from_address": Mailbox.from_address,
    "from_name": Mailbox.from_name, "ack_enabled": Mailbox.ack_enabled, "ack_limit_per_hour": Mailbox.ack_limit_per_hour,
    "ack_subject_template": Mailbox.ack_subject_template, "ack_body_template": Mailbox.ack_body_template,
    "signature_template": Mailbox.signature_template,
}


def _secret_source(env_name: str | None, file_path: str | None) -> str | None:
    if env_name:
        return f"env:{env_name}"
    return f"file:{file_path}" if file_path else None


def _mailbox_read(row: dict[str, Any]) -> MailboxRead:
    return MailboxRead(
        id=row["id"], name=row["name"], addresses=row["addresses"], imap_host=row["imap_host"],
        imap_port=row["imap_port"], imap_security=row["imap_security"], imap_username=row["imap_username"],
        password_source=_secret_source(row["password_env"], row["password_file"]) or "",
        folder=row["folder"], after_ingest=row["after_ingest"],
        move_to_folder=row["move_to_folder"], default_team_id=row["default_team"],
        default_priority=row["default_priority"], enabled=row["enabled"], smtp_host=row["smtp_host"],
        smtp_port=row["smtp_port"], smtp_security=row["smtp_security"], smtp_username=row["smtp_username"],
        smtp_password_source=_secret_source(row["smtp_password_env"], row["smtp_password_file"]),
        from_address=row["from_address"], from_name=row["from_name"], ack_enabled=row["ack_enabled"],
        ack_limit_per_hour=row["ack_limit_per_hour"],
        ack_subject_template=row["ack_subject_template"], ack_body_template=row["ack_body_template"],
        signature_template=row["signature_template"], uidvalidity=row["uidvalidity"],
        last_uid=row["last_uid"],
        health=MailboxHealth(state=row["health_state"], last_error=row["last_error"],
                             last_success_at=row["last_success_at"], ingested=row["ingested_count"],
                             backlog=row["backlog"], polled_by=row["lease_owner"]),
    )


async def list_mailboxes(actor: Actor) -> list[MailboxRead]:
    actor.require("admin")
    rows = await Mailbox.select().output(load_json=True).order_by(Mailbox.id).run()
    return [_mailbox_read(row) for row in rows]


async def get_mailbox(actor: Actor, mailbox_id: int) -> MailboxRead:
    actor.require("admin")
    return _mailbox_read(await mailbox_row(mailbox_id))


async def mailbox_row(mailbox_id: int) -> dict[str, Any]:
    row = await Mailbox.select().output(load_json=True).where(Mailbox.id == mailbox_id).first().run()
    if row is None:
        raise NotFound(f"mailbox {mailbox_id} does not exist", field="mailbox_id")
    return row


def _check_settings(settings: dict[str, Any]) -> None:
    """The rules across fields: one password source, a folder to move to, plain protocols on loopback only."""
    if bool(settings.get("password_env")) == bool(settings.get("password_file")):
        raise ValidationFailed("give exactly one of password_env or password_file", field="password_env")
    if settings.get("after_ingest") == "move" and not settings.get("move_to_folder"):
        raise ValidationFailed("moving after ingest needs move_to_folder", field="move_to_folder")
    if settings.get("imap_security") == "none" and not is_loopback(settings["imap_host"]):
        raise ValidationFailed("plain IMAP (security none) is allowed only to loopback hosts", field="imap_security")
    if settings.get("smtp_host"):
        if settings.get("smtp_security") == "none" and not is_loopback(settings["smtp_host"]):
            raise ValidationFailed("plain SMTP (security none) is allowed only to loopback hosts", field="smtp_security")
        if not settings.get("from_address"):
            raise ValidationFailed("sending needs a from_address", field="from_address")
        if settings.get("smtp_password_env") and settings.get("smtp_password_file"):
            raise ValidationFailed("give at most one of smtp_password_env or smtp_password_file",
                                   field="smtp_password_env")
    if settings.get("ack_enabled") and not settings.get("smtp_host"):
        raise ValidationFailed("acknowledgements need SMTP settings to be sent", field="ack_enabled")
    for name in ("ack_subject_template", "ack_body_template"):
        check_template(settings.get(name) or "", ACK_PLACEHOLDERS, field=name)
    check_template(settings.get("signature_template") or "", SIGNATURE_PLACEHOLDERS, field="signature_template")


async def _check_name_free(name: str, *, except_id: int | None = None) -> None:
    query = Mailbox.exists().where(Mailbox.name == name)
    if except_id is not None:
        query = query.where(Mailbox.id != except_id)
    if await query.run():
        raise Conflict(f"a mailbox named {name!r} already exists", field="name")


async def create_mailbox(actor: Actor, data: MailboxCreate, *, now: datetime) -> MailboxRead:
    actor.require("admin")
    settings = {**provided_fields(data), "addresses": sorted({a.lower() for a in data.addresses})}
    _check_settings(settings)
    async with unit_of_work():
        await _check_name_free(data.name)
        await check_team_exists(data.default_team_id, field="default_team_id")
        values = {_COLUMN_FOR[name]._meta.name: value for name, value in settings.items()}
        [row] = await Mailbox.insert(Mailbox(**values, created_at=now, updated_at=now)).run()
        await audit_service.record(actor, "mailbox.created", "mailbox", row["id"],
                                   audit_service.changes_between({}, settings), at=now)
        publish_on_commit(Event("mailbox", "created", row["id"]))
    return await get_mailbox(actor, row["id"])


async def update_mailbox(actor: Actor, mailbox_id: int, data: MailboxUpdate, *, now: datetime) -> MailboxRead:
    actor.require("admin")
    fields = provided_fields(data)
    if "addresses" in fields:
        fields["addresses"] = sorted({a.lower() for a in fields["addresses"]})
    async with unit_of_work():
        row = await mailbox_row(mailbox_id)
        current = {name: row[column._meta.name] for name, column in _COLUMN_FOR.items()}
        # Naming one password source replaces the other.
        if fields.get("password_env"):
            fields["password_file"] = None
        if fields.get("password_file"):
            fields["password_env"] = None
        if fields.get("smtp_password_env"):
            fields["smtp_password_file"] = None
        if fields.get("smtp_password_file"):
            fields["smtp_password_env"] = None
        _check_settings({**current, **fields})
        if "name" in fields:
            await _check_name_free(fields["name"], except_id=mailbox_id)
        if "default_team_id" in fields:
            await check_team_exists(fields["default_team_id"], field="default_team_id")
        values = {_COLUMN_FOR[name]: value for name, value in fields.items()}
        await Mailbox.update({**values, Mailbox.updated_at: now}).where(Mailbox.id == mailbox_id).run()
        await audit_service.record(actor, "mailbox.updated", "mailbox", mailbox_id,
                                   audit_service.changes_between(current, fields), at=now)
        publish_on_commit(Event("mailbox", "updated", mailbox_id))
    return await get_mailbox(actor, mailbox_id)


async def delete_mailbox(actor: Actor, mailbox_id: int, *, now: datetime) -> None:
    """Stop polling a mailbox; the mail already received stays (its rows keep their source)."""
    actor.require("admin")
    async with unit_of_work():
        before = await mailbox_row(mailbox_id)
        await Mailbox.delete().where(Mailbox.id == mailbox_id).run()
        await audit_service.record(actor, "mailbox.deleted", "mailbox", mailbox_id, {"name": [before["name"], None]},
                                   at=now)
        publish_on_commit(Event("mailbox", "deleted", mailbox_id))


def read_secret(env_name: str | None, file_path: str | None, *, field: str) -> str:
    """A password from the environment variable or the secret file a mailbox names."""
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise ValidationFailed(f"environment variable {env_name} is not set", field=f"{field}_env")
        return value
    if not file_path:
        raise ValidationFailed("no password source is configured", field=f"{field}_env")
    try:
        return Path(file_path).read_text().strip()
    except OSError as error:
        raise ValidationFailed(f"cannot read the password file: {error.strerror}", field=f"{field}_file") from None


def endpoint_for(row: dict[str, Any]) -> ImapEndpoint:
    return ImapEndpoint(host=row["imap_host"], port=row["imap_port"], security=ImapSecurity(row["imap_security"]),
                        username=row["imap_username"], password=read_secret(row["password_env"], row["password_file"], field="password"),
                        folder=row["folder"])


def check_connection(row: dict[str, Any]) -> MailboxCheck:
    """Log in and report what is there (blocking: run it in a thread)."""
    try:
        with ImapSession(endpoint_for(row)) as session:
            state = session.state
            return MailboxCheck(ok=True, detail=f"logged in; {state.exists} messages in {row['folder']}",
                                uidvalidity=state.uidvalidity, messages=state.exists,
                                new_since_checkpoint=session.backlog(row["last_uid"]) if row["uidvalidity"] == state.uidvalidity else state.exists,
                                idle_supported=state.idle_supported)
    except (ImapError, ValidationFailed) as error:
        return MailboxCheck(ok=False, detail=str(getattr(error, "detail", error)))


# ---------------------------------------------------------------- stored inbound mail


def _inbound_read(row: dict[str, Any]) -> InboundMailRead:
    return InboundMailRead(
        id=row["id"], source=row["source"], mailbox_id=row["mailbox"], uidvalidity=row["uidvalidity"], uid=row["uid"],
        message_id=row["message_id"], sha256=row["sha256"], size=row["size"], state=row["state"], error=row["error"],
        attempts=row["attempts"], next_attempt_at=row["next_attempt_at"], received_at=row["received_at"],
        processed_at=row["processed_at"], ticket_id=row["ticket"], message_id_on_ticket=row["message"],
        thread_reason=row["thread_reason"],
    )


async def list_inbound(actor: Actor, *, state: str | None = None, mailbox_id: int | None = None,
                       cursor: str | None = None, limit: int = 50) -> Page[InboundMailRead]:
    actor.require("admin")
    query = InboundMail.select()
    if state:
        query = query.where(InboundMail.state == state)
    if mailbox_id is not None:
        query = query.where(InboundMail.mailbox == mailbox_id)
    rows, next_cursor = await keyset_page(query, [InboundMail.id], cursor=cursor, limit=limit, descending=True)
    return Page(items=[_inbound_read(row) for row in rows], next=next_cursor)


async def get_inbound(actor: Actor, inbound_id: int) -> InboundMailRead:
    actor.require("admin")
    row = await InboundMail.select().where(InboundMail.id == inbound_id).first().run()
    if row is None:
        raise NotFound(f"inbound mail {inbound_id} does not exist", field="inbound_id")
    return _inbound_read(row)


async def get_inbound_raw(actor: Actor, inbound_id: int) -> bytes:
    actor.require("admin")
    row = await InboundMailRaw.select(InboundMailRaw.raw).where(InboundMailRaw.mail == inbound_id).first().run()
    if row is None:
        raise NotFound(f"inbound mail {inbound_id} does not exist", field="inbound_id")
    return bytes(row["raw"])


async def retry_inbound(actor: Actor, inbound_id: int, *, now: datetime) -> InboundMailRead:
    """Ingest a failed or quarantined mail again now (its attempts start over)."""
    actor.require("admin")
    current = await get_inbound(actor, inbound_id)
    if current.state not in ("failed", "quarantined", "received"):
        raise Conflict(f"only failed or quarantined mail is retried; this one is {current.state}", field="state")
    async with unit_of_work():
        await InboundMail.update({InboundMail.state: "received", InboundMail.attempts: 0}).where(
            InboundMail.id == inbound_id
        ).run()
        await audit_service.record(actor, "mail.retried", "inbound_mail", inbound_id,
                                   {"state": [current.state, "received"]}, at=now)
    await ingest_stored(inbound_id, parse_received(await get_inbound_raw(actor, inbound_id)), now=now)
    return await get_inbound(actor, inbound_id)


async def retry_due(*, now: datetime, limit: int = 50) -> int:
    """Retry failed mail whose backoff has passed; the number retried."""
    rows = await InboundMailRaw.select(InboundMailRaw.mail, InboundMailRaw.raw).where(
        (InboundMailRaw.mail.state == "failed") & (InboundMailRaw.mail.next_attempt_at <= now)
    ).order_by(InboundMailRaw.mail.next_attempt_at).limit(limit).run()
    for row in rows:
        received: Received = parse_received(bytes(row["raw"]))
        await ingest_stored(row["mail"], received, now=now)
    return len(rows)
