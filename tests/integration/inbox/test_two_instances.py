"""Two worker instances on one mailbox: the lease lets one poll at a time, and nothing is stored twice."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from helpdesk.inbox import ingest as intake
from helpdesk.inbox.imap import PROCESSED_FLAG
from helpdesk.inbox.poller import MailboxPoller, PollerTiming
from helpdesk.inbox.tables import InboundMail, Mailbox
from helpdesk.tickets.tables import Message, Ticket
from tests.integration.inbox.conftest import (
    build_mail,
    eventually,
    mail_id,
    running_worker,
)
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.usefixtures("clean_db")

# A lease much shorter than working through the backlog: it has to hold across a long sync.
TIMING = PollerTiming(lease=timedelta(seconds=3), wait=0.5, batch=20, backoff_start=0.2, backoff_max=0.5)
BACKLOG = 250


async def test_two_workers_on_one_mailbox_take_turns_and_store_nothing_twice(
    dovecot: Dovecot, make_mailbox, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = await make_mailbox()
    dovecot.append_many(box.user.name, [build_mail("two", n, to=box.address) for n in range(BACKLOG)])

    # Who synced the folder, when: two owners must never be inside sync() at the same time.
    syncs: list[tuple[str, float, float]] = []
    real_sync = MailboxPoller.sync

    async def recorded_sync(self, session, state):
        started = time.monotonic()
        try:
            return await real_sync(self, session, state)
        finally:
            syncs.append((self.owner, started, time.monotonic()))

    monkeypatch.setattr(MailboxPoller, "sync", recorded_sync)
    holders: set[str | None] = set()

    async def watch_lease() -> None:
        while True:
            row = await Mailbox.select(Mailbox.lease_owner).where(Mailbox.id == box.id).first().run()
            holders.add(row["lease_owner"])
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch_lease())
    try:
        async with running_worker(clock, TIMING) as first, running_worker(clock, TIMING) as second:
            assert first.owner != second.owner
            await eventually(lambda: _customer_messages(BACKLOG), timeout=60, what="backlog ingested")
            holder = (await Mailbox.select(Mailbox.lease_owner).where(Mailbox.id == box.id).first().run())[
                "lease_owner"]
            assert holder in (first.owner, second.owner)
        # Both stopped: the holder released its lease.
        assert (await Mailbox.select(Mailbox.lease_owner).where(Mailbox.id == box.id).first().run()) == {
            "lease_owner": None}

        # The lease changes hands: while its holder runs, the other instance waits; when the
        # holder stops, the other one takes over and carries on with new mail.
        holder_stop = running_worker(clock, TIMING)
        first = await holder_stop.__aenter__()
        try:
            await eventually(lambda: _held_by(box.id, first.owner), what="first holds the lease")
            async with running_worker(clock, TIMING) as second:
                await asyncio.sleep(3 * TIMING.wait)
                assert await _held_by(box.id, first.owner), "the lease moved while its holder was healthy"
                dovecot.append(box.user.name, build_mail("two", BACKLOG, to=box.address))
                await eventually(lambda: _customer_messages(BACKLOG + 1), what="mail with both running")
                await holder_stop.__aexit__(None, None, None)
                first = None
                await eventually(lambda: _held_by(box.id, second.owner), what="second takes over")
                dovecot.append(box.user.name, build_mail("two", BACKLOG + 1, to=box.address))
                await eventually(lambda: _customer_messages(BACKLOG + 2), what="mail after the handover")
                await eventually(lambda: _all_flagged(dovecot, box.user.name, BACKLOG + 2), what="all flagged")
        finally:
            if first is not None:
                await holder_stop.__aexit__(None, None, None)
    finally:
        watcher.cancel()

    ids = [mail_id("two", n) for n in range(BACKLOG + 2)]
    rows = await Message.select(Message.message_id).where(Message.kind == "customer").run()
    assert sorted(r["message_id"] for r in rows) == sorted(ids), "every mail exactly once"
    assert await Ticket.count() == BACKLOG + 2
    assert await InboundMail.count().where(InboundMail.state == "processed") == BACKLOG + 2
    assert (await Mailbox.select(Mailbox.ingested_count).where(Mailbox.id == box.id).first().run()) == {
        "ingested_count": BACKLOG + 2}

    overlaps = [(a, b) for a in syncs for b in syncs if a[0] != b[0] and a[1] < b[2] and b[1] < a[2]]
    assert not overlaps, f"two owners synced at once: {overlaps[:3]}"
    assert len({owner for owner, _, _ in syncs}) >= 2, "the lease never changed hands"
    assert None in holders and len(holders - {None}) >= 2


async def _customer_messages(count: int) -> bool:
    return await Message.count().where(Message.kind == "customer") >= count


async def _held_by(mailbox_id: int, owner: str) -> bool:
    row = await Mailbox.select(Mailbox.lease_owner).where(Mailbox.id == mailbox_id).first().run()
    return row["lease_owner"] == owner


async def _all_flagged(dovecot: Dovecot, user: str, count: int) -> bool:
    flags = await asyncio.to_thread(dovecot.flags, user)
    return len(flags) == count and all(PROCESSED_FLAG in f for f in flags.values())


async def test_two_workers_retrying_the_same_failed_mail_ingest_it_once(
    dovecot: Dovecot, make_mailbox, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every instance retries failed mail when its backoff has passed; only one may ingest it."""
    box = await make_mailbox()
    poison = mail_id("retry", 1)
    real_ingest, real_add = intake.ingest, intake._add_to_ticket
    failing = True

    async def ingest(inbound_id, parsed, **kwargs):
        if failing and parsed.message_id == poison:
            raise RuntimeError("poison mail")
        return await real_ingest(inbound_id, parsed, **kwargs)

    async def slow_add(decision, parsed, rules, **kwargs):
        await asyncio.sleep(0.5)  # widen the window in which both retries are inside their transaction
        return await real_add(decision, parsed, rules, **kwargs)

    monkeypatch.setattr(intake, "ingest", ingest)
    monkeypatch.setattr(intake, "_add_to_ticket", slow_add)
    # An earlier mail from the same sender, so that its contact exists (two ingests racing would not
    # trip over creating it), then the mail that fails at first.
    earlier = mail_id("retry", 0)
    dovecot.append(box.user.name, build_mail("retry", 1, to=box.address, message_id=earlier))
    dovecot.append(box.user.name, build_mail("retry", 1, to=box.address))
    async with running_worker(clock, TIMING), running_worker(clock, TIMING):
        await eventually(lambda: _state_of(poison, "failed"), what="first attempt failed")
        assert await _state_of(earlier, "processed")
        failing = False
        clock.advance(timedelta(minutes=2))  # the backoff has passed, for both instances at once
        await eventually(lambda: _state_of(poison, "processed"), what="retried")
        await asyncio.sleep(2)  # let the other instance's retry finish too
    rows = await Message.select(Message.ticket).where(Message.message_id == poison).run()
    assert len(rows) == 1, f"ingested {len(rows)} times: {rows}"
    assert await Ticket.count() == 2
    assert (await Mailbox.select(Mailbox.ingested_count).where(Mailbox.id == box.id).first().run()) == {
        "ingested_count": 2}
    row = await InboundMail.select().where(InboundMail.message_id == poison).first().run()
    assert (row["state"], row["error"], row["next_attempt_at"]) == ("processed", None, None)


async def _state_of(message_id: str, state: str) -> bool:
    row = await InboundMail.select(InboundMail.state).where(InboundMail.message_id == message_id).first().run()
    return row is not None and row["state"] == state
