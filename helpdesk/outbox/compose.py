"""Outgoing mail as bytes (pure): headers that thread in mail clients, never a header injection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP

from helpdesk.inbox.ingest import LOOP_HEADER_VALUE
from helpdesk.inbox.threading import DEFAULT_TOKEN_PREFIX, token_pattern

LOOP_HEADER = "X-Helpdesk-Loop"
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\r\n\x00]+")


def header_safe(value: str) -> str:
    """One line: CR, LF and NUL become spaces, so nothing can start a header of its own."""
    return _LINE_BREAKS.sub(" ", value).strip()


def reply_subject(subject: str, number: str, *, prefix: str = DEFAULT_TOKEN_PREFIX) -> str:
    """"Re: [#T-1001] subject" with the token exactly once and a single "Re:"."""
    without_token = token_pattern(prefix).sub("", header_safe(subject))
    bare = _REPLY_PREFIX.sub("", re.sub(r"\s{2,}", " ", without_token)).strip()
    return f"Re: [{prefix}{number}] {bare}".rstrip()


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutgoingMail:
    from_name: str
    from_address: str
    to: tuple[str, ...]
    subject: str
    message_id: str  # without angle brackets; fixed before the first attempt
    text: str
    html: str | None = None
    cc: tuple[str, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False  # acknowledgements and other machine-sent mail (RFC 3834)
    attachments: tuple[OutgoingAttachment, ...] = field(default_factory=tuple)


def _address(display_name: str, address: str) -> Address:
    username, _, domain = header_safe(address).rpartition("@")
    return Address(display_name=header_safe(display_name), username=username, domain=domain)


def compose(mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(mail.from_name, mail.from_address)
    message["To"] = [_address("", address) for address in mail.to]
    if mail.cc:
        message["Cc"] = [_address("", address) for address in mail.cc]
    message["Subject"] = header_safe(mail.subject)
    message["Message-ID"] = f"<{header_safe(mail.message_id)}>"
    if mail.in_reply_to:
        message["In-Reply-To"] = f"<{header_safe(mail.in_reply_to)}>"
    if mail.references:
        message["References"] = " ".join(f"<{header_safe(ref)}>" for ref in mail.references)
    message[LOOP_HEADER] = LOOP_HEADER_VALUE  # how our intake recognises our own mail
    if mail.automatic:
        message["Auto-Submitted"] = "auto-replied"
        # Ask Exchange and similar not to answer our automatic mail with their own.
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype or "application",
                               subtype=subtype or "octet-stream", filename=header_safe(attachment.filename))
    return message
