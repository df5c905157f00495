"""Tickets and their conversations: listing, detail, changes with optimistic concurrency, messages."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

import helpdesk.audit.service as audit_service
from helpdesk.actors import Actor
from helpdesk.auth.service import check_agent_exists, check_team_exists
from helpdesk.customers import service as customers
from helpdesk.customers.tables import Contact, ContactEmail
from helpdesk.db import keyset_page, unit_of_work
from helpdesk.errors import NotFound, StaleVersion, ValidationFailed
from helpdesk.events import Event, publish_on_commit
from helpdesk.pagination import Page
from helpdesk.sanitize import sanitize_html
from helpdesk.schemas import provided_fields
from helpdesk.tickets.numbers import ticket_id_from_number, ticket_number
from helpdesk.tickets.schemas import (
    AttachmentRead,
    AttachmentUpload,
    BacklogRow,
    MessageCreate,
    MessageRead,
    PersonRef,
    TicketCreate,
    TicketDetail,
    TicketRead,
    TicketUpdate,
)
from helpdesk.tickets.status import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    check_transition,
    status_after_agent_reply,
)
from helpdesk.tickets.tables import (
    Attachment,
    Blob,
    Message,
    Ticket,
    TicketParticipant,
    TicketStatusChange,
    TicketTag,
)

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MESSAGE_ID_DOMAIN = "helpdesk.invalid"

SORTS = {
    "updated": (Ticket.updated_at, Ticket.id),
    "created": (Ticket.created_at, Ticket.id),
    "priority": (Ticket.priority_rank, Ticket.id),
}


@dataclass(frozen=True)
class TicketQuery:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignee: str | None = None  # an agent id, "me" or "none"
    team_id: int | None = None
    account_id: int | None = None
    contact_id: int | None = None
    tag: str | None = None
    text: str | None = None
    sort: str = "updated"


# ---------------------------------------------------------------- reading


_TICKET_COLUMNS = (
    *Ticket.all_columns(),
    Ticket.requester.name.as_alias("requester_name"),
    Ticket.account.name.as_alias("account_name"),
)


async def _ticket_reads(rows: list[dict[str, Any]]) -> list[TicketRead]:
    ids = [row["id"] for row in rows]
    tags: dict[int, list[str]] = {ticket_id: [] for ticket_id in ids}
    requester_emails: dict[int, str] = {}
    if ids:
        for row in await TicketTag.select(TicketTag.ticket, TicketTag.tag).where(TicketTag.ticket.is_in(ids)).order_by(
            TicketTag.tag
        ).run():
            tags[row["ticket"]].append(row["tag"])
        requester_ids = list({row["requester"] for row in rows if row["requester"] is not None})
        if requester_ids:
            email_rows = await ContactEmail.select(ContactEmail.contact, ContactEmail.address).where(
                ContactEmail.contact.is_in(requester_ids)
            ).order_by(ContactEmail.position, ascending=False).run()
            # Descending position, so the primary address (position 0) is written last and wins.
            requester_emails = {row["contact"]: row["address"] for row in email_rows}
    return [
        TicketRead(
            id=row["id"],
            number=ticket_number(row["id"]),
            subject=row["subject"],
            status=row["status"],
            priority=row["priority"],
            channel=row["channel"],
            requester=PersonRef(id=row["requester"], name=row["requester_name"],
                                email=requester_emails.get(row["requester"]))
            if row["requester"] is not None else None,
            account=PersonRef(id=row["account"], name=row["account_name"]) if row["account"] is not None else None,
            assignee_id=row["assignee"],
            team_id=row["team"],
            tags=tags[row["id"]],
            custom_fields=row["custom_fields"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            first_response_at=row["first_response_at"],
            solved_at=row["solved_at"],
            version=row["version"],
        )
        for row in rows
    ]


async def list_tickets(actor: Actor, query: TicketQuery, *, cursor: str | None = None, limit: int = 50) -> Page[TicketRead]:
    if query.sort not in SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(SORTS)}", field="sort")
    select = Ticket.select(*_TICKET_COLUMNS).output(load_json=True)
    for condition in await _conditions(actor, query):
        select = select.where(condition)
    rows, next_cursor = await keyset_page(select, list(SORTS[query.sort]), cursor=cursor, limit=limit, descending=True)
    return Page(items=await _ticket_reads(rows), next=next_cursor)


async def count_tickets(actor: Actor, query: TicketQuery) -> int:
    """How many tickets match ``query`` (its sort is irrelevant): exact, for the queue counts."""
    count = Ticket.count()
    for condition in await _conditions(actor, query):
        count = count.where(condition)
    return await count.run()


async def list_tickets_by_id(ticket_ids: Sequence[int]) -> list[TicketRead]:
    """The tickets with these ids, in the order given (unknown ids are left out)."""
    if not ticket_ids:
        return []
    rows = await Ticket.select(*_TICKET_COLUMNS).output(load_json=True).where(Ticket.id.is_in(list(ticket_ids))).run()
    by_id = {ticket.id: ticket for ticket in await _ticket_reads(rows)}
    return [by_id[ticket_id] for ticket_id in ticket_ids if ticket_id in by_id]


async def _conditions(actor: Actor, query: TicketQuery) -> list[Any]:
    conditions: list[Any] = []
    if query.statuses:
        conditions.append(Ticket.status.is_in(list(query.statuses)))
    if query.priorities:
        conditions.append(Ticket.priority.is_in(list(query.priorities)))
    if query.assignee == "me":
        conditions.append(Ticket.assignee == actor.agent_id)
    elif query.assignee == "none":
        conditions.append(Ticket.assignee.is_null())
    elif query.assignee is not None:
        try:
            conditions.append(Ticket.assignee == int(query.assignee))
        except ValueError:
            raise ValidationFailed("assignee must be an agent id, me or none", field="assignee") from None
    if query.team_id is not None:
        conditions.append(Ticket.team == query.team_id)
    if query.account_id is not None:
        conditions.append(Ticket.account == query.account_id)
    if query.contact_id is not None:
        conditions.append(Ticket.requester == query.contact_id)
    if query.tag:
        conditions.append(Ticket.id.is_in(TicketTag.select(TicketTag.ticket).where(TicketTag.tag == query.tag.lower())))
    if query.text:
        conditions.append(_text_condition(query.text))
    return conditions


def _text_condition(text: str) -> Any:
    """Number, subject, or the requester's name or address."""
    pattern = customers.contains_pattern(text.strip())
    condition = (
        Ticket.subject.ilike(pattern)
        | Ticket.requester.is_in(Contact.select(Contact.id).where(Contact.name.ilike(pattern)))
        | Ticket.requester.is_in(ContactEmail.select(ContactEmail.contact).where(ContactEmail.address.ilike(pattern)))
    )
    ticket_id = ticket_id_from_number(text)
    if ticket_id is not None:
        condition = condition | (Ticket.id == ticket_id)
    return condition


