"""Sockets end when their session does, and a client that stops reading is dropped, not waited for."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket as stdlib_socket
from datetime import timedelta

import pytest
from websockets.exceptions import ConnectionClosed

from helpdesk import events
from tests.integration.live.support import LiveServer, is_event, log_in, receive, receive_until, wait_until

# Time a socket may stay open after its session ended: the session re-check interval plus slack.
SESSION_END_S = 3.0


async def _closed_with(socket, *, within: float) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await receive_until(socket, lambda _message: False, timeout=within)
    return closed.value.rcvd.code


async def test_logging_out_closes_the_socket_within_seconds(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            await receive(socket)
            await agent.write("POST", "/api/auth/logout")
            assert await _closed_with(socket, within=SESSION_END_S) == 4401
    finally:
        await agent.aclose()


async def test_deactivating_an_agent_closes_their_sockets(live: LiveServer, clock) -> None:
    admin = await log_in(live.base_url, "boss@example.com", role="admin", now=clock.now())
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as first_tab, agent.socket() as second_tab, admin.socket() as admins:
            for tab in (first_tab, second_tab, admins):
                await receive(tab)
            await admin.write("PATCH", f"/api/agents/{agent.agent_id}", {"active": False})
            assert await _closed_with(first_tab, within=SESSION_END_S) == 4401
            assert await _closed_with(second_tab, within=SESSION_END_S) == 4401
            # The admin's socket lives on and heard about the change.
            await receive_until(admins, is_event("agent", "updated", agent.agent_id))
    finally:
        await agent.aclose()
        await admin.aclose()


async def test_an_expired_session_closes_the_socket(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            await receive(socket)
            clock.advance(timedelta(hours=live.app.state.settings.auth.session_ttl_hours, minutes=1))
            assert await _closed_with(socket, within=SESSION_END_S) == 4401
    finally:
        await agent.aclose()


def _jammable_socket(port: int) -> stdlib_socket.socket:
    """A TCP connection that buffers little, so a client that stops reading jams quickly."""
    raw = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
    raw.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    raw.setblocking(False)
    return raw


async def test_a_client_that_stops_reading_is_dropped_without_holding_up_the_others(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    read: list[dict] = []

    async def read_everything(socket) -> None:
        while True:
            read.append(json.loads(await socket.recv()))

    try:
        async with (
            agent.socket() as reader,
            # Never reads: websockets stops taking frames off the wire once one is waiting.
            agent.socket(sock=_jammable_socket(live.port), max_queue=1, compression=None) as stalled,
        ):
            await receive(reader)
            reading = asyncio.create_task(read_everything(reader))
            await live.wait_for_connections(2)
            # Noise straight through the bus (what a unit of work does after its commit), random so
            # compression cannot shrink it: several megabytes, more than the kernel buffers hold.
            for batch in range(60):
                await events.get_bus().publish(
                    [events.Event("noise", "sent", batch * 20 + n, data={"pad": secrets.token_hex(3000)})
                     for n in range(20)])
                if live.hub.connection_count == 1:
                    break
                await asyncio.sleep(0)
            await live.wait_for_connections(1)  # the stalled socket was dropped …

            # … while the reader got everything so far, and still gets new events at once.
            assert len(read) > live.hub.config.client_backlog
            account = (await agent.write("POST", "/api/accounts", {"name": "Still Flowing"})).json()
            await wait_until(lambda: any(map(is_event("account", "created", account["id"]), read)),
                             what="the reader to hear about the account", timeout=2)
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

            # The stalled client, once it reads again, finds the close code after its backlog.
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(stalled.recv(), 5)
            assert closed.value.rcvd.code == 4408
    finally:
        await agent.aclose()
