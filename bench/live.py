"""Live updates at scale: N browser-like websockets on /ws, commit-to-receive latency and RSS per socket.

    .venv/bin/python bench/live.py --clients 1000 --engine sqlite
    .venv/bin/python bench/live.py --clients 1000 --engine postgres   # HELPDESK_DATABASE_URL or a private cluster

Runs the product as it runs in production: ``helpdesk migrate``, ``helpdesk create-admin``, then
``helpdesk serve`` as its own process on a free loopback port (background workers off, so only
the live path is measured). Logs in over ``/api/auth/login`` like the agent app and opens N
sockets at ``/ws`` with the session cookie and the app's own Origin (what a browser tab sends),
offering permessage-deflate as browsers do. They are tabs of one agent's session; the server's
per-socket work (heartbeats, periodic session re-checks) is the same as for N different agents.

Idle cost: the server's CPU time over ``--idle`` seconds with every socket open and quiet
(heartbeats and the periodic session re-check).

Memory: the server's VmRSS (``/proc/<pid>/status``) after a warm-up, then after all N sockets
said welcome; the difference scaled to 1,000 sockets.

Latency: ``--updates`` times, one ticket is changed through ``PATCH /api/tickets/{id}``. The clock
starts when the request is sent (so the figure includes the request's own work up to its commit,
an upper bound on commit-to-receive) and stops when each socket has decoded the matching
``ticket``/``updated`` event with the new version. ``api_p50_ms`` is the request's own time and
``fanout_p99_ms`` the time from the first socket's receipt to each other socket's, i.e. the
fan-out without the request (the response itself is written after the fan-out's sends, which
are queued first). The sockets live in ``--client-processes`` child processes (default 1),
which report receipt times on CLOCK_MONOTONIC; a socket still waits for its process to read the
sockets before it, so the fan-out figure includes client time, and ``server_cpu_ms_per_update`` /
``client_cpu_ms_per_update`` show which side does the work.
Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api import BenchDatabase, free_port, loadavg, log, stop_server, wait_until_serving  # noqa: E402

EMAIL = "bench-live@helpdesk.example"
PASSWORD = "bench-live-password"
# Handshakes in flight at once over all client processes: keeps the listen backlog from overflowing,
# and the same for any --client-processes, since on SQLite concurrent handshakes (each authenticating
# on its own database connection and thread) leave memory behind in the server.
CONNECT_BATCH = 100
EVENT_TIMEOUT_S = 30.0


def now() -> float:
    """CLOCK_MONOTONIC: one clock for every process on the machine, so client processes' receipts
    compare with the parent's send times."""
    return time.monotonic()


# ---------------------------------------------------------------- the server process


def helpdesk(*args: str, env: dict[str, str], **popen: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "helpdesk", *args], env=env, cwd=str(ROOT), **popen)


def prepare(env: dict[str, str]) -> None:
    """Schema and the agent the sockets log in as, through the product's own commands."""
    for args in (("migrate",), ("create-admin", "--email", EMAIL, "--password", PASSWORD, "--name", "Bench")):
        process = helpdesk(*args, env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr)
        if process.wait() != 0:
            raise RuntimeError(f"helpdesk {args[0]} exited with {process.returncode}")


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = helpdesk("serve", env={**env, "HELPDESK_PORT": str(port)}, stdout=sys.stderr, stderr=sys.stderr)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, base)
    return process, base


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_fd_limit(needed: int) -> None:
    """Each socket is a file descriptor here (and in the server, which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            log(f"warning: open files limited to {target}; fewer sockets than asked may connect")


# ---------------------------------------------------------------- the clients


@dataclass
class Arrivals:
    """When each socket decoded the update carrying each ticket version."""

    clients: int
    received: dict[int, list[float]] = field(default_factory=dict)  # version → receive times
    complete: dict[int, asyncio.Event] = field(default_factory=dict)
    unexpected_closes: int = 0

    def expect(self, version: int) -> asyncio.Event:
        self.received.setdefault(version, [])
        return self.complete.setdefault(version, asyncio.Event())

    def record(self, version: int, at: float) -> None:
        times = self.received.setdefault(version, [])
        times.append(at)
        if len(times) == self.clients:
            self.expect(version).set()


async def follow(socket, ticket_id: int, arrivals: Arrivals) -> None:
    """Read one socket until it closes, stamping each update of the bench's ticket on arrival."""
    from websockets.exceptions import ConnectionClosed

    try:
        async for text in socket:
            at = now()
            message = json.loads(text)
            if message["type"] != "event":
                continue
            event = message["event"]
            if event["type"] == "ticket" and event["op"] == "updated" and event["id"] == ticket_id:
                arrivals.record(event["version"], at)
    except ConnectionClosed:
        pass
    if socket.close_code not in (1000, 1001):
        arrivals.unexpected_closes += 1