async def get_ticket(ticket_id: int) -> TicketRead:
    row = await Ticket.select(*_TICKET_COLUMNS).output(load_json=True).where(Ticket.id == ticket_id).first().run()
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    [ticket] = await _ticket_reads([row])
    return ticket


async def check_ticket_exists(ticket_id: int | None, *, field: str = "ticket_id") -> None:
    if ticket_id is not None and not await Ticket.exists().where(Ticket.id == ticket_id).run():
        raise ValidationFailed(f"ticket {ticket_id} does not exist", field=field)


async def list_messages(ticket_id: int) -> list[MessageRead]:
    rows = await Message.select().output(load_json=True).where(Message.ticket == ticket_id).order_by(
        Message.created_at, Message.id
    ).run()
    ids = [row["id"] for row in rows]
    attachments: dict[int, list[AttachmentRead]] = {message_id: [] for message_id in ids}
    if ids:
        for row in await Attachment.select().where(Attachment.message.is_in(ids)).order_by(Attachment.id).run():
            attachments[row["message"]].append(_attachment_read(row))
    return [_message_read(row, attachments[row["id"]]) for row in rows]


def _attachment_read(row: dict[str, Any]) -> AttachmentRead:
    return AttachmentRead(
        id=row["id"], filename=row["filename"], content_type=row["content_type"], size=row["size"],
        content_id=row["content_id"], inline=row["inline"], sha256=row["sha256"],
    )


