"""The SLA scheduler: each tick recomputes changed tickets and escalates clocks that are due.

Its cost follows the work: changed tickets come from an index on updated time, due clocks
from an index on next-check time; open tickets with nothing happening are never read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from helpdesk.clock import Clock
from helpdesk.db import reading
from helpdesk.sla import service

logger = logging.getLogger(__name__)

# Changes committed just before a tick's start may become visible a little later; look back a bit.
OVERLAP = timedelta(seconds=5)
# Changed tickets per recompute batch: a few set-based statements each.
RECOMPUTE_BATCH = 10_000


class SlaRunner:
    def __init__(self, clock: Clock, *, interval_s: float = 5.0, lookahead: timedelta = timedelta(seconds=5)):
        self.clock = clock
        self.interval_s = interval_s
        self.lookahead = lookahead
        self._watermark: datetime | None = None
        self._policies: service.PolicySet | None = None

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # boundary: the next tick tries again
                logger.exception("SLA tick failed")
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> dict[str, float]:
        """Recompute changed tickets, then fire due escalations; returns counts and how long each part took."""
        now = self.clock.now()
        started = time.perf_counter()
        async with reading():
            policies = await service.PolicySet.load(now=now)  # the same object while the rules are the same
            full = self._watermark is None or policies is not self._policies
            changed = [] if full else await service.changed_ticket_ids(self._watermark)
        if full:  # start-up, or the rules changed: every open ticket
            everything = await service.recompute_open(policies, now=now)
            recomputed, written = everything.tickets, len(everything.changed)
        else:
            written = 0
            for start in range(0, len(changed), RECOMPUTE_BATCH):
                batch = await service.recompute_many(changed[start:start + RECOMPUTE_BATCH], policies, now=now,
                                                     announce=True)
                written += len(batch.changed)
            recomputed = len(changed)
        recomputed_at = time.perf_counter()
        # The stored next checks are current now; the due tickets' levels are decided on their
        # clocks as of this instant, computed by the reference (a few tickets, with explanations).
        due = await service.due_ticket_ids(now=now, lookahead=self.lookahead)
        evaluations = await service.evaluate_many(due, policies, now=now)
        fired = 0
        for ticket_id in due:
            evaluation = evaluations.get(ticket_id)
            if service.has_due_levels(evaluation, now):
                fired += len(await service.escalate(ticket_id, policies, now=now, evaluation=evaluation))
        self._watermark, self._policies = now - OVERLAP, policies
        report = {"recomputed": recomputed, "written": written, "due": len(due), "fired": fired,
                  "recompute_s": recomputed_at - started, "escalate_s": time.perf_counter() - recomputed_at}
        if recomputed or fired:
            logger.info("SLA tick: recomputed %d tickets in %.3f s; %d due, %d escalations fired in %.3f s",
                        recomputed, report["recompute_s"], len(due), fired, report["escalate_s"])
        return report
