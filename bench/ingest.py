"""Mail intake end to end: IMAP → stored raw → parsed → ticket message, against the fetch+parse ceiling.

    .venv/bin/python bench/ingest.py --mails 2000 --engine sqlite
    .venv/bin/python bench/ingest.py --mails 2000 --engine postgres   # HELPDESK_DATABASE_URL or a private cluster

What it does, in one process:
1. builds ``--mails`` mails (bench/_mail_mix.py: ~80% small text/HTML, 15% with a 200 KB
   attachment, 5% replies naming an earlier mail of the run; ~300 senders over ~130 domains) and
   APPENDs them to a private Dovecot (tests/support/dovecot.py);
2. the ceiling: one ImapSession fetches every UID in batches of 100 (``fetch_raw``) and the
   product's parse pool (``inbox.parse_pool``, one process per core) parses them, the next
   fetch beside the parse as in the poller, no database — N / wall time; measured right before
   and right after step 3, the higher of the two is the ceiling. The same with ``parse_message``
   in one thread is reported too (``one_thread_per_s``), and is the ceiling with
   ``--no-pool-ceiling``;
3. end to end: a fresh database (SQLite in a temp dir, or a new PostgreSQL database), migrated,
   one mailbox created through ``inbox.service.create_mailbox``; then ``inbox.poller.MailboxPoller``
   (the task ``InboxWorker`` runs per mailbox) polls it. The clock runs from the poller's start
   until N inbound mails are ``processed`` (each in the transaction that inserts its ticket message;
   counted on a separate connection every 50 ms), then checks there are N customer messages.
   The domains are wired as ``helpdesk worker`` wires them (a new ticket starts its SLA clocks;
   acknowledgements stay off, as in a new mailbox, which has no SMTP settings).

Instrumentation (on unless ``--bare``): the poller's steps are wrapped in this process only — the
batch transaction (store + a savepoint per mail), each mail's ingest in it (per mail kind), server
flag, the wait for the batch fetched and parsed ahead, and the overlapped IMAP fetch and parse — and every SQL
statement Piccolo sends is counted and timed by phase and by statement shape. ``--py-spy`` samples
the intake phase with py-spy (all threads, native frames off) and prints where CPU time goes.

``--try-fix NAME`` patches a prototype of a proposal into this process (never into helpdesk/):
``sqlite-normal`` (PRAGMA synchronous=NORMAL); ``--no-wiring`` leaves out the SLA hook on new
tickets. ``--quiet-wait S`` waits up to S seconds for the load to drop before timing (this
2-core machine is shared); the JSON records the load before and after, and the CPU time of this
process per mail, which other load distorts less than wall time.

Progress goes to stderr; the last stdout line is one JSON object:
``{"bench": "ingest", "engine": …, "mails": N, "mails_per_s": …, "ceiling_per_s": …, "ratio": …, …}``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextvars
import functools
import json
import logging
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _mail_mix
from bench.api import BenchDatabase

PASSWORD_ENV = "HELPDESK_BENCH_IMAP_PASSWORD"
FETCH_BATCH = 100
COUNT_EVERY_S = 0.05
STALL_S = 120.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def parse_pool_cpu() -> float:
    """CPU seconds of the shared parse pool's live worker processes (not in this process's rusage)."""
    from helpdesk.inbox.parse_pool import shared_pool

    executor = shared_pool()._executor
    total = 0.0
    for pid in list(getattr(executor, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def loadavg() -> float:
    """The 1-minute load average: other work on this 2-core machine shows up in the figures."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def wait_for_quiet(seconds: float, below: float) -> None:
    """Up to ``seconds`` for the 1-minute load to fall below ``below`` (other sessions share the machine)."""
    deadline = time.monotonic() + seconds
    if loadavg() >= below and seconds > 0:
        log(f"waiting up to {seconds:.0f} s for the load ({loadavg():.2f}) to fall below {below}")
    while loadavg() >= below and time.monotonic() < deadline:
        time.sleep(2)


# ---------------------------------------------------------------- the database
# BenchDatabase (a temp data dir, or a fresh PostgreSQL database) is shared with bench/api.py.


