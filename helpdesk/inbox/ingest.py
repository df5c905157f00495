"""The one way mail enters: store the raw bytes, then turn them into a ticket message.

Whatever delivers mail calls ``store_received`` and then ``ingest_stored`` (a file import: one
mail per transaction), or ``store_and_ingest`` for a whole fetched batch (the IMAP poller: one
transaction, a savepoint per mail). Storing is idempotent on (source, UIDVALIDITY, UID) and on
(source, Message-ID), so a second delivery is a no-op; a mail is either wholly on a ticket or
not at all; a failure keeps the raw mail for retry with backoff.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import helpdesk.audit.service as audit_service
from helpdesk.actors import SYSTEM
from helpdesk.customers import service as customers
from helpdesk.db import execute_many, is_postgres, savepoint, unit_of_work
from helpdesk.events import Event, publish_on_commit
from helpdesk.inbox.parse import ParsedMail, synthetic_message_id
from helpdesk.inbox.parse_pool import parse_outcome
from helpdesk.inbox.tables import InboundMail, Mailbox
from helpdesk.inbox.threading import (
    Ignore,
    JoinTicket,
    MailFacts,
    NewTicket,
    TicketFacts,
    decide,
    subject_token,
)
from helpdesk.tickets import service as tickets
from helpdesk.tickets.numbers import ticket_id_from_number, ticket_number
from helpdesk.tickets.status import status_after_customer_message
from helpdesk.tickets.tables import Message, Ticket, TicketParticipant

logger = logging.getLogger(__name__)

LOOP_HEADER_VALUE = "helpdesk"
MAX_ATTEMPTS = 5
IMPORT_SOURCE = "import"


def source_for_mailbox(mailbox_id: int) -> str:
    return f"mailbox:{mailbox_id}"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4, 8 … minutes, capped at an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


@dataclass(frozen=True)
class Received:
    """One mail as fetched, parsed (or not, when parsing itself failed)."""

    raw: bytes
    uid: int | None = None
    parsed: ParsedMail | None = None
    parse_error: str | None = None

    @property
    def message_id(self) -> str:
        """The Message-ID it is stored under: a synthetic one (from the bytes) when it has none or did not parse."""
        return self.parsed.message_id if self.parsed else synthetic_message_id(self.raw)


def parse_received(raw: bytes, uid: int | None = None) -> Received:
    parsed, error = parse_outcome(raw)
    return Received(raw=raw, uid=uid, parsed=parsed, parse_error=error)


@dataclass(frozen=True)
class Stored:
    inbound_id: int
    created: bool
    state: str


async def store_received(
    source: str, mails: list[Received], *, now: datetime, mailbox_id: int | None = None,
    uidvalidity: int | None = None,
) -> list[Stored]:
    """Store raw mails (one transaction) and advance the mailbox checkpoint with them.

    Mails not stored before go in with one multi-row insert per few hundred, not one statement each.
    """
    async with unit_of_work():
        by_uid, by_message_id = await _already_stored(source, mails, uidvalidity)
        new_rows: dict[str, tuple[InboundMail, bytes]] = {}  # by the Message-ID stored, in arrival order
        # Per mail: its Stored when it was stored before, else (Message-ID, whether it is the first of the call).
        outcomes: list[Stored | tuple[str, bool]] = []
        for mail in mails:
            known = await _store_known(mail, by_uid, by_message_id, uidvalidity=uidvalidity)
            if known is not None:
                outcomes.append(known)
                continue
            message_id = mail.message_id[:500]
            # A later mail of the same call with this Message-ID is a repeat, as it would be in a later call.
            outcomes.append((message_id, message_id not in new_rows))
            if message_id not in new_rows:
                new_rows[message_id] = (InboundMail(
                    source=source, mailbox=mailbox_id, uidvalidity=uidvalidity, uid=mail.uid, message_id=message_id,
                    sha256=hashlib.sha256(mail.raw).hexdigest(), size=len(mail.raw), state="received",
                    received_at=now), mail.raw)
            elif mail.uid is not None:  # a repeat: stored under its latest UID, as a later call would
                new_rows[message_id][0].uid = mail.uid
        inserted = await _insert_new(list(new_rows.values()))
        stored = [outcome if isinstance(outcome, Stored) else Stored(inserted[outcome[0]], outcome[1], "received")
                  for outcome in outcomes]
        uids = [mail.uid for mail in mails if mail.uid is not None]
        if mailbox_id is not None and uids:
            await Mailbox.update({Mailbox.uidvalidity: uidvalidity, Mailbox.last_uid: max(uids)}).where(
                (Mailbox.id == mailbox_id) & (Mailbox.last_uid < max(uids))
            ).run()
    return stored


async def _already_stored(
    source: str, mails: list[Received], uidvalidity: int | None
) -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Rows already stored for ``mails``, by UID (under ``uidvalidity``) and by Message-ID: two queries a batch."""
    by_uid: dict[int, dict[str, Any]] = {}
    uids = [mail.uid for mail in mails if mail.uid is not None]
    if uids:
        rows = await InboundMail.select(InboundMail.id, InboundMail.state, InboundMail.uid).where(
            (InboundMail.source == source) & (InboundMail.uidvalidity == uidvalidity) & InboundMail.uid.is_in(uids)
        ).run()
        by_uid = {row["uid"]: row for row in rows}
    rows = await InboundMail.select(InboundMail.id, InboundMail.state, InboundMail.message_id).where(
        (InboundMail.source == source) & InboundMail.message_id.is_in([mail.message_id for mail in mails])
    ).run() if mails else []
    return by_uid, {row["message_id"]: row for row in rows}


