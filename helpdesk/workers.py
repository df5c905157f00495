"""The background work of an instance and how the domains are wired to each other."""

from __future__ import annotations

import asyncio

from helpdesk.clock import Clock
from helpdesk.inbox import ingest
from helpdesk.inbox.worker import InboxWorker
from helpdesk.outbox.sender import OutboxSender
from helpdesk.outbox.service import queue_acknowledgement
from helpdesk.sla import service as sla
from helpdesk.sla.runner import SlaRunner


async def acknowledge_with_promise(opened: ingest.TicketOpened) -> None:
    """Start the new ticket's SLA clocks, then acknowledge it with the promised first-response time."""
    due = await sla.first_response_due(opened.ticket_id, now=opened.now, mailbox_id=opened.mailbox_id)
    await queue_acknowledgement(opened, first_response_due=due)


def wire_domains() -> None:
    """Connect domains that react to each other (idempotent)."""
    ingest.on_ticket_opened(acknowledge_with_promise)


async def run_background(clock: Clock) -> None:
    """Poll mailboxes, deliver queued mail and run SLA clocks until cancelled.

    A task group, because on cancellation it waits for every part to finish stopping (the
    pollers release their leases and log out) before this returns.
    """
    async with asyncio.TaskGroup() as group:
        group.create_task(InboxWorker(clock).run(), name="inbox")
        group.create_task(OutboxSender(clock).run(), name="outbox")
        group.create_task(SlaRunner(clock).run(), name="sla")