class MessageCounter:
    """Counts on its own connection, outside Piccolo and its transactions."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self._sqlite: sqlite3.Connection | None = None
        self._pg = None

    async def open(self) -> None:
        if self.settings.database_url:
            import asyncpg

            self._pg = await asyncpg.connect(self.settings.database_url)
        else:
            self._sqlite = sqlite3.connect(str(self.settings.sqlite_path), timeout=30)

    # Set in the ingest transaction that inserts the message, and answered from the
    # (state, next_attempt_at) index: cheap to ask every 50 ms, unlike scanning message.
    PROCESSED = "SELECT COUNT(*) FROM inbound_mail WHERE state = 'processed'"

    async def count(self, sql: str = PROCESSED) -> int:
        if self._pg is not None:
            return int(await self._pg.fetchval(sql))
        assert self._sqlite is not None
        return int(self._sqlite.execute(sql).fetchone()[0])

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self._pg is not None:
            return [tuple(row) for row in await self._pg.fetch(sql)]
        assert self._sqlite is not None
        return self._sqlite.execute(sql).fetchall()

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
        if self._sqlite is not None:
            self._sqlite.close()


# ---------------------------------------------------------------- instrumentation


_phase: contextvars.ContextVar[str] = contextvars.ContextVar("bench_phase", default="other")
_SHAPE_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


_VERB = re.compile(r"^\W*(SELECT|INSERT|UPDATE|DELETE|WITH|BEGIN|COMMIT|PRAGMA)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _template_shape(template: str) -> str | None:
    verb, table = _VERB.search(template), _SHAPE_TABLE.search(template)
    if verb is None and table is None:
        return None
    return f"{verb.group(1).upper() if verb else '?'} {table.group(1) if table else ''}".strip()


def querystring_shape(querystring: Any, depth: int = 0) -> str:
    """"SELECT inbound_mail", "INSERT message", "UPDATE mailbox" … from Piccolo's templates, without
    compiling the statement a second time (compiling costs 30-60 µs a statement)."""
    from piccolo.querystring import QueryString

    shape = _template_shape(querystring.template)
    if shape and not shape.startswith("? ") and " " in shape:  # a verb and a table
        return shape
    for arg in querystring.args:  # UPDATE is '{} WHERE {}', EXISTS wraps a SELECT …
        if isinstance(arg, QueryString) and depth < 4:
            inner = querystring_shape(arg, depth + 1)
            if inner != "?":
                return inner if not shape else f"{inner} ({shape})"
    return shape or "?"


@dataclass
class Timer:
    seconds: float = 0.0
    calls: int = 0

    def add(self, seconds: float, calls: int = 1) -> None:
        self.seconds += seconds
        self.calls += calls


@dataclass
class Instruments:
    """Wall time per poller step, per mail kind for the ingest step, and SQL by phase and shape."""

    phases: dict[str, Timer] = field(default_factory=lambda: collections.defaultdict(Timer))
    ingest_by_kind: dict[str, Timer] = field(default_factory=lambda: collections.defaultdict(Timer))
    sql_by_phase: dict[str, Timer] = field(default_factory=lambda: collections.defaultdict(Timer))
    sql_by_shape: dict[str, Timer] = field(default_factory=lambda: collections.defaultdict(Timer))
    transaction_steps: dict[str, Timer] = field(default_factory=lambda: collections.defaultdict(Timer))
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _step_ended: float | None = None

    def install(self, engine) -> None:
        from helpdesk.inbox import imap, ingest, parse_pool, poller

        def patch(owner: Any, name: str, replacement: Any) -> None:
            original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
            setattr(owner, name, replacement)
            self._undo.append(lambda: setattr(owner, name, original))

        def timed_sync(phase: str, function: Callable) -> Callable:
            @functools.wraps(function)
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    self.phases[phase].add(time.perf_counter() - started)
            return wrapper

        def timed_async(phase: str, function: Callable) -> Callable:
            @functools.wraps(function)
            async def wrapper(*args, **kwargs):
                token = _phase.set(phase)
                started = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    self.phases[phase].add(time.perf_counter() - started)
                    _phase.reset(token)
            return wrapper

        # Fetching and parsing run one batch ahead, beside the database work ("overlapped" below):
        # their time is not the poller's. What the poller waits for them shows as "waiting_for_fetch".
        patch(imap.ImapSession, "fetch_raw", timed_sync("imap_fetch (overlapped)", imap.ImapSession.fetch_raw))
        patch(imap.ImapSession, "flag_processed", timed_sync("imap_flag", imap.ImapSession.flag_processed))
        patch(imap.ImapSession, "uids_after", timed_sync("imap_search", imap.ImapSession.uids_after))
        patch(parse_pool.ParsePool, "parse", timed_async("parse (overlapped)", parse_pool.ParsePool.parse))
        patch(poller, "store_and_ingest", timed_async("batch_tx", poller.store_and_ingest))
        patch(poller, "rules_for", timed_async("rules_for", poller.rules_for))
        patch(poller.MailboxPoller, "_apply_server_actions",
              timed_async("server_actions", poller.MailboxPoller._apply_server_actions))
        patch(poller.MailboxPoller, "_ingest_left_over",
              timed_async("left_over_check", poller.MailboxPoller._ingest_left_over))

        original_store_and_ingest = poller.MailboxPoller._store_and_ingest

        async def store_and_ingest(poller_self, session, received, *args):
            # The poller's own step starts once its batch is fetched and parsed: the gap since the
            # last step ended is the wait for the batch fetched ahead.
            if self._step_ended is not None:
                self.phases["waiting_for_fetch"].add(time.perf_counter() - self._step_ended)
            try:
                return await original_store_and_ingest(poller_self, session, received, *args)
            finally:
                self._step_ended = time.perf_counter()

        patch(poller.MailboxPoller, "_store_and_ingest", store_and_ingest)

        original_ingest = ingest.ingest

        async def timed_ingest(inbound_id, parsed, **kwargs):
            token = _phase.set("ingest (savepoint)")
            started = time.perf_counter()
            try:
                return await original_ingest(inbound_id, parsed, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.ingest_by_kind[mail_kind(parsed)].add(elapsed)
                _phase.reset(token)

        patch(ingest, "ingest", timed_ingest)

        # Engines use __slots__: wrap the class's method (this process has one engine), on the
        # class that defines it (helpdesk's SQLite engine subclasses Piccolo's).
        engine_class = next(klass for klass in type(engine).__mro__ if "run_querystring" in klass.__dict__)
        run_querystring = engine_class.__dict__["run_querystring"]

        async def counted(engine_self, querystring, in_pool: bool = True):
            started = time.perf_counter()
            try:
                return await run_querystring(engine_self, querystring, in_pool=in_pool)
            finally:
                elapsed = time.perf_counter() - started
                self.sql_by_phase[_phase.get()].add(elapsed)
                self.sql_by_shape[f"{_phase.get()}: {querystring_shape(querystring)}"].add(elapsed)

        patch(engine_class, "run_querystring", counted)

        # The cost of a transaction itself: getting a connection (SQLite: a new aiosqlite
        # connection and its thread; PostgreSQL: a pool checkout), BEGIN, COMMIT, release.
        from piccolo.engine.postgres import PostgresTransaction
        from piccolo.engine.sqlite import SQLiteTransaction

        def timed_step(step: str, function: Callable) -> Callable:
            @functools.wraps(function)
            async def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    self.transaction_steps[f"{_phase.get()}: {step}"].add(time.perf_counter() - started)
            return wrapper

        for transaction_class in (SQLiteTransaction, PostgresTransaction):
            for method, step in (("get_connection", "connect"), ("begin", "begin"), ("commit", "commit"),
                                 ("__aexit__", "exit (commit + release)")):
                patch(transaction_class, method, timed_step(step, transaction_class.__dict__[method]))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def report(self, mails: int, elapsed: float) -> dict[str, Any]:
        phases = {name: {"s": round(t.seconds, 3), "share": round(t.seconds / elapsed, 3), "calls": t.calls}
                  for name, t in sorted(self.phases.items(), key=lambda item: -item[1].seconds)}
        # Flagging is inside server_actions; fetch and parse overlap the other steps.
        accounted = sum(t.seconds for name, t in self.phases.items()
                        if name != "imap_flag" and "overlapped" not in name)
        phases["unaccounted"] = {"s": round(elapsed - accounted, 3), "share": round((elapsed - accounted) / elapsed, 3)}
        kinds = {kind: {"mails": t.calls, "ms_per_mail": round(1000 * t.seconds / max(t.calls, 1), 2)}
                 for kind, t in sorted(self.ingest_by_kind.items())}
        sql_phase = {name: {"statements": t.calls, "per_mail": round(t.calls / mails, 2), "s": round(t.seconds, 3)}
                     for name, t in sorted(self.sql_by_phase.items(), key=lambda item: -item[1].seconds)}
        shapes = [{"shape": name, "n": t.calls, "per_mail": round(t.calls / mails, 2), "s": round(t.seconds, 3),
                   "ms_each": round(1000 * t.seconds / max(t.calls, 1), 3)}
                  for name, t in sorted(self.sql_by_shape.items(), key=lambda item: -item[1].seconds)]
        steps = {name: {"n": t.calls, "s": round(t.seconds, 3), "ms_each": round(1000 * t.seconds / max(t.calls, 1), 3)}
                 for name, t in sorted(self.transaction_steps.items(), key=lambda item: -item[1].seconds)}
        return {"phases": phases, "ingest_by_kind": kinds, "transaction_steps": steps, "sql_by_phase": sql_phase,
                "statements_per_mail": round(sum(t.calls for t in self.sql_by_phase.values()) / mails, 1),
                "sql_top": shapes[:25]}


def mail_kind(parsed) -> str:
    if parsed is None:
        return "unparsed"
    if parsed.in_reply_to:
        return "reply"
    if parsed.attachments:
        return "attachment"
    return "small"


# ---------------------------------------------------------------- py-spy


class PySpy:
    """``py-spy record`` on this process for the intake phase; collapsed stacks summarised by bucket."""

    BUCKETS = (  # first match wins, checked against the whole stack (leaf last)
        ("parse (email package + helpdesk.inbox.parse)", ("parse_message", "parse_received")),
        ("sqlite3 C calls (aiosqlite thread)", ("aiosqlite/core.py",)),
        ("asyncpg protocol", ("asyncpg/",)),
        ("imapclient / socket (IMAP)", ("imapclient/", "imaplib.py")),
        ("piccolo query building / results", ("piccolo/",)),
        ("helpdesk code (ingest/services)", ("helpdesk/",)),
        ("asyncio event loop / threads", ("asyncio/", "threading.py", "concurrent/futures")),
    )

    def __init__(self, binary: str, out: Path, rate: int) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [binary, "record", "--pid", str(os.getpid()), "--rate", str(rate), "--threads", "--format", "raw",
             "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # let it attach

    def stop(self) -> dict[str, Any]:
        self.process.send_signal(signal.SIGINT)
        try:
            _, stderr = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        if not self.out.exists():
            log(f"py-spy wrote nothing: {stderr.decode(errors='replace')[-500:]}")
            return {}
        return self.summarise(self.out)

    @classmethod
    def summarise(cls, path: Path) -> dict[str, Any]:
        buckets: collections.Counter[str] = collections.Counter()
        leaves: collections.Counter[str] = collections.Counter()
        helpdesk_frames: collections.Counter[str] = collections.Counter()
        total = 0
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            for name, needles in cls.BUCKETS:
                if any(needle in stack for needle in needles):
                    buckets[name] += count
                    break
            else:
                buckets["other"] += count
            frames = stack.split(";")
            leaves[frames[-1]] += count
            # The innermost helpdesk function on the stack: who asked for this work.
            for frame in reversed(frames):
                if "helpdesk/" in frame and "bench/" not in frame:
                    helpdesk_frames[frame] += count
                    break
        share = lambda counter, n: [{"where": k, "share": round(v / total, 3)} for k, v in counter.most_common(n)]
        return {"samples": total, "buckets": {k: round(v / total, 3) for k, v in buckets.most_common()},
                "innermost_helpdesk_frame": share(helpdesk_frames, 15), "leaf": share(leaves, 15)}


# ---------------------------------------------------------------- prototypes of the proposals

TRY_FIXES = {
    "sqlite-normal": "PRAGMA synchronous=NORMAL on every SQLite transaction (WAL: no fsync per commit)",
}


class TryFixes:
    """Prototypes patched into this process only, to size a proposal before anyone changes helpdesk/.

    (One transaction per batch and parsing in a process pool, prototyped here first, have landed.)
    """

    def __init__(self, names: list[str], instruments: Instruments) -> None:
        self.names = names
        self.instruments = instruments
        self._undo: list[Callable[[], None]] = []

    def install(self) -> None:
        if "sqlite-normal" in self.names:
            from piccolo.engine.sqlite import SQLiteTransaction

            begin = SQLiteTransaction.__dict__["begin"]

            async def begin_normal(transaction_self):
                await transaction_self.connection.execute("PRAGMA synchronous=NORMAL")
                await begin(transaction_self)

            SQLiteTransaction.begin = begin_normal
            self._undo.append(lambda: setattr(SQLiteTransaction, "begin", begin))
    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()


# ---------------------------------------------------------------- the ceiling


def measure_ceiling(endpoint, kind_by_uid: dict[int, str]) -> dict[str, Any]:
    """Fetch every UID in batches of 100 and parse each: one thread, no database."""
    from helpdesk.inbox.imap import ImapSession
    from helpdesk.inbox.parse import parse_message

    parse_by_kind: dict[str, Timer] = collections.defaultdict(Timer)
    fetch_s = parse_s = 0.0
    started, cpu_started = time.perf_counter(), process_cpu()
    with ImapSession(endpoint, batch_size=FETCH_BATCH) as session:
        uids = session.uids_after(0)
        for start in range(0, len(uids), FETCH_BATCH):
            t0 = time.perf_counter()
            raws = session.fetch_raw(uids[start:start + FETCH_BATCH])
            t1 = time.perf_counter()
            fetch_s += t1 - t0
            for uid, raw in raws.items():
                t2 = time.perf_counter()
                parse_message(raw)
                parse_by_kind[kind_by_uid.get(uid, "?")].add(time.perf_counter() - t2)
            parse_s += time.perf_counter() - t1
    wall, cpu = time.perf_counter() - started, process_cpu() - cpu_started
    result: dict[str, Any] = {
        "mails": len(uids), "wall_s": round(wall, 3), "per_s": round(len(uids) / wall, 1),
        "cpu_ms_per_mail": round(1000 * cpu / len(uids), 2),
        "fetch_s": round(fetch_s, 3), "fetch_per_s": round(len(uids) / fetch_s, 1),
        "parse_s": round(parse_s, 3), "parse_per_s": round(len(uids) / parse_s, 1),
        "parse_ms_by_kind": {k: round(1000 * t.seconds / t.calls, 2) for k, t in sorted(parse_by_kind.items())},
    }
    return result


WARM_UP_MAIL = b"Subject: warm\r\n\r\nup\r\n"


def measure_pooled_ceiling(endpoint) -> dict[str, Any]:
    """Fetch in batches of 100 and parse in the product's parse pool, the next fetch beside the
    parse, as the poller does: the most the intake could do with no database at all."""
    from helpdesk.inbox.imap import ImapSession
    from helpdesk.inbox.parse_pool import ParsePool, default_workers

    async def run() -> dict[str, Any]:
        parser = ParsePool(default_workers())
        try:
            await parser.parse([WARM_UP_MAIL] * 4)  # the workers exist before the clock starts
            started = time.perf_counter()
            with ImapSession(endpoint, batch_size=FETCH_BATCH) as session:
                uids = await asyncio.to_thread(session.uids_after, 0)
                parsing: asyncio.Future | None = None
                for start in range(0, len(uids), FETCH_BATCH):
                    raws = await asyncio.to_thread(session.fetch_raw, uids[start:start + FETCH_BATCH])
                    if parsing is not None:
                        await parsing
                    parsing = asyncio.ensure_future(parser.parse(list(raws.values())))
                if parsing is not None:
                    await parsing
            wall = time.perf_counter() - started
            return {"mails": len(uids), "workers": parser.workers, "per_s": round(len(uids) / wall, 1)}
        finally:
            parser.close()

    return asyncio.run(run())


# ---------------------------------------------------------------- end to end


async def run_intake(database: BenchDatabase, endpoint, mails: int, args) -> dict[str, Any]:
    from helpdesk import db
    from helpdesk.actors import SYSTEM
    from helpdesk.clock import SystemClock
    from helpdesk.inbox.imap import ImapSession
    from helpdesk.inbox.poller import MailboxPoller, PollerTiming
    from helpdesk.inbox.schemas import MailboxCreate
    from helpdesk.inbox.service import create_mailbox

    settings = database.settings()
    engine = db.configure(settings)
    await db.start(engine)
    counter = MessageCounter(settings)
    instruments = Instruments()
    try_fixes = TryFixes(args.try_fix, instruments)
    restore: list[Callable[[], None]] = []
    try:
        await db.migrate()
        clock = SystemClock()
        os.environ[PASSWORD_ENV] = endpoint.password
        mailbox = await create_mailbox(SYSTEM, MailboxCreate(
            name="Bench support", addresses=[_mail_mix.SUPPORT_ADDRESS], imap_host=endpoint.host,
            imap_port=endpoint.port, imap_security="none", imap_username=endpoint.username,
            password_env=PASSWORD_ENV, folder=endpoint.folder,
        ), now=clock.now())
        await counter.open()
        if args.wiring:
            # As `helpdesk worker` and the app do: a new ticket starts its SLA clocks and may queue
            # an acknowledgement, inside the ingest transaction.
            from helpdesk.workers import wire_domains

            wire_domains()
        if args.parse_workers is not None:
            from helpdesk.inbox import parse_pool

            parse_pool._shared = parse_pool.ParsePool(args.parse_workers)
        if not args.bare:
            instruments.install(engine)
        try_fixes.install()
        # The wait only matters once the backlog is drained; the lease outlives any batch.
        timing = PollerTiming(wait=1.0, batch=args.batch, backoff_start=0.2, backoff_max=2.0)
        poller = MailboxPoller(mailbox.id, "bench-ingest", clock, timing)
        idle = threading.Event()
        wait_for_changes = ImapSession.__dict__["wait_for_changes"]

        def waiting(session_self, *a, **kw):
            idle.set()
            return wait_for_changes(session_self, *a, **kw)

        ImapSession.wait_for_changes = waiting
        restore.append(lambda: setattr(ImapSession, "wait_for_changes", wait_for_changes))
        spy = PySpy(args.py_spy, Path(database.data_dir) / "py-spy.txt", args.py_spy_rate) if args.py_spy else None
        log(f"intake: poller started on mailbox {mailbox.id} ({database.engine}), waiting for {mails} messages")
        started, cpu_started = time.perf_counter(), process_cpu()
        task = asyncio.create_task(poller.run(), name="bench-poller")
        count, last_count, last_change, last_log = 0, 0, started, started
        while count < mails:
            await asyncio.sleep(COUNT_EVERY_S)
            count = await counter.count()
            now = time.perf_counter()
            if count != last_count:
                last_count, last_change = count, now
            if now - last_log >= 2.0:
                log(f"  {count:>6} / {mails} messages after {now - started:6.1f} s "
                    f"({count / (now - started):6.1f}/s, load {loadavg():.2f})")
                last_log = now
            failing = now - last_change > 10 and (await counter.rows("SELECT health_state FROM mailbox"))[0][0] == "error"
            if task.done() or failing or now - last_change > STALL_S:
                states = await counter.rows("SELECT state, COUNT(*) FROM inbound_mail GROUP BY state")
                health = await counter.rows("SELECT health_state, last_error FROM mailbox")
                raise RuntimeError(f"intake stalled at {count}/{mails}: inbound states {states}, mailbox {health}")
        elapsed, cpu = time.perf_counter() - started, process_cpu() - cpu_started
        pool_cpu = parse_pool_cpu()
        profile = spy.stop() if spy else None
        log(f"intake: {mails} messages in {elapsed:.2f} s = {mails / elapsed:.1f} mails/s")
        # Cancel only once the poller waits for new mail (outside any transaction): a task
        # cancelled while Piccolo closes an aiosqlite connection leaks that connection's thread,
        # and the interpreter then hangs at exit waiting for it.
        deadline = time.monotonic() + 60
        while not idle.is_set() and not task.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poller.release_lease()
        instruments.uninstall()
        states = dict(await counter.rows("SELECT state, COUNT(*) FROM inbound_mail GROUP BY state"))
        result = {
            "seconds": round(elapsed, 3),
            "per_s": round(mails / elapsed, 1),
            # CPU of this process (all threads; not Dovecot, PostgreSQL or pool workers): less
            # sensitive than wall time to other work on the machine.
            "cpu_s": round(cpu, 2),
            "cpu_ms_per_mail": round(1000 * cpu / mails, 2),
            # The parse pool's processes, on top (parsing moved there from this process).
            "parse_pool_cpu_ms_per_mail": round(1000 * pool_cpu / mails, 2),
            "inbound_states": states,
            "customer_messages": await counter.count("SELECT COUNT(*) FROM message WHERE kind = 'customer'"),
            "acknowledgements": await counter.count("SELECT COUNT(*) FROM message WHERE kind = 'auto_reply'"),
            "tickets": await counter.count("SELECT COUNT(*) FROM ticket"),
            "contacts": await counter.count("SELECT COUNT(*) FROM contact"),
            "threaded_replies": await counter.count(
                "SELECT COUNT(*) FROM inbound_mail WHERE thread_reason = 'in_reply_to'"),
            "blobs": await counter.count("SELECT COUNT(*) FROM blob"),
        }
        if not args.bare:
            result["profile"] = instruments.report(mails, elapsed)
        if profile is not None:
            result["py_spy"] = profile
        return result
    finally:
        for undo in reversed(restore):
            undo()
        try_fixes.uninstall()
        instruments.uninstall()
        await counter.close()
        await db.stop(engine)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100, help="the poller's fetch/store batch (PollerTiming.batch)")
    parser.add_argument("--bare", action="store_true", help="no phase timing or SQL counting (check its overhead)")
    parser.add_argument("--no-pool-ceiling", dest="pool_ceiling", action="store_false",
                        help="the ceiling parses in one thread, not in the parse pool the intake uses")
    parser.add_argument("--py-spy", nargs="?", const=shutil.which("py-spy") or "py-spy", default=None,
                        metavar="BINARY", help="sample the intake phase with py-spy (all threads)")
    parser.add_argument("--py-spy-rate", type=int, default=100)
    parser.add_argument("--try-fix", action="append", default=[], choices=sorted(TRY_FIXES),
                        help="prototype a proposal in this process only (repeatable): "
                        + "; ".join(f"{k}: {v}" for k, v in TRY_FIXES.items()))
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="SECONDS",
                        help="before each timed phase, wait up to this long for a quieter machine")
    parser.add_argument("--quiet-load", type=float, default=1.5, help="the 1-minute load that counts as quiet")
    parser.add_argument("--no-wiring", dest="wiring", action="store_false",
                        help="do not wire the domains as the worker does (no SLA clocks on new tickets)")
    parser.add_argument("--parse-workers", type=int, default=None, metavar="N",
                        help="processes in the intake's parse pool (default: one per core; 0 parses in a thread)")
    parser.add_argument("--keep", action="store_true", help="keep the Dovecot and database files")
    args = parser.parse_args(argv)
    if args.mails < 20:
        parser.error("--mails must be at least 20")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    from tests.support.dovecot import Dovecot

    started = time.perf_counter()
    mails = _mail_mix.build(args.mails, seed=args.seed)
    mix = _mail_mix.summary(mails)
    log(f"built {args.mails} mails in {time.perf_counter() - started:.1f} s: {mix['kinds']}, "
        f"{mix['bytes'] / 1e6:.1f} MB, {mix['senders']} senders on {mix['domains']} domains")

    dovecot = Dovecot()
    database: BenchDatabase | None = None
    try:
        dovecot.start()
        user = dovecot.new_user("bench")
        started = time.perf_counter()
        uids = dovecot.append_many(user.name, [mail.raw for mail in mails])
        append_s = time.perf_counter() - started
        log(f"appended {len(uids)} mails to Dovecot in {append_s:.1f} s")
        kind_by_uid = {uid: ("small" if mail.kind in ("text", "html", "alternative") else mail.kind)
                       for uid, mail in zip(uids, mails)}
        endpoint = dovecot.endpoint(user.name, timeout_s=60.0)

        database = BenchDatabase(args.engine)
        wait_for_quiet(args.quiet_wait, args.quiet_load)
        # The ceiling right before and right after the intake, so that both see about the same
        # machine (other sessions share it); the ratio uses the higher one.
        # The intake parses in the parse pool, so the ceiling does too (unless --no-pool-ceiling);
        # the one-thread figure is kept for comparison with earlier runs.
        log("ceiling: fetch (batches of 100) + parse, no database: in one thread, then in the parse pool")
        ceiling = measure_ceiling(endpoint, kind_by_uid)
        pooled = [measure_pooled_ceiling(endpoint)] if args.pool_ceiling else []
        log(f"ceiling: one thread {ceiling['per_s']} mails/s (fetch {ceiling['fetch_per_s']}/s, parse "
            f"{ceiling['parse_per_s']}/s)" + (f"; parse pool: {pooled[0]['per_s']}/s" if pooled else ""))
        load_before = loadavg()
        intake = asyncio.run(run_intake(database, endpoint, args.mails, args))
        load_after = loadavg()
        again = measure_ceiling(endpoint, kind_by_uid)
        pooled += [measure_pooled_ceiling(endpoint)] if args.pool_ceiling else []
        log(f"ceiling again: one thread {again['per_s']} mails/s" + (f"; parse pool {pooled[-1]['per_s']}/s" if pooled else ""))
        ceiling["before_per_s"], ceiling["after_per_s"] = ceiling["per_s"], again["per_s"]
        if again["per_s"] > ceiling["per_s"]:
            ceiling.update({key: value for key, value in again.items() if key != "mails"})
        ceiling["one_thread_per_s"] = ceiling["per_s"]
        ceiling["kind"] = "one thread"
        if pooled:
            ceiling["pooled"] = {"workers": pooled[0]["workers"], "before_per_s": pooled[0]["per_s"],
                                 "after_per_s": pooled[-1]["per_s"]}
            ceiling["per_s"] = max(run["per_s"] for run in pooled)
            ceiling["kind"] = "parse pool"
        expected_tickets = args.mails - mix["kinds"].get("reply", 0)
        if (intake["tickets"] != expected_tickets or intake["customer_messages"] != args.mails
                or intake["threaded_replies"] != mix["kinds"].get("reply", 0)):
            log(f"WARNING: {intake['customer_messages']} customer messages, {intake['tickets']} tickets "
                f"(expected {expected_tickets}), "
                f"{intake['threaded_replies']} replies threaded (expected {mix['kinds'].get('reply', 0)})")
        if database.engine == "sqlite":
            intake["sqlite_mb"] = round(sum(p.stat().st_size for p in database.data_dir.glob("helpdesk.sqlite3*")) / 1e6, 1)
        result = {
            "bench": "ingest",
            "engine": args.engine,
            "mails": args.mails,
            "mails_per_s": intake["per_s"],
            "ceiling_per_s": ceiling["per_s"],
            "ratio": round(intake["per_s"] / ceiling["per_s"], 3),
            "seconds": intake["seconds"],
            "goal": {"mails_per_s": 500, "ratio": 0.6, "django_helpdesk_mails_per_s": 55},
            "database": database.url or f"sqlite {database.data_dir}",
            "instrumented": not args.bare,
            "try_fix": args.try_fix,
            "wired": args.wiring,
            "batch": args.batch,
            "mix": mix,
            "append_s": round(append_s, 1),
            "ceiling": ceiling,
            "intake": intake,
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_after,
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        }
        print(json.dumps(result), flush=True)
        return 0
    finally:
        if database is not None:
            database.close(args.keep)
        if args.keep:
            dovecot.stop()
            log(f"kept: dovecot files in {dovecot.root}")
        else:
            dovecot.cleanup()


if __name__ == "__main__":
    sys.exit(main())