async def _store_known(
    mail: Received, by_uid: dict[int, dict[str, Any]], by_message_id: dict[str, dict[str, Any]], *,
    uidvalidity: int | None
) -> Stored | None:
    """A mail stored before, by UID or by Message-ID; None for a new one."""
    same_uid = by_uid.get(mail.uid) if mail.uid is not None else None
    if same_uid:
        return Stored(same_uid["id"], False, same_uid["state"])
    same_id = by_message_id.get(mail.message_id)
    if same_id is None:
        return None
    if mail.uid is not None:
        # The same mail under a new UID (UIDVALIDITY changed, or delivered twice): remember
        # where it is now, so the server-side flag or move still reaches it.
        await InboundMail.update({
            InboundMail.uidvalidity: uidvalidity, InboundMail.uid: mail.uid,
            InboundMail.server_state: "pending" if same_id["state"] in ("processed", "ignored") else "none",
        }).where(InboundMail.id == same_id["id"]).run()
    return Stored(same_id["id"], False, same_id["state"])


async def _insert_new(rows: list[tuple[InboundMail, bytes]], *, per_statement: int = 200) -> dict[str, int]:
    """Insert new mails with their raw bytes; their ids by Message-ID (unique per source, so a key of the call)."""
    ids: dict[str, int] = {}
    for start in range(0, len(rows), per_statement):
        returned = await InboundMail.insert(*(row for row, _ in rows[start:start + per_statement])).returning(
            InboundMail.id, InboundMail.message_id).run()
        ids.update((row["message_id"], row["id"]) for row in returned)
    await execute_many("INSERT INTO inbound_mail_raw (mail, raw) VALUES ({}, {})",
                       [(ids[row.message_id], raw) for row, raw in rows])
    return ids


@dataclass
class IngestBatch:
    """Mails ingested in one transaction by ``store_and_ingest``, and what they share."""

    rules: MailboxRules
    # Rows inserted by this very transaction: no one else can see them yet, so their state needs
    # no check and no lock.
    just_stored: frozenset[int] = field(default_factory=frozenset)
    processed: int = 0  # counted on the mailbox once, before the commit
    # Audit rows ("contact.created", "ticket.created", "mail.ingested"), written in one statement before the commit.
    audit: list[Any] = field(default_factory=list)


