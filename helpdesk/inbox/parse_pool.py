"""Parsing fetched mail in worker processes, so that it overlaps the database work of the batch before.

The stdlib parser is pure Python and holds the GIL, so threads cannot run it beside the event
loop; processes can. One pool per process, shared by its mailbox pollers, one worker per core.
Workers are forked, so they start in milliseconds with the parser already imported (spawned ones
would import the whole entry point first, for seconds on a busy machine); they send back the
parsed mail or the parse error. A pool that breaks (a worker killed, say by the out-of-memory
killer) is replaced and its batch parsed in a thread instead, so a bad mail cannot stop intake.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from helpdesk.inbox.parse import ParsedMail, parse_message

logger = logging.getLogger(__name__)

# Mails per task sent to a worker: fewer round trips, yet a batch of 100 still spreads over the workers.
CHUNK = 10

PARSER_NICENESS = 19

ParseOutcome = tuple[ParsedMail | None, str | None]


def parse_outcome(raw: bytes) -> ParseOutcome:
    """(parsed mail, None), or (None, why parsing failed): a parser bug must not lose the mail."""
    try:
        return parse_message(raw), None
    except Exception as error:  # boundary: the raw bytes are stored whatever happens here
        return None, f"parse failed: {type(error).__name__}: {error}"


def _parse_chunk(raws: list[bytes]) -> list[ParseOutcome]:
    return [parse_outcome(raw) for raw in raws]


def _start_worker(parent_pid: int) -> None:
    """In each worker: drop the parent's signal handling, and exit once the parent is gone."""
    signal.set_wakeup_fd(-1)  # else a signal here would wake the parent's event loop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Parsing runs a batch ahead and has that batch's database work as slack; the database round
    # trips beside it wait on every wake-up. So the parser yields the CPU: at full priority its
    # bursts made each statement wait for a core and halved PostgreSQL intake on 2 busy cores.
    os.nice(PARSER_NICENESS)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    # A parent killed with SIGKILL cannot stop its pool, and forked workers hold the pipe they wait
    # on open themselves, so they would wait for work forever.
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)


def default_workers() -> int:
    """One per core; none (parse in a thread) on a single core, where a pool only adds copying."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores > 1 else 0


class ParsePool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                                     initializer=_start_worker, initargs=(os.getpid(),))
            return self._executor

    async def parse(self, raws: list[bytes]) -> list[ParseOutcome]:
        if not self.workers or len(raws) <= 1:
            return await asyncio.to_thread(_parse_chunk, raws)
        loop = asyncio.get_running_loop()
        pool = self._pool()
        try:
            chunks = await asyncio.gather(*(
                loop.run_in_executor(pool, _parse_chunk, raws[start:start + CHUNK])
                for start in range(0, len(raws), CHUNK)
            ))
        except BrokenProcessPool:
            logger.warning("a mail parsing process died; parsing this batch in a thread and starting new processes")
            self._discard(pool)
            return await asyncio.to_thread(_parse_chunk, raws)
        return [outcome for chunk in chunks for outcome in chunk]

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is pool:
                self._executor = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._executor = self._executor, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_shared: ParsePool | None = None


def shared_pool() -> ParsePool:
    """The process's pool, started on first use."""
    global _shared
    if _shared is None:
        _shared = ParsePool(default_workers())
    return _shared