async def open_sockets(base: str, cookie: str, count: int, *, batch: int = CONNECT_BATCH, report: bool = True) -> list:
    """Open ``count`` sockets as browser tabs of the logged-in agent; each has said welcome."""
    from websockets.asyncio.client import connect

    from helpdesk.auth.middleware import SESSION_COOKIE

    url = base.replace("http://", "ws://") + "/ws"

    async def one() -> Any:
        socket = await connect(url, origin=base, additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
                               proxy=None, open_timeout=60, ping_interval=None, max_queue=None)
        welcome = json.loads(await socket.recv())
        if welcome["type"] != "welcome":
            raise RuntimeError(f"expected welcome, got {welcome}")
        return socket

    sockets: list = []
    for start in range(0, count, batch):
        sockets += await asyncio.gather(*(one() for _ in range(min(batch, count - start))))
        if report and (len(sockets) % 500 == 0 or len(sockets) == count):
            log(f"  {len(sockets)} sockets open")
    return sockets


def client_process(pipe, base: str, cookie: str, count: int, ticket_id: int, batch: int) -> None:
    """A child process holding ``count`` sockets, reading them on its own share of the CPU as
    separate browsers would. Answers ("expect", version) with that version's receipt times."""
    asyncio.run(_serve_parent(pipe, base, cookie, count, ticket_id, batch))


async def _serve_parent(pipe, base: str, cookie: str, count: int, ticket_id: int, batch: int) -> None:
    loop = asyncio.get_running_loop()
    sockets = await open_sockets(base, cookie, count, batch=batch, report=False)
    pipe.send(("open",))
    arrivals = Arrivals(count)
    readers = [asyncio.create_task(follow(socket, ticket_id, arrivals)) for socket in sockets]
    while True:
        command, *args = await loop.run_in_executor(None, pipe.recv)
        if command == "expect":
            [version] = args
            try:
                await asyncio.wait_for(arrivals.expect(version).wait(), EVENT_TIMEOUT_S)
            except TimeoutError:
                pass
            pipe.send(("arrived", arrivals.received[version]))
        elif command == "close":
            for socket in sockets:
                await socket.close()
            await asyncio.gather(*readers)
            pipe.send(("closed", arrivals.unexpected_closes))
            return


class ClientPool:
    """The sockets, spread over client processes (one process reading every socket would make the
    last socket wait for the client itself)."""

    def __init__(self, processes: int) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._count = processes
        self._children: list[tuple[Any, Any]] = []  # (process, pipe)

    async def open(self, base: str, cookie: str, clients: int, ticket_id: int) -> None:
        for index in range(self._count):
            share = clients // self._count + (index < clients % self._count)
            parent_end, child_end = self._context.Pipe()
            batch = max(1, CONNECT_BATCH // self._count)
            process = self._context.Process(target=client_process,
                                            args=(child_end, base, cookie, share, ticket_id, batch))
            process.start()
            self._children.append((process, parent_end))
        await self._ask_all(None)

    async def arrivals(self, version: int) -> list[float]:
        answers = await self._ask_all(("expect", version))
        return [at for _, times in answers for at in times]

    async def close(self) -> int:
        answers = await self._ask_all(("close",))
        for process, _ in self._children:
            process.join(timeout=30)
        return sum(unexpected for _, unexpected in answers)

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(process.pid) for process, _ in self._children)

    async def _ask_all(self, command: tuple | None) -> list[tuple]:
        loop = asyncio.get_running_loop()
        for process, pipe in self._children:
            if command is not None:
                pipe.send(command)
        answers = await asyncio.gather(*(loop.run_in_executor(None, pipe.recv) for _, pipe in self._children))
        return list(answers)


# ---------------------------------------------------------------- the run


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