async def store_and_ingest(
    source: str, mails: list[Received], *, now: datetime, rules: MailboxRules, uidvalidity: int | None = None
) -> list[Stored]:
    """Store fetched mails and ingest the new ones in one transaction, with a savepoint per mail.

    A commit (on SQLite also a connection) costs more than a mail's own statements, so the batch
    shares one. A mail that fails rolls back to its savepoint and is recorded as failed, and the
    others commit. The checkpoint moves in the same transaction, and the caller flags or moves
    the mails on the server only after this returns: a crash repeats the whole batch or nothing.
    """
    async with unit_of_work():
        stored = await store_received(source, mails, now=now, mailbox_id=rules.mailbox_id, uidvalidity=uidvalidity)
        batch = IngestBatch(rules, frozenset(outcome.inbound_id for outcome in stored if outcome.created))
        for mail, outcome in zip(mails, stored):
            if outcome.state == "received":
                await ingest_stored(outcome.inbound_id, mail, now=now, rules=rules, batch=batch)
        await audit_service.record_all(batch.audit)
        await _count_ingested(rules.mailbox_id, batch.processed)
    return stored


async def ingest_stored(
    inbound_id: int, received: Received, *, now: datetime, rules: MailboxRules | None = None,
    batch: IngestBatch | None = None,
) -> str:
    """Ingest one stored mail; on an unexpected error record it for retry. Returns the new state.

    Alone it is its own transaction; in a ``batch`` (inside its transaction) it is a savepoint.
    """
    if received.parsed is None:
        return await _record_failure(inbound_id, received.parse_error or "parse failed", now=now)
    audited = len(batch.audit) if batch is not None else 0
    try:
        async with savepoint() if batch is not None else nullcontext():
            return await ingest(inbound_id, received.parsed, now=now, rules=rules, batch=batch)
    except Exception as error:  # boundary: one poison mail must not stop the mails behind it
        if batch is not None:
            del batch.audit[audited:]  # rolled back with its savepoint
        logger.exception("ingesting inbound mail %s failed", inbound_id)
        return await _record_failure(inbound_id, f"{type(error).__name__}: {error}", now=now)


async def _count_ingested(mailbox_id: int | None, count: int) -> None:
    if mailbox_id is not None and count:
        await Mailbox.update({Mailbox.ingested_count: Mailbox.ingested_count + count}).where(
            Mailbox.id == mailbox_id
        ).run()


async def _record_failure(inbound_id: int, error: str, *, now: datetime) -> str:
    async with unit_of_work():
        row = await InboundMail.select(InboundMail.attempts).where(InboundMail.id == inbound_id).first().run()
        attempts = row["attempts"] + 1
        state = "quarantined" if attempts >= MAX_ATTEMPTS else "failed"
        await InboundMail.update({
            InboundMail.state: state, InboundMail.error: error[:2000], InboundMail.attempts: attempts,
            InboundMail.next_attempt_at: None if state == "quarantined" else now + retry_delay(attempts),
        }).where(InboundMail.id == inbound_id).run()
    logger.warning("inbound mail %s %s after %s attempt(s)", inbound_id, state, attempts)
    return state


@dataclass(frozen=True)
class TicketOpened:
    """A ticket just opened by a mail, handed to hooks inside the ingest transaction."""

    ticket_id: int
    mailbox_id: int | None
    parsed: ParsedMail
    our_addresses: frozenset[str]
    now: datetime
    acknowledge: bool = True  # False when the mailbox's rules already say it sends no acknowledgements


TicketOpenedHook = Callable[[TicketOpened], Awaitable[object]]
# Other domains react to new tickets here (wired by the composition root), e.g. the outbox
# queues an acknowledgement in the same transaction, so it exists exactly when the ticket does.
_ticket_opened_hooks: list[TicketOpenedHook] = []


def on_ticket_opened(hook: TicketOpenedHook) -> None:
    if hook not in _ticket_opened_hooks:
        _ticket_opened_hooks.append(hook)


@dataclass(frozen=True)
class MailboxRules:
    """What a mailbox decides for the tickets it opens."""

    mailbox_id: int | None
    our_addresses: frozenset[str]
    default_team_id: int | None = None
    default_priority: str = "normal"
    # False: the mailbox sends no acknowledgements, and the outbox need not read it to find out.
    acknowledge: bool = True