def _message_read(row: dict[str, Any], attachments: list[AttachmentRead]) -> MessageRead:
    return MessageRead(
        id=row["id"], ticket_id=row["ticket"], kind=row["kind"], author_agent_id=row["author_agent"],
        author_contact_id=row["author_contact"], from_name=row["from_name"], from_address=row["from_address"],
        to=row["to_addresses"], cc=row["cc_addresses"], subject=row["subject"], message_id=row["message_id"],
        in_reply_to=row["in_reply_to"], references=row["references"], text=row["text_body"], new_text=row["new_text"],
        html=row["html_body"], auto_generated=row["auto_generated"],
        created_at=row["created_at"], delivery_state=row["delivery_state"], delivery_error=row["delivery_error"],
        thread_reason=row["thread_reason"], thread_ref=row["thread_ref"], attachments=attachments,
    )


async def get_ticket_detail(ticket_id: int) -> TicketDetail:
    ticket = await get_ticket(ticket_id)
    participants = await TicketParticipant.select(TicketParticipant.address).where(
        TicketParticipant.ticket == ticket_id
    ).order_by(TicketParticipant.id).run()
    return TicketDetail(
        ticket=ticket, messages=await list_messages(ticket_id), participants=[p["address"] for p in participants]
    )


async def get_attachment(attachment_id: int) -> tuple[AttachmentRead, bytes]:
    row = await Attachment.select().where(Attachment.id == attachment_id).first().run()
    if row is None:
        raise NotFound(f"attachment {attachment_id} does not exist", field="attachment_id")
    blob = await Blob.select(Blob.content).where(Blob.sha256 == row["sha256"]).first().run()
    if blob is None:
        raise NotFound(f"the content of attachment {attachment_id} is missing", field="attachment_id")
    return _attachment_read(row), bytes(blob["content"])


async def backlog(actor: Actor) -> list[BacklogRow]:
    """Open tickets per team and status: the lead's view of where work piles up."""
    actor.require("lead")
    rows = await Ticket.raw(
        "SELECT team, status, COUNT(*) AS tickets FROM ticket WHERE status IN ({}) GROUP BY team, status "
        "ORDER BY team, status".format(", ".join(f"'{s}'" for s in OPEN_STATUSES))
    ).run()
    return [BacklogRow(team_id=row["team"], status=row["status"], tickets=row["tickets"]) for row in rows]


# ---------------------------------------------------------------- writing


def new_message_id(now: datetime) -> str:
    return f"{now:%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{MESSAGE_ID_DOMAIN}"


async def store_blob(content: bytes) -> str:
    """Store content once under its sha256 (inside the caller's unit of work)."""
    digest = hashlib.sha256(content).hexdigest()
    if not await Blob.exists().where(Blob.sha256 == digest).run():
        await Blob.insert(Blob(sha256=digest, size=len(content), content=content)).run()
    return digest


async def _set_tags(ticket_id: int, tags: list[str]) -> list[str]:
    cleaned = sorted({tag.lower() for tag in tags})
    await TicketTag.delete().where(TicketTag.ticket == ticket_id).run()
    if cleaned:
        await TicketTag.insert(*[TicketTag(ticket=ticket_id, tag=tag) for tag in cleaned]).run()
    return cleaned


