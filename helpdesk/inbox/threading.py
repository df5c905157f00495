"""Which ticket a mail belongs to, and why (pure: the facts are looked up by the caller).

Rules, first match wins:
1. our own outgoing mail (loop header) is never customer mail;
2. In-Reply-To, then References newest first, naming a Message-ID we stored or sent;
3. our ticket token in the subject ([#T-1001]) — but only from a participant of that ticket:
   anyone else gets a new ticket linked to the one they named;
4. machine-generated mail (auto-replies, bounces, bulk) that matched nothing is recorded and
   dropped: it never opens a ticket on its own;
5. anything else opens a new ticket.
A closed ticket is final: mail that would join it opens a new ticket linked to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TOKEN_PREFIX = "#"
_NUMBER = r"(T-\d{1,12})"


@dataclass(frozen=True)
class MailFacts:
    sender: str | None  # lower-cased address
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    auto_generated: str  # none, auto_reply, bounce, bulk, list
    has_our_loop_header: bool


@dataclass(frozen=True)
class TicketFacts:
    id: int
    number: str
    status: str
    participants: frozenset[str]  # lower-cased addresses: requester's and CC'd


@dataclass(frozen=True)
class JoinTicket:
    ticket_id: int
    reason: str  # in_reply_to, references, subject_token
    ref: str  # the Message-ID or token that matched


@dataclass(frozen=True)
class NewTicket:
    reason: str  # new, token_from_non_participant, closed_ticket
    ref: str = ""
    linked_ticket_id: int | None = None


@dataclass(frozen=True)
class Ignore:
    reason: str  # own_mail, auto_reply_without_ticket, bounce_without_ticket, bulk_without_ticket
    ref: str = ""


Decision = JoinTicket | NewTicket | Ignore
MACHINE_KINDS = ("auto_reply", "bounce", "bulk")


def token_pattern(prefix: str = DEFAULT_TOKEN_PREFIX) -> re.Pattern[str]:
    return re.compile(r"\[" + re.escape(prefix) + _NUMBER + r"\]", re.IGNORECASE)


def subject_token(subject: str, prefix: str = DEFAULT_TOKEN_PREFIX) -> str | None:
    match = token_pattern(prefix).search(subject)
    return match.group(1).upper() if match else None


def referenced_ids(mail: MailFacts) -> list[tuple[str, str]]:
    """(rule, Message-ID) in the order they are tried: In-Reply-To, then References newest first."""
    candidates = [("in_reply_to", mail.in_reply_to)] if mail.in_reply_to else []
    candidates += [("references", ref) for ref in reversed(mail.references)]
    return candidates


def decide(
    mail: MailFacts,
    *,
    tickets_by_message_id: Mapping[str, TicketFacts],
    tickets_by_number: Mapping[str, TicketFacts],
    token_prefix: str = DEFAULT_TOKEN_PREFIX,
) -> Decision:
    if mail.has_our_loop_header:
        return Ignore("own_mail")
    for rule, message_id in referenced_ids(mail):
        ticket = tickets_by_message_id.get(message_id)
        if ticket is not None:
            return _join_unless_closed(ticket, rule, message_id, mail)
    token = subject_token(mail.subject, token_prefix)
    ticket = tickets_by_number.get(token) if token else None
    if ticket is not None:
        if mail.sender in ticket.participants:
            return _join_unless_closed(ticket, "subject_token", token, mail)
        if mail.auto_generated not in MACHINE_KINDS:
            return NewTicket("token_from_non_participant", ref=token, linked_ticket_id=ticket.id)
    if mail.auto_generated in MACHINE_KINDS:
        return Ignore(f"{mail.auto_generated}_without_ticket")
    return NewTicket("new")


def _join_unless_closed(ticket: TicketFacts, rule: str, ref: str, mail: MailFacts) -> Decision:
    if ticket.status != "closed":
        return JoinTicket(ticket.id, rule, ref)
    if mail.auto_generated in MACHINE_KINDS:
        # An out-of-office answer to our closing mail must not reopen anything.
        return Ignore(f"{mail.auto_generated}_for_closed_ticket", ref=ticket.number)
    return NewTicket("closed_ticket", ref=ticket.number, linked_ticket_id=ticket.id)