async def rules_for(mailbox_id: int | None) -> MailboxRules:
    mailboxes = await Mailbox.select(
        Mailbox.id, Mailbox.addresses, Mailbox.default_team, Mailbox.default_priority, Mailbox.ack_enabled
    ).output(load_json=True).run()
    ours = frozenset(address.lower() for mailbox in mailboxes for address in mailbox["addresses"])
    own = next((m for m in mailboxes if m["id"] == mailbox_id), None)
    if own is None:
        return MailboxRules(mailbox_id=None, our_addresses=ours)
    return MailboxRules(mailbox_id=mailbox_id, our_addresses=ours, default_team_id=own["default_team"],
                        default_priority=own["default_priority"], acknowledge=bool(own["ack_enabled"]))


async def ingest(inbound_id: int, parsed: ParsedMail, *, now: datetime, rules: MailboxRules | None = None,
                 batch: IngestBatch | None = None) -> str:
    """Turn a stored mail into a ticket message, in one transaction (or the batch's). Returns the new state."""
    async with unit_of_work():
        if batch is not None and inbound_id in batch.just_stored:
            rules = batch.rules  # stored by this very transaction: no one else can have ingested it
        else:
            query = InboundMail.select(InboundMail.state, InboundMail.mailbox).where(InboundMail.id == inbound_id).first()
            if is_postgres():
                # Two instances may ingest one row at once (both retrying it): the second waits here and
                # then finds it done. SQLite needs no lock: its IMMEDIATE transactions already take turns.
                query = query.lock_rows()
            row = await query.run()
            if row["state"] in ("processed", "ignored", "quarantined"):
                return row["state"]  # already done by an earlier run: a retry is a no-op
            rules = rules or (batch.rules if batch is not None else await rules_for(row["mailbox"]))
        if parsed.too_large:
            await _finish(inbound_id, "quarantined", now=now, error="too large: only the headers were read",
                          reason="too_large", server_action=False, batch=batch)
            return "quarantined"
        facts = _facts(parsed, rules)
        decision = decide(
            facts,
            tickets_by_message_id=await _tickets_by_message_id([*facts.references, *([facts.in_reply_to] if facts.in_reply_to else [])]),
            tickets_by_number=await _tickets_by_number(subject_token(parsed.subject)),
        )
        await _mark_bounced(parsed)
        if isinstance(decision, Ignore):
            await _finish(inbound_id, "ignored", now=now, reason=decision.reason,
                          server_action=rules.mailbox_id is not None, batch=batch)
            logger.info("inbound mail %s ignored: %s", inbound_id, decision.reason)
            return "ignored"
        ticket_id, message_id = await _add_to_ticket(decision, parsed, rules, now=now,
                                                     pending_audit=batch.audit if batch is not None else None)
        await _finish(inbound_id, "processed", now=now, reason=decision.reason, ticket_id=ticket_id,
                      message_id=message_id, server_action=rules.mailbox_id is not None, batch=batch)
        if batch is not None:
            batch.processed += 1
        else:
            await _count_ingested(rules.mailbox_id, 1)
    logger.info("inbound mail %s → ticket %s (%s)", inbound_id, ticket_number(ticket_id), decision.reason)
    return "processed"


def _facts(parsed: ParsedMail, rules: MailboxRules) -> MailFacts:
    # A bounce names our original in its report part; look that up like a reference.
    references = tuple(dict.fromkeys([*parsed.references, *parsed.bounced_message_ids]))
    return MailFacts(
        sender=parsed.from_.address if parsed.from_ else None,
        subject=parsed.subject,
        in_reply_to=parsed.in_reply_to,
        references=references,
        auto_generated=parsed.auto_generated,
        has_our_loop_header=parsed.loop_header is not None and parsed.loop_header.strip() == LOOP_HEADER_VALUE,
    )


async def _participants(ticket_ids: list[int]) -> dict[int, frozenset[str]]:
    addresses: dict[int, set[str]] = {ticket_id: set() for ticket_id in ticket_ids}
    if not ticket_ids:
        return {}
    for row in await TicketParticipant.select(TicketParticipant.ticket, TicketParticipant.address).where(
        TicketParticipant.ticket.is_in(ticket_ids)
    ).run():
        addresses[row["ticket"]].add(row["address"])
    return {ticket_id: frozenset(found) for ticket_id, found in addresses.items()}