async def _requester_for(actor: Actor, data: TicketCreate, *, now: datetime) -> int | None:
    if data.requester_id is not None and data.requester is not None:
        raise ValidationFailed("give requester_id or requester, not both", field="requester")
    if data.requester_id is not None:
        await customers.check_contact_exists(data.requester_id, field="requester_id")
        return data.requester_id
    if data.requester is not None:
        existing = await customers.find_contact_by_address(data.requester.email)
        if existing:
            return existing["id"]
        return await customers.do_create_contact(
            actor, name=data.requester.name, emails=[data.requester.email], now=now,
            account_id=await customers.find_account_for_address(data.requester.email), enforce_required=False,
        )
    return None


async def create_ticket(actor: Actor, data: TicketCreate, *, now: datetime) -> TicketDetail:
    async with unit_of_work():
        await check_agent_exists(data.assignee_id, field="assignee_id")
        await check_team_exists(data.team_id, field="team_id")
        custom = await customers.check_custom_values("ticket", data.custom_fields)
        requester_id = await _requester_for(actor, data, now=now)
        requester = await customers.get_contact(requester_id) if requester_id is not None else None
        account_id = requester.account_id if requester else None
        ticket_id = await do_insert_ticket(
            actor, subject=data.subject, requester_id=requester_id, account_id=account_id, priority=data.priority,
            channel=data.channel, team_id=data.team_id, assignee_id=data.assignee_id, custom_fields=custom, now=now,
        )
        await _set_tags(ticket_id, data.tags)
        if data.text or data.html:
            await do_insert_message(
                ticket_id, kind="customer" if requester else "note", now=now, text=data.text,
                safe_html=sanitize_html(data.html) if data.html else None,
                author_contact_id=requester_id, author_agent_id=None if requester else actor.agent_id,
                from_name=requester.name if requester else "", from_address=requester.emails[0] if requester else "",
                subject=data.subject, thread_reason="api", message_id=new_message_id(now),
            )
    return await get_ticket_detail(ticket_id)


async def do_insert_ticket(
    actor: Actor, *, subject: str, requester_id: int | None, account_id: int | None, priority: str, channel: str,
    now: datetime, team_id: int | None = None, assignee_id: int | None = None,
    custom_fields: dict[str, Any] | None = None, pending_audit: list[Any] | None = None,
) -> int:
    """Insert a ticket inside the caller's unit of work, with its audit entry and event.

    With ``pending_audit`` the entry is appended there for the caller to write with the others
    of its transaction (``audit.service.record_all``), not written now.
    """
    [row] = await Ticket.insert(
        Ticket(
            subject=subject.strip()[:500], status="new", priority=priority, priority_rank=PRIORITY_RANK[priority],
            channel=channel, requester=requester_id, account=account_id, assignee=assignee_id, team=team_id,
            custom_fields=custom_fields or {}, created_at=now, updated_at=now, version=1,
        )
    ).run()
    ticket_id = row["id"]
    changes = audit_service.changes_between(
        {}, {"subject": subject, "priority": priority, "channel": channel, "requester_id": requester_id,
             "assignee_id": assignee_id, "team_id": team_id}
    )
    await audit_service.record(actor, "ticket.created", "ticket", ticket_id, changes, at=now, pending=pending_audit)
    publish_on_commit(Event("ticket", "created", ticket_id, version=1))
    return ticket_id


