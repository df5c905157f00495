"""Runs one poller per enabled mailbox, follows mailbox changes, and retries failed mail."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from helpdesk.clock import Clock
from helpdesk.inbox.poller import MailboxPoller, PollerTiming
from helpdesk.inbox.service import retry_due
from helpdesk.inbox.tables import Mailbox

logger = logging.getLogger(__name__)


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class InboxWorker:
    def __init__(self, clock: Clock, *, timing: PollerTiming | None = None, refresh_s: float = 5.0):
        self.clock = clock
        self.timing = timing or PollerTiming()
        self.refresh_s = refresh_s
        self.owner = instance_name()
        self._pollers: dict[int, tuple[MailboxPoller, asyncio.Task]] = {}

    async def run(self) -> None:
        logger.info("inbox worker %s started", self.owner)
        try:
            while True:
                try:
                    await self._follow_mailboxes()
                    await retry_due(now=self.clock.now())
                except asyncio.CancelledError:
                    raise
                except Exception:  # boundary: keep the pollers running through a bad refresh
                    logger.exception("inbox worker refresh failed")
                await asyncio.sleep(self.refresh_s)
        finally:
            await self._stop_all()

    async def _follow_mailboxes(self) -> None:
        wanted = {row["id"] for row in await Mailbox.select(Mailbox.id).where(Mailbox.enabled == True).run()}  # noqa: E712
        for mailbox_id in wanted - self._pollers.keys():
            poller = MailboxPoller(mailbox_id, self.owner, self.clock, self.timing)
            self._pollers[mailbox_id] = (poller, asyncio.create_task(poller.run(), name=f"mailbox-{mailbox_id}"))
        for mailbox_id in self._pollers.keys() - wanted:
            await self._stop(mailbox_id)

    async def _stop(self, mailbox_id: int) -> None:
        poller, task = self._pollers.pop(mailbox_id)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poller.release_lease()

    async def _stop_all(self) -> None:
        # All at once: each poller may take a moment to leave its IMAP call.
        mailbox_ids = list(self._pollers)
        results = await asyncio.gather(*(self._stop(mailbox_id) for mailbox_id in mailbox_ids), return_exceptions=True)
        for mailbox_id, result in zip(mailbox_ids, results):
            if isinstance(result, Exception):  # boundary: shutting down; the lease simply expires
                logger.error("could not release the lease of mailbox %s", mailbox_id, exc_info=result)
