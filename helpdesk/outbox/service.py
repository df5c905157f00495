"""The outbox: queued messages are delivered by SMTP after their transaction committed.

A reply or an automatic mail is a message row with ``delivery_state = 'queued'``, written in
the same transaction as everything else the action did. The sender claims due rows, builds the
mail (its Message-ID was fixed when the row was written, so a retry after a crash sends the
very same mail, which receivers and our own intake recognise), and records the outcome.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from helpdesk.auth.service import get_agent
from helpdesk.db import unit_of_work
from helpdesk.events import Event, publish_on_commit
from helpdesk.inbox.ingest import TicketOpened
from helpdesk.inbox.service import read_secret
from helpdesk.inbox.tables import InboundMail, Mailbox
from helpdesk.outbox.autoreply import AckFacts, acknowledgement_refusal
from helpdesk.outbox.compose import (
    OutgoingAttachment,
    OutgoingMail,
    compose,
    reply_subject,
)
from helpdesk.outbox.smtp import SmtpEndpoint, SmtpError, send
from helpdesk.templates import DEFAULT_ACK_BODY, DEFAULT_ACK_SUBJECT, render
from helpdesk.tickets import service as tickets
from helpdesk.tickets.numbers import ticket_number
from helpdesk.tickets.tables import Attachment, Blob, Message

logger = logging.getLogger(__name__)

CLAIM_FOR = timedelta(minutes=5)  # a sender that died mid-delivery gives its claim up after this
ACK_CAP_WINDOW = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 … minutes, capped at 30 minutes."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


# ---------------------------------------------------------------- acknowledgements


async def queue_acknowledgement(opened: TicketOpened, *, first_response_due: datetime | None = None) -> int | None:
    """Queue the acknowledgement of a ticket opened by mail (inside the ingest transaction).

    Returns the queued message id, or None when RFC 3834's rules or the mailbox say no.
    """
    if opened.mailbox_id is None or not opened.acknowledge:
        return None
    mailbox = await Mailbox.select().where(Mailbox.id == opened.mailbox_id).first().run()
    if mailbox is None or not mailbox["ack_enabled"] or not mailbox["from_address"]:
        return None
    parsed = opened.parsed
    sender = parsed.from_.address if parsed.from_ else None
    refusal = acknowledgement_refusal(AckFacts(
        sender=sender, auto_generated=parsed.auto_generated, return_path=parsed.return_path,
        our_addresses=opened.our_addresses,
        already_acknowledged=await Message.exists().where(
            (Message.ticket == opened.ticket_id) & (Message.kind == "auto_reply")).run(),
        sent_to_sender_recently=await _acknowledgements_since(opened.ticket_id, opened.now - ACK_CAP_WINDOW),
        cap_per_window=mailbox["ack_limit_per_hour"],
    ))
    if refusal:
        logger.info("ticket %s: no acknowledgement (%s)", ticket_number(opened.ticket_id), refusal)
        return None
    number = ticket_number(opened.ticket_id)
    values = {"ticket_number": number, "token": f"#{number}", "subject": parsed.subject or "(no subject)",
              "customer_name": (parsed.from_.name if parsed.from_ else "") or "there",
              "first_response_due": f"{first_response_due:%Y-%m-%d %H:%M} UTC" if first_response_due else None}
    body = render(mailbox["ack_body_template"] or DEFAULT_ACK_BODY, values)
    subject = render(mailbox["ack_subject_template"] or DEFAULT_ACK_SUBJECT, values)
    return await tickets.do_insert_message(
        opened.ticket_id, kind="auto_reply", now=opened.now, text=body, from_name=mailbox["from_name"],
        from_address=mailbox["from_address"], to=[sender], subject=subject,
        message_id=tickets.new_message_id(opened.now), in_reply_to=parsed.message_id,
        references=[*parsed.references, parsed.message_id][-20:], delivery_state="queued",
        thread_reason="acknowledgement",
    )


async def _acknowledgements_since(ticket_id: int, since: datetime) -> int:
    """Acknowledgements sent since ``since`` to the requester of ``ticket_id`` (the sender's contact)."""
    ticket = await tickets.get_ticket(ticket_id)
    if ticket.requester is None:
        return 0
    return await Message.count().where(
        (Message.kind == "auto_reply") & (Message.created_at > since)
        & (Message.ticket.requester == ticket.requester.id)
    ).run()


# ---------------------------------------------------------------- delivery


async def claim_due(*, now: datetime, limit: int = 20) -> list[int]:
    """Claim queued messages that are due; a claim expires so a dead sender's mail is picked up again."""
    candidates = await Message.select(Message.id).where(
        (Message.delivery_state == "queued") & (Message.deliver_after.is_null() | (Message.deliver_after <= now))
    ).order_by(Message.id).limit(limit).run()
    claimed = []
    for row in candidates:
        # The compare-and-set makes sure two senders never both take the same message.
        taken = await Message.update({Message.deliver_after: now + CLAIM_FOR,
                                      Message.delivery_attempts: Message.delivery_attempts + 1}).where(
            (Message.id == row["id"]) & (Message.delivery_state == "queued")
            & (Message.deliver_after.is_null() | (Message.deliver_after <= now))
        ).returning(Message.id).run()
        if taken:
            claimed.append(row["id"])
    return claimed


async def _mailbox_for(ticket_id: int) -> dict[str, Any] | None:
    """The mailbox the ticket's mail came in through, else the first one that can send."""
    inbound = await InboundMail.select(InboundMail.mailbox).where(
        (InboundMail.ticket == ticket_id) & InboundMail.mailbox.is_not_null()
    ).order_by(InboundMail.id).first().run()
    if inbound:
        mailbox = await Mailbox.select().where(Mailbox.id == inbound["mailbox"]).first().run()
        if mailbox and mailbox["smtp_host"] and mailbox["from_address"]:
            return mailbox
    return await Mailbox.select().where(
        Mailbox.smtp_host.is_not_null() & Mailbox.from_address.is_not_null()
    ).order_by(Mailbox.id).first().run()


def smtp_endpoint(mailbox: dict[str, Any]) -> SmtpEndpoint:
    password = None
    if mailbox["smtp_password_env"] or mailbox["smtp_password_file"]:
        password = read_secret(mailbox["smtp_password_env"], mailbox["smtp_password_file"], field="smtp_password")
    return SmtpEndpoint(host=mailbox["smtp_host"], port=mailbox["smtp_port"], security=mailbox["smtp_security"],
                        username=mailbox["smtp_username"], password=password)


async def build_outgoing(message_id: int) -> tuple[OutgoingMail, dict[str, Any]] | None:
    """The mail for a queued message and the mailbox it leaves through (None: no mailbox can send)."""
    message = await Message.select().output(load_json=True).where(Message.id == message_id).first().run()
    ticket = await tickets.get_ticket(message["ticket"])
    mailbox = await _mailbox_for(ticket.id)
    if mailbox is None:
        return None
    automatic = message["kind"] in ("auto_reply", "notification")
    text = message["text_body"]
    if message["kind"] == "reply" and mailbox["signature_template"]:
        agent_name = await _agent_name(message["author_agent"])
        signature = render(mailbox["signature_template"],
                           {"agent_name": agent_name, "mailbox_name": mailbox["from_name"] or mailbox["name"]})
        text = f"{text.rstrip()}\n\n{signature}\n"
    attachments = []
    for row in await Attachment.select().where(Attachment.message == message_id).order_by(Attachment.id).run():
        blob = await Blob.select(Blob.content).where(Blob.sha256 == row["sha256"]).first().run()
        attachments.append(OutgoingAttachment(row["filename"], row["content_type"], bytes(blob["content"])))
    mail = OutgoingMail(
        from_name=mailbox["from_name"], from_address=mailbox["from_address"], to=tuple(message["to_addresses"]),
        cc=tuple(message["cc_addresses"]),
        subject=message["subject"] if automatic else reply_subject(ticket.subject, ticket.number),
        message_id=message["message_id"], text=text, html=message["html_body"],
        in_reply_to=message["in_reply_to"], references=tuple(message["references"]), automatic=automatic,
        attachments=tuple(attachments),
    )
    return mail, mailbox


async def _agent_name(agent_id: int | None) -> str:
    return (await get_agent(agent_id)).name if agent_id is not None else ""


async def deliver(message_id: int, *, now: datetime) -> str:
    """Send one claimed message; the resulting delivery state."""
    built = await build_outgoing(message_id)
    if built is None:
        return await _record(message_id, "failed", now=now, error="no mailbox is configured for sending")
    mail, mailbox = built
    if not mail.to:
        return await _record(message_id, "failed", now=now, error="the message has no recipient")
    try:
        await send(compose(mail), smtp_endpoint(mailbox))
    except SmtpError as error:
        if error.permanent:
            return await _record(message_id, "failed", now=now, error=error.detail)
        attempts = await _attempts(message_id)
        return await _record(message_id, "queued", now=now, error=error.detail,
                             deliver_after=now + retry_delay(attempts))
    return await _record(message_id, "sent", now=now)


async def _attempts(message_id: int) -> int:
    row = await Message.select(Message.delivery_attempts).where(Message.id == message_id).first().run()
    return row["delivery_attempts"]


async def _record(message_id: int, state: str, *, now: datetime, error: str | None = None,
                  deliver_after: datetime | None = None) -> str:
    async with unit_of_work():
        values: dict[Any, Any] = {Message.delivery_state: state, Message.delivery_error: error,
                                  Message.deliver_after: deliver_after}
        if state == "sent":
            values[Message.sent_at] = now
        row = await Message.select(Message.ticket).where(Message.id == message_id).first().run()
        # A bounce may have been recorded meanwhile; never overwrite it with "sent".
        await Message.update(values).where((Message.id == message_id) & (Message.delivery_state == "queued")).run()
        publish_on_commit(Event("message", "updated", message_id, data={"ticket_id": row["ticket"],
                                                                         "delivery_state": state}))
    if state != "sent":
        logger.warning("message %s: %s (%s)", message_id, state, error)
    return state


async def mark_sent(message_id: int, *, at: datetime) -> None:
    """Record a queued message as delivered at ``at`` without sending it: conversations brought
    in from elsewhere, such as the demo's, whose replies went out long ago."""
    await _record(message_id, "sent", now=at)


async def deliver_due(*, now: datetime) -> int:
    delivered = 0
    for message_id in await claim_due(now=now):
        await deliver(message_id, now=now)
        delivered += 1
    return delivered