async def do_insert_message(
    ticket_id: int, *, kind: str, now: datetime, text: str, safe_html: str | None = None, new_text: str | None = None,
    author_agent_id: int | None = None, author_contact_id: int | None = None, from_name: str = "",
    from_address: str = "", to: list[str] | None = None, cc: list[str] | None = None, subject: str = "",
    message_id: str | None = None, in_reply_to: str | None = None, references: list[str] | None = None,
    delivery_state: str | None = None, thread_reason: str = "", thread_ref: str = "", auto_generated: str = "none",
    attachments: Sequence[tuple[str, str, bytes, str | None, bool]] = (),
) -> int:
    """Insert a message (and its attachments) inside the caller's unit of work.

    ``safe_html`` is HTML already sanitised where it entered (sanitising is the costly step,
    so it happens once); attachments are (filename, content type, content, content id, inline).
    """
    [row] = await Message.insert(
        Message(
            ticket=ticket_id, kind=kind, author_agent=author_agent_id, author_contact=author_contact_id,
            from_name=from_name, from_address=from_address, to_addresses=to or [], cc_addresses=cc or [],
            subject=subject, message_id=message_id, in_reply_to=in_reply_to, references=references or [],
            text_body=text, new_text=text if new_text is None else new_text, html_body=safe_html, created_at=now,
            delivery_state=delivery_state, thread_reason=thread_reason, thread_ref=thread_ref,
            auto_generated=auto_generated,
        )
    ).run()
    for filename, content_type, content, content_id, inline in attachments:
        digest = await store_blob(content)
        await Attachment.insert(
            Attachment(message=row["id"], filename=filename, content_type=content_type, size=len(content),
                       content_id=content_id, inline=inline, sha256=digest)
        ).run()
    publish_on_commit(Event("message", "created", row["id"], data={"ticket_id": ticket_id, "kind": kind}))
    return row["id"]


async def _locked_ticket(ticket_id: int, expected_version: int | None) -> TicketRead:
    ticket = await get_ticket(ticket_id)
    if expected_version is not None and ticket.version != expected_version:
        raise StaleVersion(
            f"ticket {ticket.number} changed since you loaded it (now version {ticket.version})",
            field="version", extra={"current_version": ticket.version},
        )
    return ticket


async def do_bump_ticket(ticket: TicketRead, values: dict[Any, Any], *, now: datetime) -> int:
    """Write ``values`` only if nobody changed the ticket since ``ticket`` was read; the new version."""
    new_version = ticket.version + 1
    updated = await Ticket.update({**values, Ticket.updated_at: now, Ticket.version: new_version}).where(
        (Ticket.id == ticket.id) & (Ticket.version == ticket.version)
    ).returning(Ticket.id).run()
    if not updated:
        raise StaleVersion(f"ticket {ticket.number} changed while saving", field="version")
    new_status = next((value for column, value in values.items() if column is Ticket.status), ticket.status)
    if new_status != ticket.status:  # every status change passes here (API, replies, mail, SLA)
        await TicketStatusChange.insert(TicketStatusChange(ticket=ticket.id, status=new_status, changed_at=now)).run()
    publish_on_commit(Event("ticket", "updated", ticket.id, version=new_version))
    return new_version


async def update_ticket(actor: Actor, ticket_id: int, data: TicketUpdate, *, now: datetime) -> TicketRead:
    fields = provided_fields(data)
    fields.pop("version")
    async with unit_of_work():
        ticket = await _locked_ticket(ticket_id, data.version)
        values: dict[Any, Any] = {}
        if "status" in fields:
            check_transition(ticket.status, fields["status"])
            values[Ticket.status] = fields["status"]
            if fields["status"] == "solved" and ticket.status != "solved":
                values[Ticket.solved_at] = now
            elif fields["status"] not in ("solved", "closed"):
                values[Ticket.solved_at] = None
        if "priority" in fields:
            values[Ticket.priority] = fields["priority"]
            values[Ticket.priority_rank] = PRIORITY_RANK[fields["priority"]]
        if "subject" in fields:
            values[Ticket.subject] = fields["subject"]
        if "assignee_id" in fields:
            await check_agent_exists(fields["assignee_id"], field="assignee_id")
            values[Ticket.assignee] = fields["assignee_id"]
        if "team_id" in fields:
            await check_team_exists(fields["team_id"], field="team_id")
            values[Ticket.team] = fields["team_id"]
        if "custom_fields" in fields:
            fields["custom_fields"] = await customers.check_custom_values(
                "ticket", fields["custom_fields"], existing=ticket.custom_fields
            )
            values[Ticket.custom_fields] = fields["custom_fields"]
        if "tags" in fields:
            fields["tags"] = await _set_tags(ticket_id, fields["tags"])
        await do_bump_ticket(ticket, values, now=now)
        changes = audit_service.changes_between(msgspec.structs.asdict(ticket), fields)
        await audit_service.record(actor, "ticket.updated", "ticket", ticket_id, changes, at=now)
        if "assignee_id" in changes or "team_id" in changes:
            publish_on_commit(Event("ticket", "assigned", ticket_id, data={
                "assignee_id": fields.get("assignee_id", ticket.assignee_id),
                "team_id": fields.get("team_id", ticket.team_id)}))
    return await get_ticket(ticket_id)