async def _ticket_facts(ticket_ids: list[int]) -> dict[int, TicketFacts]:
    if not ticket_ids:
        return {}
    rows = await Ticket.select(Ticket.id, Ticket.status).where(Ticket.id.is_in(ticket_ids)).run()
    participants = await _participants(ticket_ids)
    return {
        row["id"]: TicketFacts(id=row["id"], number=ticket_number(row["id"]), status=row["status"],
                               participants=participants.get(row["id"], frozenset()))
        for row in rows
    }


async def _tickets_by_message_id(message_ids: list[str]) -> dict[str, TicketFacts]:
    if not message_ids:
        return {}
    rows = await Message.select(Message.message_id, Message.ticket).where(Message.message_id.is_in(message_ids)).run()
    facts = await _ticket_facts(list({row["ticket"] for row in rows}))
    return {row["message_id"]: facts[row["ticket"]] for row in rows if row["ticket"] in facts}


async def _tickets_by_number(token: str | None) -> dict[str, TicketFacts]:
    ticket_id = ticket_id_from_number(token) if token else None
    if ticket_id is None:
        return {}
    facts = await _ticket_facts([ticket_id])
    return {token: facts[ticket_id]} if ticket_id in facts else {}


async def _mark_bounced(parsed: ParsedMail) -> None:
    if parsed.auto_generated == "bounce" and parsed.bounced_message_ids:
        await Message.update({Message.delivery_state: "bounced", Message.delivery_error: parsed.subject[:500]}).where(
            Message.message_id.is_in(list(parsed.bounced_message_ids)) & (Message.kind == "reply")
        ).run()


async def _known_contacts(parsed: ParsedMail) -> dict[str, dict[str, Any]]:
    """The contacts of the mail's sender and recipients, by normalised address (one query, mostly)."""
    addresses = [a.address for a in (*([parsed.from_] if parsed.from_ else []), *parsed.to, *parsed.cc)]
    contacts = await customers.find_contacts_by_addresses(addresses)
    sender = parsed.from_.address if parsed.from_ is not None and parsed.from_.address else None
    if sender and customers.normalise_address(sender) not in contacts and is_postgres():
        # Mail from a new sender can be ingested twice at once (it went to two of our mailboxes):
        # take turns on the address until commit, and look again, so the second finds the contact
        # the first made.
        await Ticket.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"contact:{sender.lower()}").run()
        contacts = await customers.find_contacts_by_addresses(addresses)
    return contacts


async def _sender_contact(parsed: ParsedMail, contacts: dict[str, dict[str, Any]], now: datetime,
                          pending_audit: list[Any] | None) -> tuple[int | None, int | None]:
    """The sender's contact (created with the display name if new, and added to ``contacts``) and its account."""
    if parsed.from_ is None or not parsed.from_.address:
        return None, None
    address = customers.normalise_address(parsed.from_.address)
    contact = contacts.get(address)
    if contact:
        return contact["id"], contact["account"]
    account_id = await customers.find_account_for_address(parsed.from_.address)
    name = parsed.from_.name or parsed.from_.address.split("@")[0]
    contact_id = await customers.do_create_contact(
        SYSTEM, name=name[:200], emails=[parsed.from_.address], account_id=account_id, now=now,
        enforce_required=False, pending_audit=pending_audit,
    )
    contacts[address] = {"id": contact_id, "account": account_id}
    return contact_id, account_id


