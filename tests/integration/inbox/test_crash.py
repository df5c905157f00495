"""`helpdesk worker` killed with SIGKILL at random points: no mail lost, none twice.

The worker runs as its own process on its own database, on a mailbox added with
`helpdesk mailbox add`, exactly as an operator would run it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from helpdesk.inbox.imap import PROCESSED_FLAG
from tests.integration.inbox.conftest import build_mail, mail_id
from tests.support.database import ENGINE
from tests.support.dovecot import HOST, Dovecot

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
BACKLOG = 500
PASSWORD_ENV = "CRASH_TEST_IMAP_PASSWORD"


def helpdesk(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([HELPDESK, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def query(env: dict[str, str], sql: str) -> list[tuple]:
    """Read the worker's database directly, as an operator would check it."""
    if ENGINE == "postgres":
        async def fetch() -> list[tuple]:
            connection = await asyncpg.connect(env["HELPDESK_DATABASE_URL"])
            try:
                return [tuple(row) for row in await connection.fetch(sql)]
            finally:
                await connection.close()

        return asyncio.run(fetch())
    with sqlite3.connect(Path(env["HELPDESK_DATA_DIR"]) / "helpdesk.sqlite3", timeout=30) as connection:
        return connection.execute(sql).fetchall()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as output:
        return subprocess.Popen([HELPDESK, "worker"], env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_until_working(worker: subprocess.Popen, log: Path, deadline: float) -> None:
    """Until the worker has opened its IMAP session: from here on, a kill lands in the middle of its work."""
    while "imap opened" not in log.read_text(errors="replace"):
        assert worker.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.02)


def wait_until_ingested(env: dict[str, str], count: int, worker: subprocess.Popen, deadline: float) -> None:
    """Until the worker has ingested ``count`` mails (or stopped, or time is up)."""
    while worker.poll() is None and time.monotonic() < deadline:
        [(ingested,)] = query(env, "SELECT COUNT(*) FROM message WHERE kind = 'customer'")
        if ingested >= count:
            return
        time.sleep(0.01)


