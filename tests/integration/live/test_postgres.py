"""On PostgreSQL every process feeds the same stream: writes from another process or another
app instance reach sockets here, and so does presence."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from helpdesk.live.postgres import APPLICATION_NAME
from tests.integration.live.support import LiveServer, create_ticket, is_event, log_in, receive, receive_until
from tests.support import database
from tests.support.postgres import free_port

pytestmark = pytest.mark.skipif(
    database.ENGINE != "postgres", reason="LISTEN/NOTIFY needs PostgreSQL; the embedded SQLite default is a single process"
)

HELPDESK = os.path.join(os.path.dirname(sys.executable), "helpdesk")

# What `helpdesk worker` (or any command) does to be heard: write through a service with the
# LISTEN/NOTIFY bus installed.
WRITER = textwrap.dedent("""
    import asyncio, sys
    from datetime import datetime, timezone
    from helpdesk import db
    from helpdesk.actors import SYSTEM
    from helpdesk.live import postgres_bus
    from helpdesk.settings import Settings
    from helpdesk.tickets import service
    from helpdesk.tickets.schemas import TicketUpdate

    async def main(url, ticket_id, version):
        engine = db.configure(Settings(database_url=url))
        await db.start(engine)
        try:
            async with postgres_bus(url):
                update = TicketUpdate(version=version, priority="urgent")
                await service.update_ticket(SYSTEM, ticket_id, update, now=datetime.now(timezone.utc))
        finally:
            await db.stop(engine)

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
""")


def _env(test_database: database.TestDatabase, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    env.update(HELPDESK_DATABASE_URL=test_database.database_url or "", HELPDESK_DATA_DIR=str(data_dir), **extra)
    return env


async def test_a_write_in_another_process_reaches_the_socket(
    live: LiveServer, test_database: database.TestDatabase, clock, tmp_path: Path
) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        ticket = await create_ticket(agent, "Updated elsewhere")
        async with agent.socket() as socket:
            await receive(socket)
            writer = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WRITER, test_database.database_url, str(ticket["id"]), "1",
                env=_env(test_database, tmp_path), stderr=subprocess.PIPE)
            _, stderr = await writer.communicate()
            assert writer.returncode == 0, stderr.decode()
            updated = (await receive_until(socket, is_event("ticket", "updated", ticket["id"])))[-1]
        assert updated["event"]["version"] == 2 and updated["seq"] > 0
        assert (await agent.get(f"/api/tickets/{ticket['id']}"))["ticket"]["priority"] == "urgent"
    finally:
        await agent.aclose()


@pytest.fixture
async def second_instance(live: LiveServer, test_database: database.TestDatabase, tmp_path: Path) -> AsyncIterator[str]:
    """`helpdesk serve` in its own process on the same database: another app instance."""
    port = free_port()
    env = _env(test_database, tmp_path, HELPDESK_PORT=str(port), HELPDESK_BACKGROUND_TASKS="false",
               HELPDESK_LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(HELPDESK, "serve", env=env, stdout=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=1) as http:
            for _ in range(300):
                assert process.returncode is None, "helpdesk serve exited"
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("helpdesk serve did not answer /healthz")
        yield base_url
    finally:
        process.terminate()
        await process.wait()


async def test_two_instances_share_events_and_presence(live: LiveServer, second_instance: str, clock) -> None:
    here = await log_in(live.base_url, "ann@example.com", now=clock.now())
    there = await log_in(second_instance, "bob@example.com", now=clock.now())
    try:
        async with here.socket() as anns, there.socket() as bobs:
            await receive(anns)
            await receive(bobs)
            # A write through the other instance reaches the socket on this one …
            ticket = await create_ticket(there, "Made on instance two")
            created = (await receive_until(anns, is_event("ticket", "created", ticket["id"])))[-1]
            assert created["event"]["version"] == 1
            # … and so does presence, both ways.
            await bobs.send(json.dumps({"type": "viewing", "ticket_id": ticket["id"]}))
            seen = (await receive_until(anns, is_event("presence", "changed", ticket["id"])))[-1]
            assert seen["event"]["data"]["agents"] == [{"agent_id": there.agent_id, "state": "viewing"}]
            await anns.send(json.dumps({"type": "replying", "ticket_id": ticket["id"]}))
            heard = (await receive_until(bobs, lambda m: is_event("presence", "changed", ticket["id"])(m)
                                         and len(m["event"]["data"]["agents"]) == 2))[-1]
            assert {"agent_id": here.agent_id, "state": "replying"} in heard["event"]["data"]["agents"]
    finally:
        await here.aclose()
        await there.aclose()


async def test_after_losing_its_listen_connection_the_server_asks_sockets_to_resync(
    live: LiveServer, test_database: database.TestDatabase, clock
) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            old_epoch = (await receive(socket))["epoch"]
            admin = await asyncpg.connect(test_database.database_url)
            try:
                terminated = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                    APPLICATION_NAME)
            finally:
                await admin.close()
            assert terminated == 1
            resync = (await receive_until(socket, lambda m: m["type"] == "resync"))[-1]
            assert resync["epoch"] != old_epoch and resync["seq"] == 0
            # The stream goes on in the new epoch.
            account = (await agent.write("POST", "/api/accounts", {"name": "After the gap"})).json()
            assert (await receive_until(socket, is_event("account", "created", account["id"])))[-1]["seq"] == 1
    finally:
        await agent.aclose()
