"""One task per mailbox: fetch new mail by UID, store it, ingest it, then flag or move it.

The IMAP session is blocking (imapclient), so its calls run in a worker thread, one at a time.
Mail is fetched and parsed (in the parse pool's processes) one batch ahead, while the batch
before is written: one transaction per batch, a savepoint per mail. A lease on the mailbox row
makes sure only one instance polls a mailbox; the checkpoint (UIDVALIDITY, last UID) and the
unique keys of stored mail make every step safe to repeat after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from helpdesk.clock import Clock
from helpdesk.errors import HelpdeskError
from helpdesk.inbox import service
from helpdesk.inbox.batching import FIRST_MAILS, next_transaction_size, up_to_first_repeat
from helpdesk.inbox.imap import FolderState, ImapAuthError, ImapError, ImapSession
from helpdesk.inbox.ingest import (
    MailboxRules,
    Received,
    Stored,
    ingest_stored,
    parse_received,
    rules_for,
    source_for_mailbox,
    store_and_ingest,
    store_received,
)
from helpdesk.inbox.parse_pool import ParsePool, shared_pool
from helpdesk.inbox.tables import InboundMail, InboundMailRaw, Mailbox

logger = logging.getLogger(__name__)
T = TypeVar("T")

# One IDLE (or poll) lasts at most this long. A cancelled poller lets its IMAP call return before
# it closes the session, so this bounds how long stopping a worker takes.
WAIT_SLICE_S = 5.0


@dataclass(frozen=True)
class PollerTiming:
    lease: timedelta = timedelta(seconds=60)
    wait: float = 20.0  # one IDLE (or poll) wait; the lease is renewed between waits
    batch: int = 100
    backoff_start: float = 1.0
    backoff_max: float = 300.0


class MailboxPoller:
    def __init__(self, mailbox_id: int, owner: str, clock: Clock, timing: PollerTiming | None = None,
                 parser: ParsePool | None = None):
        self.mailbox_id = mailbox_id
        self.owner = owner
        self.clock = clock
        self.timing = timing or PollerTiming()
        self.source = source_for_mailbox(mailbox_id)
        self.parser = parser or shared_pool()
        self._transaction_mails = FIRST_MAILS  # see inbox.batching
        # imapclient is not thread-safe: the fetch ahead and the flags of the batch before take turns.
        self._session_lock = asyncio.Lock()

    async def _imap(self, function: Callable[..., T], *args: Any) -> T:
        async with self._session_lock:
            return await _blocking(function, *args)

    async def run(self) -> None:
        """Poll until cancelled; errors are reported as health and retried with backoff."""
        delay = self.timing.backoff_start
        while True:
            try:
                if not await self._acquire_lease():
                    await asyncio.sleep(self.timing.lease.total_seconds() / 3)
                    continue
                await self._serve_session()
                delay = self.timing.backoff_start
            except asyncio.CancelledError:
                raise
            except (ImapError, HelpdeskError) as error:
                await self._report_error(error, retry_in=delay)
                await asyncio.sleep(delay)
                # A wrong password will not fix itself soon; back off harder.
                delay = min(delay * (4 if isinstance(error, ImapAuthError) else 2), self.timing.backoff_max)
            except Exception as error:  # boundary: a bug in one mailbox must not stop the others
                logger.exception("mailbox %s poller failed", self.mailbox_id)
                await self._report_error(error, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.timing.backoff_max)

    async def _serve_session(self) -> None:
        row = await service.mailbox_row(self.mailbox_id)
        if not row["enabled"]:
            await self._health("disabled")
            await asyncio.sleep(self.timing.wait)
            return
        await self._health("connecting")
        session = ImapSession(service.endpoint_for(row), batch_size=self.timing.batch)
        try:
            state = await self._imap(session.open)
            while True:
                await self.sync(session, state)
                if not await self._acquire_lease():
                    return
                await self._health("idle" if state.idle_supported else "polling", success=True)
                await self._wait_for_changes(session)
                if not await self._acquire_lease():
                    return
        finally:
            await asyncio.to_thread(session.close)

    async def _wait_for_changes(self, session: ImapSession) -> None:
        """Up to timing.wait for the folder to change, in slices of at most WAIT_SLICE_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.wait
        while (remaining := deadline - loop.time()) > 0:
            if await self._imap(session.wait_for_changes, min(remaining, WAIT_SLICE_S)):
                return

    async def sync(self, session: ImapSession, state: FolderState) -> int:
        """Bring the database up to date with the folder; the number of new mails stored."""
        row = await service.mailbox_row(self.mailbox_id)
        rescan = row["uidvalidity"] is not None and row["uidvalidity"] != state.uidvalidity
        last_uid = row["last_uid"] if row["uidvalidity"] == state.uidvalidity else 0
        if rescan:
            logger.warning("mailbox %s: UIDVALIDITY changed (%s → %s); rescanning by Message-ID",
                           self.mailbox_id, row["uidvalidity"], state.uidvalidity)
            await Mailbox.update({Mailbox.uidvalidity: state.uidvalidity, Mailbox.last_uid: 0}).where(
                Mailbox.id == self.mailbox_id
            ).run()
        await self._ingest_left_over()
        uids = await self._imap(session.uids_after, last_uid)
        await Mailbox.update({Mailbox.backlog: len(uids)}).where(Mailbox.id == self.mailbox_id).run()
        batches = [uids[start:start + self.timing.batch] for start in range(0, len(uids), self.timing.batch)]
        stored_count = done = 0
        ahead: asyncio.Future[list[Received]] | None = None
        try:
            for index, batch in enumerate(batches):
                if not await self._acquire_lease():
                    return stored_count  # held too long, another instance took over: the rest is its work
                if rescan:
                    # Known mail is re-pointed in the database first: no fetching ahead here (a rare path).
                    received = await self._fetch_and_parse(session, await self._skip_known(session, batch,
                                                                                           state.uidvalidity))
                else:
                    current = ahead or asyncio.ensure_future(self._fetch_and_parse(session, batch))
                    ahead = None
                    received = await current
                    if index + 1 < len(batches):
                        # Fetch and parse the next batch while this one is written.
                        ahead = asyncio.ensure_future(self._fetch_and_parse(session, batches[index + 1]))
                stored_count += await self._store_and_ingest(session, received, row, state.uidvalidity)
                await self._apply_server_actions(session, row, state.uidvalidity)
                done += len(batch)
                await Mailbox.update({Mailbox.backlog: len(uids) - done}).where(Mailbox.id == self.mailbox_id).run()
        finally:
            if ahead is not None:  # stopped early: let its IMAP call return before the session closes
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
        await self._apply_server_actions(session, row, state.uidvalidity)
        if rescan and uids:
            await Mailbox.update({Mailbox.uidvalidity: state.uidvalidity, Mailbox.last_uid: max(uids)}).where(
                (Mailbox.id == self.mailbox_id) & (Mailbox.last_uid < max(uids))
            ).run()
        return stored_count

    async def _fetch_and_parse(self, session: ImapSession, uids: list[int]) -> list[Received]:
        if not uids:
            return []
        raw_by_uid = await self._imap(session.fetch_raw, uids)
        fetched = [(uid, raw_by_uid[uid]) for uid in uids if uid in raw_by_uid]
        outcomes = await self.parser.parse([raw for _, raw in fetched])
        return [Received(raw=raw, uid=uid, parsed=parsed, parse_error=error)
                for (uid, raw), (parsed, error) in zip(fetched, outcomes)]

    async def _store_and_ingest(self, session: ImapSession, received: list[Received], row: dict[str, Any],
                                uidvalidity: int) -> int:
        stored_count = 0
        while received:
            # A second copy of a mail (same Message-ID, another UID) waits until the first copy is
            # flagged or moved: storing it then points the row at the copy, which gets its turn too.
            # Stored one round at a time, the checkpoint never passes a copy not yet stored.
            part = up_to_first_repeat(received)
            received = received[len(part):]
            rules = await rules_for(self.mailbox_id)
            while part:
                mails, part = part[:self._transaction_mails], part[self._transaction_mails:]
                started = time.perf_counter()
                stored = await self._store_and_ingest_together(mails, rules, uidvalidity)
                self._transaction_mails = next_transaction_size(len(mails), time.perf_counter() - started)
                stored_count += sum(1 for outcome in stored if outcome.created)
            if received:
                await self._apply_server_actions(session, row, uidvalidity)
        return stored_count

    async def _store_and_ingest_together(self, mails: list[Received], rules: MailboxRules,
                                         uidvalidity: int) -> list[Stored]:
        try:
            return await store_and_ingest(self.source, mails, now=self.clock.now(), rules=rules,
                                          uidvalidity=uidvalidity)
        except Exception:  # boundary: whatever broke the shared transaction must not block the mailbox
            if len(mails) == 1:
                raise
            logger.exception("mailbox %s: a batch of %s mails failed as a whole; taking them one at a time",
                             self.mailbox_id, len(mails))
        # Each raw mail committed first, then ingested in its own transaction: a mail that still
        # fails is recorded as failed, and the others go on.
        stored: list[Stored] = []
        for mail in mails:
            [outcome] = await store_received(self.source, [mail], now=self.clock.now(), mailbox_id=self.mailbox_id,
                                             uidvalidity=uidvalidity)
            if outcome.state == "received":
                await self._ingest(outcome.inbound_id, mail, rules)
            stored.append(outcome)
        return stored

    async def _ingest(self, inbound_id: int, mail: Received, rules: MailboxRules) -> None:
        await ingest_stored(inbound_id, mail, now=self.clock.now(), rules=rules)

    async def _skip_known(self, session: ImapSession, uids: list[int], uidvalidity: int) -> list[int]:
        """After a UIDVALIDITY change: re-point known mail at its new UID, return only the unknown UIDs."""
        ids_by_uid = await self._imap(session.fetch_message_ids, uids)
        known = {
            row["message_id"]: row
            for row in await InboundMail.select(InboundMail.id, InboundMail.message_id, InboundMail.state).where(
                (InboundMail.source == self.source)
                & InboundMail.message_id.is_in([i for i in ids_by_uid.values() if i] or [""])
            ).run()
        }
        unknown = []
        for uid in uids:
            found = known.get(ids_by_uid.get(uid) or "")
            if found is None:
                unknown.append(uid)  # no Message-ID, or new: fetch it (synthetic ids come from the content)
                continue
            done = found["state"] in ("processed", "ignored")
            await InboundMail.update({InboundMail.uidvalidity: uidvalidity, InboundMail.uid: uid,
                                      InboundMail.server_state: "pending" if done else "none"}).where(
                InboundMail.id == found["id"]).run()
        return unknown

    async def _ingest_left_over(self) -> None:
        """Mail stored but not ingested (a crash in between) is ingested from its stored bytes."""
        rows = await InboundMailRaw.select(InboundMailRaw.mail, InboundMailRaw.raw).where(
            (InboundMailRaw.mail.source == self.source) & (InboundMailRaw.mail.state == "received")
        ).run()
        if rows:
            rules = await rules_for(self.mailbox_id)
            for row in rows:
                await self._ingest(row["mail"], parse_received(bytes(row["raw"])), rules)

    async def _apply_server_actions(self, session: ImapSession, row: dict[str, Any], uidvalidity: int) -> None:
        """Flag or move what was committed; only ever after the commit, and safe to repeat."""
        pending = await InboundMail.select(InboundMail.id, InboundMail.uid).where(
            (InboundMail.source == self.source) & (InboundMail.uidvalidity == uidvalidity)
            & (InboundMail.server_state == "pending")
        ).run()
        if not pending:
            return
        uids = [p["uid"] for p in pending]
        if row["after_ingest"] == "move" and row["move_to_folder"]:
            await self._imap(session.move, uids, row["move_to_folder"])
        else:
            await self._imap(session.flag_processed, uids)
        await InboundMail.update({InboundMail.server_state: "done"}).where(
            InboundMail.id.is_in([p["id"] for p in pending])
        ).run()

    async def _acquire_lease(self) -> bool:
        now = self.clock.now()
        taken = await Mailbox.update({Mailbox.lease_owner: self.owner, Mailbox.lease_until: now + self.timing.lease}).where(
            (Mailbox.id == self.mailbox_id)
            & (Mailbox.lease_owner.is_null() | (Mailbox.lease_until < now) | (Mailbox.lease_owner == self.owner))
        ).returning(Mailbox.id).run()
        return bool(taken)

    async def release_lease(self) -> None:
        await Mailbox.update({Mailbox.lease_owner: None, Mailbox.lease_until: None}).where(
            (Mailbox.id == self.mailbox_id) & (Mailbox.lease_owner == self.owner)
        ).run()

    async def _health(self, state: str, *, success: bool = False) -> None:
        values: dict[Any, Any] = {Mailbox.health_state: state}
        if success:
            values[Mailbox.last_success_at] = self.clock.now()
            values[Mailbox.last_error] = None
        await Mailbox.update(values).where(Mailbox.id == self.mailbox_id).run()

    async def _report_error(self, error: BaseException, *, retry_in: float) -> None:
        detail = getattr(error, "detail", None) or str(error) or type(error).__name__
        logger.warning("mailbox %s: %s (retrying in %.0f s)", self.mailbox_id, detail, retry_in)
        try:
            await Mailbox.update({Mailbox.health_state: "error", Mailbox.last_error: detail[:2000]}).where(
                Mailbox.id == self.mailbox_id
            ).run()
        except Exception:  # boundary: the database may be what failed; the log line above stands
            logger.exception("mailbox %s: could not record its health", self.mailbox_id)


async def _blocking(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking session call in a thread; if cancelled meanwhile, let the call return first.

    The session is closed in a ``finally`` right after: a LOGOUT sent while another thread still
    reads the socket (in IDLE, say) can lose its answer and hang until the socket times out.
    """
    call = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        await asyncio.gather(call, return_exceptions=True)
        raise