def test_sigkilled_worker_loses_and_duplicates_nothing(dovecot: Dovecot, cli_env: dict[str, str], tmp_path) -> None:
    user = dovecot.new_user("crash")
    env = {**cli_env, PASSWORD_ENV: user.password, "HELPDESK_LOG_LEVEL": "INFO"}
    added = add_mailbox(env, dovecot, user.name)
    assert added["password_source"] == f"env:{PASSWORD_ENV}" and user.password not in json.dumps(added)
    expected = {mail_id("crash", n) for n in range(BACKLOG)}
    uids = dovecot.append_many(user.name, [build_mail("crash", n, to="help@crash.example") for n in range(BACKLOG)])
    assert len(uids) == BACKLOG

    seed = int(os.environ.get("CRASH_TEST_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    kills = rng.randint(8, 15)
    # (stored, ingested, flagged) after each kill. A kill counts once the worker changed something
    # in its run, so a slow start (a loaded machine) cannot turn the test into kills of idle processes.
    progress: list[tuple[int, int, int]] = [(0, 0, 0)]
    runs = 0
    while sum(1 for before, after in itertools.pairwise(progress) if before != after) < kills and runs < 2 * kills:
        runs += 1
        log = tmp_path / f"worker-{runs}.log"
        worker = start_worker(env, log)
        wait_until_working(worker, log, time.monotonic() + 30)
        # Whatever the machine's pace, each kill lands in the middle of the work: once this run has
        # ingested a few mails (a commit or two), then a moment later (often inside a transaction).
        wait_until_ingested(env, min(progress[-1][1] + rng.randint(1, 40), BACKLOG), worker, time.monotonic() + 60)
        time.sleep(rng.uniform(0, 0.2))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        [counts] = query(env, "SELECT COUNT(*), (SELECT COUNT(*) FROM message WHERE kind = 'customer'), "
                              "(SELECT COUNT(*) FROM inbound_mail WHERE server_state = 'done') FROM inbound_mail")
        progress.append(tuple(counts))
        # A killed instance cannot release its lease; the next one would wait out the 60 s lease.
        # Expire it now, as that wait would.
        query(env, "UPDATE mailbox SET lease_until = NULL, lease_owner = NULL")
    mid_work = sum(1 for before, after in itertools.pairwise(progress) if before != after and after[2] < BACKLOG)
    context = f"seed {seed}, {runs} kills ({mid_work} in the middle of the work), (stored, ingested, flagged) " \
              f"after each: {progress[1:]}"
    print(context)
    assert mid_work >= min(kills, 5), context

    log = tmp_path / "worker-last.log"
    worker = start_worker(env, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            [(messages, pending)] = query(env, "SELECT (SELECT COUNT(*) FROM message WHERE kind = 'customer'), "
                                               "(SELECT COUNT(*) FROM inbound_mail WHERE server_state != 'done')")
            if messages >= BACKLOG and pending == 0:
                break
            assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, f"{context}; stuck at {messages} messages, {pending} pending"
            time.sleep(0.2)
        time.sleep(1.0)  # a few more rounds: nothing may be added twice now
    finally:
        worker.send_signal(signal.SIGKILL)  # a crash test to the end (test_sigterm_... covers the clean stop)
        worker.wait(timeout=10)

    counts = dict(query(env, "SELECT message_id, COUNT(*) FROM message WHERE kind = 'customer' GROUP BY message_id"))
    lost = expected - counts.keys()
    duplicated = {i: n for i, n in counts.items() if n != 1}
    assert not lost and not duplicated and counts.keys() == expected, (context, sorted(lost)[:5], duplicated)
    assert query(env, "SELECT COUNT(*) FROM ticket")[0][0] == BACKLOG, context
    states = dict(query(env, "SELECT state, COUNT(*) FROM inbound_mail GROUP BY state"))
    assert states == {"processed": BACKLOG}, (context, states)
    assert query(env, "SELECT ingested_count, backlog, last_uid FROM mailbox") == [(BACKLOG, 0, max(uids))], context
    flags = dovecot.flags(user.name)
    assert sorted(flags) == uids and all(PROCESSED_FLAG in f for f in flags.values()), context


def add_mailbox(env: dict[str, str], dovecot: Dovecot, user: str) -> dict:
    if ENGINE == "postgres":
        helpdesk(env, "migrate")  # PostgreSQL deployments migrate explicitly; SQLite migrates itself
    return json.loads(helpdesk(
        env, "mailbox", "add", "--name", "crash", "--address", "help@crash.example", "--imap-host", HOST,
        "--imap-port", str(dovecot.port), "--imap-security", "none", "--imap-username", user,
        "--password-env", PASSWORD_ENV,
    ))


def test_sigterm_stops_the_worker_promptly_and_releases_its_lease(
    dovecot: Dovecot, cli_env: dict[str, str], tmp_path
) -> None:
    user = dovecot.new_user("term")
    env = {**cli_env, PASSWORD_ENV: user.password, "HELPDESK_LOG_LEVEL": "INFO"}
    add_mailbox(env, dovecot, user.name)
    dovecot.append_many(user.name, [build_mail("term", n, to="help@crash.example") for n in range(3)])
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        deadline = time.monotonic() + 30
        # Ingested, and back in IDLE (the state a stop usually finds a worker in).
        while query(env, "SELECT COUNT(*), (SELECT health_state FROM mailbox) FROM message WHERE kind = 'customer'"
                    ) != [(3, "idle")]:
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        time.sleep(1.0)
        assert query(env, "SELECT lease_owner IS NOT NULL FROM mailbox") in ([(1,)], [(True,)])
        stop_started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text(errors="replace")[-3000:]
        stop_took = time.monotonic() - stop_started
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    # A clean stop hands the mailbox over at once (no lease left to expire), and promptly:
    # not after an IMAP socket timeout, and without a LOGOUT racing the IDLE still running.
    assert query(env, "SELECT lease_owner FROM mailbox") == [(None,)], log.read_text(errors="replace")[-3000:]
    assert stop_took < 10, f"SIGTERM took {stop_took:.1f} s"
