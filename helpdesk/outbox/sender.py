"""The sender task: delivers due outbox messages, in `serve` or in `worker`."""

from __future__ import annotations

import asyncio
import logging

from helpdesk.clock import Clock
from helpdesk.outbox.service import deliver_due

logger = logging.getLogger(__name__)


class OutboxSender:
    def __init__(self, clock: Clock, *, interval_s: float = 1.0):
        self.clock = clock
        self.interval_s = interval_s

    async def run(self) -> None:
        while True:
            try:
                # Keep going while there is work; rest between empty rounds.
                while await deliver_due(now=self.clock.now()):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # boundary: the next round tries again
                logger.exception("outbox round failed")
            await asyncio.sleep(self.interval_s)
