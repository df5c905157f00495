"""One task per mailbox: fetch new mail by UID, store it, ingest it, then flag or move it.

The IMAP session is blocking (imapclient), so its calls run in a worker thread. A lease on
the mailbox row makes sure only one instance polls a mailbox; the checkpoint (UIDVALIDITY,
last UID) and the unique keys of stored mail make every step safe to repeat after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from helpdesk.clock import Clock
from helpdesk.errors import HelpdeskError
from helpdesk.inbox import service
from helpdesk.inbox.imap import FolderState, ImapAuthError, ImapError, ImapSession
from helpdesk.inbox.ingest import (
    Received,
    ingest_stored,
    parse_received,
    rules_for,
    source_for_mailbox,
    store_received,
)
from helpdesk.inbox.tables import InboundMail, Mailbox

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
    def __init__(self, mailbox_id: int, owner: str, clock: Clock, timing: PollerTiming | None = None):
        self.mailbox_id = mailbox_id
        self.owner = owner
        self.clock = clock
        self.timing = timing or PollerTiming()
        self.source = source_for_mailbox(mailbox_id)

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
            state = await _blocking(session.open)
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
            if await _blocking(session.wait_for_changes, min(remaining, WAIT_SLICE_S)):
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
        uids = await _blocking(session.uids_after, last_uid)
        await Mailbox.update({Mailbox.backlog: len(uids)}).where(Mailbox.id == self.mailbox_id).run()
        stored_count = 0
        for start in range(0, len(uids), self.timing.batch):
            if not await self._acquire_lease():
                return stored_count  # held too long, another instance took over: the rest is its work
            batch = uids[start:start + self.timing.batch]
            if rescan:
                batch = await self._skip_known(session, batch, state.uidvalidity)
            stored_count += await self._store_and_ingest(session, batch, row, state.uidvalidity)
            await self._apply_server_actions(session, row, state.uidvalidity)
            await Mailbox.update({Mailbox.backlog: max(len(uids) - start - len(batch), 0)}).where(
                Mailbox.id == self.mailbox_id
            ).run()
        await self._apply_server_actions(session, row, state.uidvalidity)
        if rescan and uids:
            await Mailbox.update({Mailbox.uidvalidity: state.uidvalidity, Mailbox.last_uid: max(uids)}).where(
                (Mailbox.id == self.mailbox_id) & (Mailbox.last_uid < max(uids))
            ).run()
        return stored_count

    async def _store_and_ingest(self, session: ImapSession, uids: list[int], row: dict[str, Any],
                                uidvalidity: int) -> int:
        if not uids:
            return 0
        raw_by_uid = await _blocking(session.fetch_raw, uids)
        received = await asyncio.to_thread(
            lambda: [parse_received(raw_by_uid[uid], uid) for uid in uids if uid in raw_by_uid]
        )
        stored_count = 0
        while received:
            # A second copy of a mail (same Message-ID, another UID) waits until the first copy is
            # flagged or moved: storing it then points the row at the copy, which gets its turn too.
            # Stored one round at a time, the checkpoint never passes a copy not yet stored.
            part = _up_to_first_repeat(received)
            received = received[len(part):]
            stored = await store_received(self.source, part, now=self.clock.now(), mailbox_id=self.mailbox_id,
                                          uidvalidity=uidvalidity)
            rules = await rules_for(self.mailbox_id)
            for mail, outcome in zip(part, stored):
                if outcome.state == "received":
                    await self._ingest(outcome.inbound_id, mail, rules)
            stored_count += sum(1 for outcome in stored if outcome.created)
            if received:
                await self._apply_server_actions(session, row, uidvalidity)
        return stored_count

    async def _ingest(self, inbound_id: int, mail: Received, rules: Any) -> None:
        await ingest_stored(inbound_id, mail, now=self.clock.now(), rules=rules)

    async def _skip_known(self, session: ImapSession, uids: list[int], uidvalidity: int) -> list[int]:
        """After a UIDVALIDITY change: re-point known mail at its new UID, return only the unknown UIDs."""
        ids_by_uid = await _blocking(session.fetch_message_ids, uids)
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
        rows = await InboundMail.select(InboundMail.id, InboundMail.raw).where(
            (InboundMail.source == self.source) & (InboundMail.state == "received")
        ).run()
        if rows:
            rules = await rules_for(self.mailbox_id)
            for row in rows:
                await self._ingest(row["id"], parse_received(bytes(row["raw"])), rules)

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
            await _blocking(session.move, uids, row["move_to_folder"])
        else:
            await _blocking(session.flag_processed, uids)
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


def _up_to_first_repeat(mails: list[Received]) -> list[Received]:
    """The leading mails up to (not including) the first whose Message-ID came earlier in the list."""
    seen: set[str] = set()
    for index, mail in enumerate(mails):
        if mail.message_id in seen:
            return mails[:index]
        seen.add(mail.message_id)
    return mails


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