async def measure(base: str, pid: int, clients: int, updates: int, pause: float, idle_seconds: float,
                  processes: int) -> dict[str, Any]:
    import httpx

    from helpdesk.auth.middleware import SESSION_COOKIE

    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=120) as http:
        login = await http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
        login.raise_for_status()
        csrf = login.json()["csrf_token"]
        cookie = http.cookies[SESSION_COOKIE]
        headers = {"X-CSRF-Token": csrf}
        created = await http.post("/api/tickets", headers=headers, json={
            "subject": "Live bench", "text": "hello", "requester": {"name": "Pat", "email": "pat@customer.example"}})
        created.raise_for_status()
        ticket = created.json()["ticket"]

        async def update(version: int) -> tuple[float, float, int]:
            """Change the ticket; the send time, the response time and the new version."""
            sent = now()
            response = await http.patch(f"/api/tickets/{ticket['id']}", headers=headers,
                                        json={"version": version, "subject": f"Live bench v{version + 1}"})
            answered = now()
            response.raise_for_status()
            return sent, answered, response.json()["version"]

        # Warm-up: one socket and a few updates, so code paths allocated once are not billed per socket.
        warm = await open_sockets(base, cookie, 1)
        version = ticket["version"]
        for _ in range(3):
            version = (await update(version))[2]
        await warm[0].close()
        await asyncio.sleep(1.0)
        rss_before = rss_kib(pid)
        log(f"server RSS before: {rss_before / 1024:.1f} MiB; opening {clients} sockets")

        connect_started = now()
        pool = ClientPool(processes)
        await pool.open(base, cookie, clients, ticket["id"])
        connect_s = now() - connect_started
        await asyncio.sleep(2.0)  # let the server settle what the handshakes allocated
        rss_after = rss_kib(pid)
        log(f"server RSS with {clients} sockets: {rss_after / 1024:.1f} MiB (connected in {connect_s:.1f} s)")
        # What idle sockets cost the server (heartbeats, session re-checks): span a whole re-check period.
        cpu_before, idle_started = cpu_seconds(pid), now()
        await asyncio.sleep(idle_seconds)
        idle_cpu = (cpu_seconds(pid) - cpu_before) / (now() - idle_started)
        log(f"server CPU while idle: {idle_cpu * 100:.0f}% of a core")

        latencies: list[float] = []
        spread: list[float] = []  # after the first socket had it: the fan-out alone, without the request
        api_ms: list[float] = []
        missing = 0
        load_before = loadavg()
        # CPU per update on each side: which of server and client the fan-out waits for.
        server_cpu, client_cpu = cpu_seconds(pid), pool.cpu_seconds()
        for number in range(updates):
            sent, answered, version = await update(version)
            api_ms.append((answered - sent) * 1000)
            times = await pool.arrivals(version)
            missing += clients - len(times)
            latencies += [(at - sent) * 1000 for at in times]
            spread += [(at - min(times)) * 1000 for at in times] if times else []
            if (number + 1) % 10 == 0 or number + 1 == updates:
                log(f"  update {number + 1}/{updates}: last p99 {percentile([(at - sent) * 1000 for at in times], 99):.1f} ms")
            await asyncio.sleep(pause)
        server_cpu_ms = (cpu_seconds(pid) - server_cpu) * 1000 / updates
        client_cpu_ms = (pool.cpu_seconds() - client_cpu) * 1000 / updates
        load_after = loadavg()
        still_open = rss_kib(pid)

        unexpected_closes = await pool.close()

    return {
        "bench": "live",
        "clients": clients,
        "client_processes": processes,
        "updates": updates,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "fanout_p99_ms": round(percentile(spread, 99), 1),
        "api_p50_ms": round(percentile(api_ms, 50), 1),
        "server_cpu_ms_per_update": round(server_cpu_ms, 1),
        "client_cpu_ms_per_update": round(client_cpu_ms, 1),
        "missing": missing,
        "unexpected_closes": unexpected_closes,
        "connect_s": round(connect_s, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
        "rss_after_updates_mib": round(still_open / 1024, 1),
        "rss_mib_per_1000": round((rss_after - rss_before) / 1024 / clients * 1000, 1),
        "idle_server_cpu_pct": round(idle_cpu * 100),
        "load_before": load_before,
        "load_after": load_after,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--updates", type=int, default=50, help="ticket updates timed (each reaches every socket)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between updates")
    parser.add_argument("--idle", type=float, default=65.0, metavar="SECONDS",
                        help="how long to watch the server's CPU with every socket idle (default: one "
                             "session re-check period and some)")
    parser.add_argument("--client-processes", type=int, default=1, metavar="K",
                        help="spread the sockets over K client processes (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir / database afterwards")
    args = parser.parse_args(argv)

    raise_fd_limit(args.clients + 256)
    database = BenchDatabase(args.engine)
    server = None
    try:
        env = database.server_env()
        prepare(env)
        server, base = start_server(env)
        result = asyncio.run(measure(base, server.pid, args.clients, args.updates, args.pause, args.idle,
                                     args.client_processes))
    finally:
        if server is not None:
            stop_server(server)
        database.close(args.keep)
    result = {"bench": "live", "engine": args.engine, **result}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
