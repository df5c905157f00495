"""The background work of an instance (mail intake, mail delivery) and how the domains are wired."""

from __future__ import annotations

import asyncio

from helpdesk.clock import Clock
from helpdesk.inbox import ingest
from helpdesk.inbox.worker import InboxWorker
from helpdesk.outbox.sender import OutboxSender
from helpdesk.outbox.service import queue_acknowledgement


def wire_domains() -> None:
    """Connect domains that react to each other (idempotent)."""
    ingest.on_ticket_opened(queue_acknowledgement)


async def run_background(clock: Clock) -> None:
    """Poll mailboxes and deliver queued mail until cancelled."""
    await asyncio.gather(InboxWorker(clock).run(), OutboxSender(clock).run())