def _decode_upload(upload: AttachmentUpload, index: int) -> tuple[str, str, bytes, None, bool]:
    try:
        content = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("not valid base64", field=f"attachments.{index}.content_base64") from None
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed("attachment too large", field=f"attachments.{index}.content_base64")
    filename = upload.filename.replace("/", "_").replace("\\", "_").strip() or f"attachment-{index + 1}"
    return filename, upload.content_type, content, None, False


MAX_REFERENCES = 20


async def _thread_headers(ticket_id: int) -> tuple[str | None, list[str]]:
    """In-Reply-To and References for a reply: the customer's latest mail and its chain, so the
    customer's mail client files our answer in the right thread."""
    latest = None
    for kinds in (["customer"], ["reply", "auto_reply"]):
        latest = await Message.select(Message.message_id, Message.references).output(load_json=True).where(
            (Message.ticket == ticket_id) & Message.message_id.is_not_null() & Message.kind.is_in(kinds)
        ).order_by(Message.created_at, Message.id, ascending=False).first().run()
        if latest:
            break
    if latest is None:
        return None, []
    chain = [ref for ref in latest["references"] if ref != latest["message_id"]] + [latest["message_id"]]
    # Keep the thread root and the newest ones: very long References headers fold badly.
    return latest["message_id"], chain if len(chain) <= MAX_REFERENCES else [chain[0], *chain[1 - MAX_REFERENCES:]]


async def add_message(actor: Actor, ticket_id: int, data: MessageCreate, *, now: datetime) -> MessageRead:
    """An agent reply or internal note. Replies are queued for delivery, never sent in the request."""
    if not data.text.strip() and not (data.html or "").strip():
        raise ValidationFailed("a message needs text", field="text")
    uploads = [_decode_upload(upload, i) for i, upload in enumerate(data.attachments)]
    async with unit_of_work():
        ticket = await _locked_ticket(ticket_id, data.version)
        if ticket.status == "closed":
            raise ValidationFailed("closed tickets take no new messages", field="ticket_id")
        to = [ticket.requester.email] if data.kind == "reply" and ticket.requester and ticket.requester.email else []
        in_reply_to, references = await _thread_headers(ticket_id) if data.kind == "reply" else (None, [])
        message_id = await do_insert_message(
            ticket_id, kind=data.kind, now=now, text=data.text,
            safe_html=sanitize_html(data.html) if data.html else None, author_agent_id=actor.agent_id,
            to=to, subject=ticket.subject, message_id=new_message_id(now), in_reply_to=in_reply_to,
            references=references,
            delivery_state="queued" if data.kind == "reply" else None, attachments=uploads,
        )
        values: dict[Any, Any] = {}
        if data.kind == "reply":
            values[Ticket.status] = status_after_agent_reply(ticket.status)
            if ticket.first_response_at is None:
                values[Ticket.first_response_at] = now
        await do_bump_ticket(ticket, values, now=now)
        await audit_service.record(actor, f"message.{data.kind}", "ticket", ticket_id, {"message_id": [None, message_id]}, at=now)
    [message] = [m for m in await list_messages(ticket_id) if m.id == message_id]
    return message
