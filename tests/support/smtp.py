"""A real SMTP server for tests (aiosmtpd) that records mail and can deliver it into Dovecot."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.postgres import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    rejected_recipients: set[str] = field(default_factory=set)
    deliver: Callable[[str, bytes], None] | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's hook name)
        if address.lower() in self.rejected_recipients:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if self.deliver:
            for recipient in envelope.rcpt_tos:
                self.deliver(recipient.lower(), envelope.original_content)
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start, stop and restart on the same port; ``received`` keeps every accepted mail."""

    def __init__(self, deliver: Callable[[str, bytes], None] | None = None):
        self.port = free_port()
        self.handler = _Handler(deliver=deliver)
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def reject(self, address: str) -> None:
        self.handler.rejected_recipients.add(address.lower())

    def start(self) -> SmtpServer:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()
            self._controller = None
