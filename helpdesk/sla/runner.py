"""The SLA scheduler: each tick recomputes changed tickets and escalates clocks that are due.

Its cost follows the work: changed tickets come from an index on updated time, due clocks
from an index on next-check time; open tickets with nothing happening are never read.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from helpdesk.clock import Clock
from helpdesk.db import unit_of_work
from helpdesk.sla import service

logger = logging.getLogger(__name__)

# Changes committed just before a tick's start may become visible a little later; look back a bit.
OVERLAP = timedelta(seconds=5)
RECOMPUTE_BATCH = 50  # short transactions: SQLite's single writer is shared with mail intake


class SlaRunner:
    def __init__(self, clock: Clock, *, interval_s: float = 5.0, lookahead: timedelta = timedelta(seconds=5)):
        self.clock = clock
        self.interval_s = interval_s
        self.lookahead = lookahead
        self._watermark: datetime | None = None

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # boundary: the next tick tries again
                logger.exception("SLA tick failed")
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> dict[str, int]:
        now = self.clock.now()
        policies = await service.PolicySet.load(now=now)
        if self._watermark is None or await service.policies_changed_since(self._watermark):
            changed = await service.open_ticket_ids()  # start-up, or the rules changed: everything
        else:
            changed = await service.changed_ticket_ids(self._watermark)
        # Batches share a transaction: far fewer commits (and, on SQLite, connections) than one each.
        for start in range(0, len(changed), RECOMPUTE_BATCH):
            async with unit_of_work():
                for ticket_id in changed[start:start + RECOMPUTE_BATCH]:
                    await service.recompute(ticket_id, policies, now=now)
        fired = 0
        for ticket_id in await service.due_ticket_ids(now=now, lookahead=self.lookahead):
            fired += len(await service.escalate(ticket_id, policies, now=now))
        self._watermark = now - OVERLAP
        return {"recomputed": len(changed), "fired": fired}
