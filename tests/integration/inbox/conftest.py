"""Fixtures for the mail-intake tests: mailboxes on the private Dovecot, a running InboxWorker."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest

from helpdesk.actors import SYSTEM
from helpdesk.inbox.poller import PollerTiming
from helpdesk.inbox.schemas import MailboxCreate
from helpdesk.inbox.service import create_mailbox
from helpdesk.inbox.worker import InboxWorker
from tests.support.clock import ShiftableClock
from tests.support.database import ENGINE, TestDatabase
from tests.support.dovecot import HOST, Dovecot, MailUser

# Short enough that a test sees reconnects and lease changes within seconds.
FAST = PollerTiming(lease=timedelta(seconds=5), wait=0.5, batch=50, backoff_start=0.2, backoff_max=0.5)
_numbers = itertools.count(1)


def build_mail(tag: str, n: int, *, to: str = "help@helpdesk.example", message_id: str | None = None,
               subject: str | None = None) -> bytes:
    """A plain customer mail; its Message-ID (without brackets) is ``mail_id(tag, n)`` unless given."""
    message_id = message_id or mail_id(tag, n)
    return (
        f"From: Customer {n} <c{n}.{tag}@customer.example>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject or f'{tag} problem {n}'}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"Bonjour, ça ne marche pas ({tag} {n}).\r\n"
    ).encode()


def mail_id(tag: str, n: int) -> str:
    return f"{tag}-{n}@customer.example"


@dataclass
class TestMailbox:
    id: int
    user: MailUser
    address: str
    password_env: str


@pytest.fixture
def make_mailbox(dovecot: Dovecot, clock: ShiftableClock, monkeypatch: pytest.MonkeyPatch
                 ) -> Callable[..., Awaitable[TestMailbox]]:
    """Create a Dovecot user and a mailbox row polling it (password in an environment variable)."""

    async def make(*, after_ingest: str = "flag", move_to_folder: str | None = None,
                   user: MailUser | None = None, address: str | None = None) -> TestMailbox:
        number = next(_numbers)
        user = user or dovecot.new_user("inbox")
        address = address or f"help{number}@helpdesk.example"
        env_name = f"TEST_IMAP_PASSWORD_{number}"
        monkeypatch.setenv(env_name, user.password)
        created = await create_mailbox(SYSTEM, MailboxCreate(
            name=f"mailbox {number}", addresses=[address], imap_host=HOST, imap_port=dovecot.port,
            imap_security="none", imap_username=user.name, password_env=env_name, after_ingest=after_ingest,
            move_to_folder=move_to_folder,
        ), now=clock.now())
        return TestMailbox(created.id, user, address, env_name)

    return make


@asynccontextmanager
async def running_worker(clock: ShiftableClock, timing: PollerTiming = FAST, *, refresh_s: float = 0.2
                         ) -> AsyncIterator[InboxWorker]:
    """An InboxWorker as a task in the test's loop, cancelled (leases released) on exit."""
    worker = InboxWorker(clock, timing=timing, refresh_s=refresh_s)
    task = asyncio.create_task(worker.run(), name=f"worker {worker.owner}")
    try:
        yield worker
    finally:
        task.cancel()
        results = await asyncio.gather(task, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError), results


async def eventually(check: Callable[[], Awaitable[object]], *, timeout: float = 15.0, interval: float = 0.05,
                     what: str = "condition") -> object:
    """Poll an async check until it returns something truthy; fail with its last answer otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s (last: {result!r})")
        await asyncio.sleep(interval)


@pytest.fixture
def cli_env(test_database: TestDatabase) -> dict[str, str]:
    """Environment for running `helpdesk` as its own process on its own database (as in test_cli.py)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = tempfile.mkdtemp(prefix="helpdesk-inbox-cli-")
    if ENGINE == "postgres":
        env["HELPDESK_DATABASE_URL"] = test_database.new_postgres_database()
    return env