async def _add_to_ticket(decision: JoinTicket | NewTicket, parsed: ParsedMail, rules: MailboxRules, *,
                         now: datetime, pending_audit: list[Any] | None) -> tuple[int, int]:
    """``pending_audit``: the batch's audit rows, written together before its commit (None: write now)."""
    contacts = await _known_contacts(parsed)
    contact_id, account_id = await _sender_contact(parsed, contacts, now, pending_audit)
    if isinstance(decision, NewTicket):
        ticket_id = await tickets.do_insert_ticket(
            SYSTEM, subject=parsed.subject or "(no subject)", requester_id=contact_id, account_id=account_id,
            priority=rules.default_priority, channel="email", team_id=rules.default_team_id, now=now,
            pending_audit=pending_audit,
        )
        if decision.linked_ticket_id is not None:
            await _note_link(decision, ticket_id, now=now)
    else:
        ticket_id = decision.ticket_id
        ticket = await tickets.get_ticket(ticket_id)
        values: dict[Any, Any] = {}
        if parsed.auto_generated == "none" or parsed.auto_generated == "list":
            values[Ticket.status] = status_after_customer_message(ticket.status)
        await tickets.do_bump_ticket(ticket, values, now=now)
    await _add_participants(ticket_id, parsed, rules, contacts, new_ticket=isinstance(decision, NewTicket))
    message_id = await tickets.do_insert_message(
        ticket_id, kind="customer", now=now, text=parsed.text, new_text=parsed.new_text, safe_html=parsed.html,
        author_contact_id=contact_id,
        from_name=parsed.from_.name if parsed.from_ else "", from_address=parsed.from_.address if parsed.from_ else "",
        to=[a.address for a in parsed.to], cc=[a.address for a in parsed.cc], subject=parsed.subject,
        message_id=parsed.message_id, in_reply_to=parsed.in_reply_to, references=list(parsed.references),
        thread_reason=decision.reason, thread_ref=decision.ref, auto_generated=parsed.auto_generated,
        attachments=[(a.filename, a.content_type, a.content, a.content_id, a.inline) for a in parsed.attachments],
    )
    if isinstance(decision, NewTicket):
        opened = TicketOpened(ticket_id=ticket_id, mailbox_id=rules.mailbox_id, parsed=parsed,
                              our_addresses=rules.our_addresses, now=now, acknowledge=rules.acknowledge)
        for hook in _ticket_opened_hooks:
            await hook(opened)
    return ticket_id, message_id


async def _note_link(decision: NewTicket, ticket_id: int, *, now: datetime) -> None:
    """Say on the named ticket that a mail about it opened another one, and why."""
    text = (f"A mail naming this ticket opened {ticket_number(ticket_id)} instead "
            f"({decision.reason.replace('_', ' ')}).")
    await tickets.do_insert_message(decision.linked_ticket_id, kind="system", now=now, text=text, new_text=text,
                                    thread_reason="link", thread_ref=ticket_number(ticket_id))


async def _add_participants(ticket_id: int, parsed: ParsedMail, rules: MailboxRules,
                            contacts: dict[str, dict[str, Any]], *, new_ticket: bool) -> None:
    addresses = [a.address for a in (*([parsed.from_] if parsed.from_ else []), *parsed.to, *parsed.cc)]
    wanted = {address for address in addresses if address and address not in rules.our_addresses}
    if not wanted:
        return
    existing = set() if new_ticket else {row["address"] for row in await TicketParticipant.select(
        TicketParticipant.address).where(TicketParticipant.ticket == ticket_id).run()}
    added = []
    for address in sorted(wanted - existing):
        contact = contacts.get(customers.normalise_address(address))
        added.append(TicketParticipant(ticket=ticket_id, address=address, contact=contact["id"] if contact else None))
    if added:
        await TicketParticipant.insert(*added).run()


async def _finish(inbound_id: int, state: str, *, now: datetime, reason: str, server_action: bool,
                  error: str | None = None, ticket_id: int | None = None, message_id: int | None = None,
                  batch: IngestBatch | None = None) -> None:
    await InboundMail.update({
        InboundMail.state: state, InboundMail.error: error, InboundMail.processed_at: now,
        InboundMail.thread_reason: reason, InboundMail.ticket: ticket_id, InboundMail.message: message_id,
        InboundMail.next_attempt_at: None,
        # Quarantined mail stays on the server untouched, so nothing is ever lost there.
        InboundMail.server_state: "pending" if server_action else "none",
    }).where(InboundMail.id == inbound_id).run()
    publish_on_commit(Event("inbound_mail", state, inbound_id, data={"ticket_id": ticket_id}))
    if ticket_id is not None:
        audit = audit_service.entry(SYSTEM, "mail.ingested", "ticket", ticket_id,
                                    {"inbound_mail_id": [None, inbound_id], "thread_reason": [None, reason]}, at=now)
        if batch is not None:
            batch.audit.append(audit)
        else:
            await audit_service.record_all([audit])
