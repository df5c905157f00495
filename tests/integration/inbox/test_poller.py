"""The IMAP intake end to end: an InboxWorker in the test loop, a real Dovecot, a real database."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from helpdesk.inbox import ingest as intake
from helpdesk.inbox.imap import PROCESSED_FLAG
from helpdesk.inbox.ingest import source_for_mailbox
from helpdesk.inbox.poller import PollerTiming
from helpdesk.inbox.tables import InboundMail, InboundMailRaw, Mailbox
from helpdesk.tickets.tables import Message, Ticket
from tests.integration.inbox.conftest import (
    FAST,
    build_mail,
    eventually,
    mail_id,
    running_worker,
)
from tests.support.agents import RoleAgents
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.usefixtures("clean_db")


# ---------------------------------------------------------------- helpers


async def messages_for(ids: list[str]) -> dict[str, int]:
    """How many ticket messages carry each Message-ID (absent: none)."""
    counts: dict[str, int] = {}
    for row in await Message.select(Message.message_id).where(Message.message_id.is_in(ids)).run():
        counts[row["message_id"]] = counts.get(row["message_id"], 0) + 1
    return counts


async def inbound_rows(mailbox_id: int) -> list[dict[str, Any]]:
    return await InboundMail.select().where(InboundMail.source == source_for_mailbox(mailbox_id)).order_by(
        InboundMail.id
    ).run()


async def mailbox(mailbox_id: int) -> dict[str, Any]:
    return await Mailbox.select().where(Mailbox.id == mailbox_id).first().run()


def processed_flags(dovecot: Dovecot, user: str, folder: str = "INBOX") -> dict[int, bool]:
    return {uid: PROCESSED_FLAG in flags for uid, flags in dovecot.flags(user, folder).items()}


def count_in(dovecot: Dovecot, user: str, folder: str) -> int:
    """How many mails the folder holds (0 while it does not exist yet)."""
    with dovecot.client(user) as imap:
        return imap.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"] if imap.folder_exists(folder) else 0


async def all_flagged(dovecot: Dovecot, user: str, uids: list[int]) -> bool:
    flags = await asyncio.to_thread(processed_flags, dovecot, user)
    return all(flags.get(uid) for uid in uids)


def fail_for(message_ids: set[str]):
    """A stand-in for ingest that raises for the given Message-IDs (a poison mail) and works otherwise."""
    real = intake.ingest

    async def ingest(inbound_id: int, parsed, **kwargs):
        if parsed.message_id in message_ids:
            raise RuntimeError(f"poison mail {parsed.message_id}")
        return await real(inbound_id, parsed, **kwargs)

    return ingest


# ---------------------------------------------------------------- 1. two mailboxes, \Seen, flag/move, poison


async def test_two_mailboxes_flag_and_move_with_a_poison_mail(
    dovecot: Dovecot, make_mailbox, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged = await make_mailbox(after_ingest="flag")
    moved = await make_mailbox(after_ingest="move", move_to_folder="Done")
    poison_a, poison_b = mail_id("poison-a", 1), mail_id("poison-b", 1)
    monkeypatch.setattr(intake, "ingest", fail_for({poison_a, poison_b}))

    # Mailbox A: a mail another client already read, then a poison mail, then mail behind it.
    [seen_uid] = dovecot.append_many(flagged.user.name, [build_mail("a", 1, to=flagged.address)], flags=["\\Seen"])
    poison_raw = build_mail("poison-a", 1, to=flagged.address)
    [poison_uid] = dovecot.append_many(flagged.user.name, [poison_raw])
    behind = dovecot.append_many(flagged.user.name, [build_mail("a", n, to=flagged.address) for n in (2, 3)])
    # Mailbox B: the same shape, moving instead of flagging.
    dovecot.append_many(moved.user.name, [build_mail("b", 1, to=moved.address)], flags=["\\Seen"])
    dovecot.append_many(moved.user.name, [build_mail("poison-b", 1, to=moved.address)])
    dovecot.append_many(moved.user.name, [build_mail("b", n, to=moved.address) for n in (2, 3)])
    a_ids = [mail_id("a", n) for n in (1, 2, 3)]
    b_ids = [mail_id("b", n) for n in (1, 2, 3)]

    async with running_worker(clock):
        await eventually(lambda: all_flagged(dovecot, flagged.user.name, [seen_uid, *behind]), what="A flagged")
        await eventually(lambda: asyncio.to_thread(lambda: count_in(dovecot, moved.user.name, "Done") == 3),
                         what="B moved")
        await asyncio.sleep(3 * FAST.wait)  # a few more sync rounds: the poison mail must stay untouched

        # Each mailbox got exactly its own mail, each mail once.
        assert await messages_for(a_ids + b_ids) == {i: 1 for i in a_ids + b_ids}
        rows_a, rows_b = await inbound_rows(flagged.id), await inbound_rows(moved.id)
        assert {r["message_id"] for r in rows_a} == {*a_ids, poison_a}
        assert {r["message_id"] for r in rows_b} == {*b_ids, poison_b}
        assert {r["mailbox"] for r in rows_a} == {flagged.id} and {r["mailbox"] for r in rows_b} == {moved.id}

        # The poison mail: failed, its error and exact bytes kept, a retry scheduled.
        [poison] = [r for r in rows_a if r["message_id"] == poison_a]
        assert poison["state"] == "failed" and poison["attempts"] == 1
        assert "RuntimeError: poison mail" in poison["error"]
        [stored] = await InboundMailRaw.select(InboundMailRaw.raw).where(InboundMailRaw.mail == poison["id"]).run()
        assert bytes(stored["raw"]) == poison_raw
        assert poison["next_attempt_at"] is not None and poison["ticket"] is None
        [poison_row_b] = [r for r in rows_b if r["message_id"] == poison_b]
        assert poison_row_b["state"] == "failed" and poison_row_b["server_state"] == "none"
        assert all(r["state"] == "processed" for r in rows_a + rows_b if r["message_id"] not in (poison_a, poison_b))
        assert (await mailbox(flagged.id))["ingested_count"] == 3

        # On the server: processed mail flagged (\Seen kept), the poison mail not.
        flags_a = dovecot.flags(flagged.user.name)
        assert PROCESSED_FLAG in flags_a[seen_uid] and "\\Seen" in flags_a[seen_uid]
        assert all(PROCESSED_FLAG in flags_a[uid] for uid in behind)
        assert flags_a[poison_uid] == set(), "a failed mail must stay as it was on the server"
        # Mailbox B: processed mail moved to Done, the poison mail alone (unflagged) in INBOX.
        assert list(dovecot.flags(moved.user.name).values()) == [set()]
        assert count_in(dovecot, moved.user.name, "Done") == 3
        with dovecot.client(moved.user.name) as imap:
            imap.select_folder("INBOX", readonly=True)
            [(_, data)] = imap.fetch(imap.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).items()
            assert poison_b.encode() in data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]

        # Once the bug is gone and the backoff has passed, the retry ingests it and the server follows.
        monkeypatch.undo()
        clock.advance(timedelta(minutes=2))
        await eventually(lambda: all_flagged(dovecot, flagged.user.name, [poison_uid]), what="poison retried")
        await eventually(lambda: asyncio.to_thread(lambda: count_in(dovecot, moved.user.name, "Done") == 4),
                         what="poison B moved after retry")
        assert dovecot.flags(moved.user.name) == {}
        assert await messages_for([poison_a, poison_b]) == {poison_a: 1, poison_b: 1}


# ---------------------------------------------------------------- 2. IDLE


async def test_idle_turns_new_mail_into_a_ticket_within_two_seconds(dovecot: Dovecot, make_mailbox, clock) -> None:
    box = await make_mailbox()
    # A wait far longer than the bound (IDLE re-issued every WAIT_SLICE_S within it): only IDLE
    # can explain a fast pickup, not a poll.
    timing = PollerTiming(lease=timedelta(seconds=60), wait=30.0, backoff_start=0.2, backoff_max=0.5)
    async with running_worker(clock, timing):
        await eventually(lambda: _health_is(box.id, "idle"), what="worker idle")
        await asyncio.sleep(0.5)  # inside IDLE now
        started = time.monotonic()
        await asyncio.to_thread(dovecot.append, box.user.name, build_mail("idle", 1, to=box.address))
        await eventually(lambda: messages_for([mail_id("idle", 1)]), timeout=5, interval=0.02, what="ticket")
        elapsed = time.monotonic() - started
        print(f"IDLE pickup took {elapsed:.2f} s")
        assert elapsed < 2.0, f"IDLE pickup took {elapsed:.2f} s"
        [row] = await inbound_rows(box.id)
        assert row["state"] == "processed" and row["ticket"] is not None


async def _health_is(mailbox_id: int, state: str) -> bool:
    return (await mailbox(mailbox_id))["health_state"] == state


# ---------------------------------------------------------------- 3. UIDVALIDITY


async def test_uidvalidity_reset_rescans_without_duplicates(dovecot: Dovecot, make_mailbox, clock) -> None:
    box = await make_mailbox()
    first = [build_mail("uv", n, to=box.address) for n in range(1, 5)]
    dovecot.append_many(box.user.name, first)
    ids = [mail_id("uv", n) for n in range(1, 5)]

    async with running_worker(clock):
        await eventually(lambda: _all_ingested(box.id, 4), what="first mails")
        old = (await mailbox(box.id))["uidvalidity"]
    # Reset while no worker runs: the next one finds a different UIDVALIDITY on SELECT.
    dovecot.set_uid_validity(box.user.name, old + 1000)
    dovecot.append_many(box.user.name, [build_mail("uv", 5, to=box.address)])
    async with running_worker(clock):
        await eventually(lambda: _all_ingested(box.id, 5), what="mail after the first reset")
        await eventually(lambda: _checkpoint_is(box.id, old + 1000), what="checkpoint")
        # Reset again while the worker runs, then more mail.
        await asyncio.to_thread(dovecot.set_uid_validity, box.user.name, old + 2000)
        await asyncio.to_thread(dovecot.append_many, box.user.name,
                                [build_mail("uv", n, to=box.address) for n in (6, 7)])
        await eventually(lambda: _all_ingested(box.id, 7), what="mail after the second reset")
        await eventually(lambda: _checkpoint_is(box.id, old + 2000), what="checkpoint")
        await eventually(lambda: asyncio.to_thread(
            lambda: all(PROCESSED_FLAG in f for f in dovecot.flags(box.user.name).values())), what="all flagged")
        await asyncio.sleep(3 * FAST.wait)

    ids += [mail_id("uv", n) for n in (5, 6, 7)]
    assert await messages_for(ids) == {i: 1 for i in ids}
    assert await Ticket.count() == 7
    rows = await inbound_rows(box.id)
    assert sorted(r["message_id"] for r in rows) == sorted(ids)
    assert {r["uidvalidity"] for r in rows} == {old + 2000}, "rows re-pointed at the new UIDVALIDITY"
    assert (await mailbox(box.id))["ingested_count"] == 7


async def _all_ingested(mailbox_id: int, count: int) -> bool:
    rows = await inbound_rows(mailbox_id)
    return len(rows) == count and all(r["state"] == "processed" for r in rows)


async def _checkpoint_is(mailbox_id: int, uidvalidity: int) -> bool:
    return (await mailbox(mailbox_id))["uidvalidity"] == uidvalidity


# ---------------------------------------------------------------- 4. server down


async def test_server_down_shows_error_then_resumes(
    client: httpx.AsyncClient, agents: RoleAgents, dovecot: Dovecot, make_mailbox, clock
) -> None:
    box = await make_mailbox()
    dovecot.append(box.user.name, build_mail("down", 1, to=box.address))
    try:
        async with running_worker(clock):
            await eventually(lambda: _all_ingested(box.id, 1), what="first mail")
            await eventually(lambda: _health_is(box.id, "idle"), what="idle")
            await asyncio.to_thread(dovecot.stop)
            row = await eventually(lambda: _errored(box.id), what="error health")
            assert row["last_error"] and "127.0.0.1" in row["last_error"]
            assert box.user.password not in row["last_error"]
            health = (await client.get(f"/api/mailboxes/{box.id}", headers=agents.admin.headers)).json()["health"]
            assert health["state"] == "error" and health["last_error"]
            await asyncio.to_thread(dovecot.start)
            await asyncio.to_thread(dovecot.append, box.user.name, build_mail("down", 2, to=box.address))
            await eventually(lambda: _all_ingested(box.id, 2), what="mail after the restart")
            await eventually(lambda: _health_is(box.id, "idle"), what="healthy again")
            assert (await mailbox(box.id))["last_error"] is None
    finally:
        dovecot.start()  # the server is shared by the session
    assert await messages_for([mail_id("down", 1), mail_id("down", 2)]) == {mail_id("down", 1): 1,
                                                                            mail_id("down", 2): 1}


async def _errored(mailbox_id: int, containing: str = "") -> dict[str, Any] | None:
    row = await mailbox(mailbox_id)
    return row if row["health_state"] == "error" and containing in (row["last_error"] or "") else None


# ---------------------------------------------------------------- 5. the same mail twice


async def test_same_mail_twice_is_ingested_once_per_mailbox(
    dovecot: Dovecot, make_mailbox, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await make_mailbox()
    second = await make_mailbox()
    # Both mailboxes' pollers ingest the mail from the same new sender at once; widen the window
    # between looking the sender up and creating the contact, so they overlap for sure.
    find_account = intake.customers.find_account_for_address

    async def slow_find_account(address: str):
        await asyncio.sleep(0.3)
        return await find_account(address)

    monkeypatch.setattr(intake.customers, "find_account_for_address", slow_find_account)
    twice = build_mail("dup", 1, to=f"{first.address}, {second.address}")
    later = build_mail("dup", 2, to=first.address)
    # Two copies in one fetch batch, and the same mail in the other mailbox.
    first_uids = dovecot.append_many(first.user.name, [twice, twice, later])
    second_uids = dovecot.append_many(second.user.name, [twice])

    async with running_worker(clock):
        await eventually(lambda: _all_ingested(first.id, 2), what="first mailbox")
        await eventually(lambda: _all_ingested(second.id, 1), what="second mailbox")
        # A copy delivered again after the original was processed: a later batch.
        again = await asyncio.to_thread(dovecot.append, first.user.name, later)
        await eventually(lambda: all_flagged(dovecot, first.user.name, [*first_uids, again]), what="first flagged")
        await eventually(lambda: all_flagged(dovecot, second.user.name, second_uids), what="second flagged")
        await asyncio.sleep(3 * FAST.wait)

    rows_first, rows_second = await inbound_rows(first.id), await inbound_rows(second.id)
    assert sorted(r["message_id"] for r in rows_first) == [mail_id("dup", 1), mail_id("dup", 2)]
    assert [r["message_id"] for r in rows_second] == [mail_id("dup", 1)]
    assert (await mailbox(first.id))["ingested_count"] == 2
    assert (await mailbox(second.id))["ingested_count"] == 1
    # Once per mailbox: each stored row ingested once (at the first attempt), into a ticket message of its own.
    assert all(r["state"] == "processed" and r["message"] is not None and r["attempts"] == 0
               for r in rows_first + rows_second)
    assert len({r["message"] for r in rows_first + rows_second}) == 3
    assert await messages_for([mail_id("dup", 2)]) == {mail_id("dup", 2): 1}


# ---------------------------------------------------------------- 6. health through the API


async def test_mailbox_health_through_the_api_never_shows_the_password(
    client: httpx.AsyncClient, agents: RoleAgents, dovecot: Dovecot, make_mailbox, clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box = await make_mailbox()
    dovecot.append_many(box.user.name, [build_mail("api", n, to=box.address) for n in range(1, 121)])
    answers: list[str] = []

    async def get(path: str) -> dict[str, Any]:
        response = await client.get(path, headers=agents.admin.headers)
        assert response.status_code == 200, response.text
        answers.append(response.text)
        return response.json()

    before = await get(f"/api/mailboxes/{box.id}")
    assert before["health"]["state"] == "idle" and before["health"]["last_success_at"] is None
    assert before["health"]["ingested"] == 0 and before["password_source"] == f"env:{box.password_env}"

    started = clock.now()
    async with running_worker(clock) as worker:
        seen: list[tuple[int, int]] = []  # (ingested, backlog) as the API showed them while it worked

        async def healthy() -> dict[str, Any] | None:
            read = await get(f"/api/mailboxes/{box.id}")
            seen.append((read["health"]["ingested"], read["health"]["backlog"]))
            return read if read["health"]["ingested"] == 120 and read["health"]["state"] == "idle" else None

        read = await eventually(healthy, interval=0.25, what="health after ingest")
        health = read["health"]
        assert health["backlog"] == 0 and health["last_error"] is None
        assert health["polled_by"] == worker.owner
        assert started <= datetime.fromisoformat(health["last_success_at"]) <= clock.now()
        assert read["uidvalidity"] and read["last_uid"] == 120
        # While it worked, the backlog counted down what was left, a batch at a time, as ingested grew.
        working = [(ingested, backlog) for ingested, backlog in seen if 0 < backlog]
        assert working, seen
        assert all(120 - ingested <= backlog <= 120 - ingested + FAST.batch for ingested, backlog in working), working
        assert [i for i, _ in seen] == sorted(i for i, _ in seen)

        # The test endpoint, and a wrong password on the next login: error health, no password anywhere.
        test = await client.post(f"/api/mailboxes/{box.id}/test", headers=agents.admin.headers)
        assert test.status_code == 200 and test.json()["ok"] is True, test.text
        answers.append(test.text)
        monkeypatch.setenv(box.password_env, "wrong-" + box.user.password[::-1])
        await asyncio.to_thread(dovecot.restart)  # drops the session: the poller must log in again
        # (The restart itself may show first as a connection error.)
        failed = await eventually(lambda: _errored(box.id, containing="refused"), what="auth error")
        assert box.user.name in failed["last_error"]
        errored = await get(f"/api/mailboxes/{box.id}")
        assert errored["health"]["state"] == "error" and errored["health"]["last_error"] == failed["last_error"]
        monkeypatch.setenv(box.password_env, box.user.password)
        await eventually(lambda: _health_is(box.id, "idle"), what="healthy again")
        await get("/api/mailboxes")
        answers.append((await client.get("/api/inbound-mails", headers=agents.admin.headers)).text)
    for text in answers:
        assert box.user.password not in text
