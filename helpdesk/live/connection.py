"""One accepted socket, from registration with the hub until it closes (no framework here).

Four jobs run side by side: send what the hub queued, read what the client says, keep the
heartbeat and the session check going, and wait for the hub to stop the socket. The first
to end ends the connection. This is the connection boundary, so unexpected errors stop here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from helpdesk.actors import Actor
from helpdesk.live import protocol
from helpdesk.live.hub import LiveClient, LiveHub

logger = logging.getLogger(__name__)


class PeerGone(Exception):
    """The client closed the socket or the connection dropped."""


class LiveSocket(Protocol):
    async def send(self, text: str) -> None: ...  # raises PeerGone

    async def receive(self) -> str: ...  # raises PeerGone

    async def close(self, code: int, reason: str) -> None: ...


Reauthenticate = Callable[[], Awaitable[Actor | None]]


async def serve(
    socket: LiveSocket, hub: LiveHub, actor: Actor, resume: protocol.Resume | None, reauthenticate: Reauthenticate
) -> None:
    """Run an accepted, authenticated socket until the client leaves or the server closes it."""
    client = hub.connect(actor, resume)
    jobs = [
        asyncio.create_task(_send_queued(socket, client)),
        asyncio.create_task(_follow_client(socket, hub, client)),
        asyncio.create_task(_keep_alive_and_authorised(client, hub, reauthenticate)),
        asyncio.create_task(client.stopped.wait()),
    ]
    try:
        done, _ = await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await hub.disconnect(client)

    failures = [job.exception() for job in done if not job.cancelled() and job.exception() is not None]
    if any(isinstance(failure, PeerGone) for failure in failures):
        return
    if failures:
        logger.error("live socket %s failed", client.key, exc_info=failures[0])
        client.stop(protocol.CLOSE_INTERNAL_ERROR, "internal error")
    await _close(socket, client, hub.config.close_timeout_seconds)


async def _close(socket: LiveSocket, client: LiveClient, timeout: float) -> None:
    code = client.close_code or protocol.CLOSE_INTERNAL_ERROR
    logger.info("closing live socket %s of agent %s: %s %s", client.key, client.actor.agent_id, code,
                client.close_reason)
    try:
        # A jammed client (the reason for CLOSE_TOO_SLOW) may never take the close frame; give up then.
        await asyncio.wait_for(socket.close(code, client.close_reason), timeout)
    except (TimeoutError, PeerGone):
        pass


async def _send_queued(socket: LiveSocket, client: LiveClient) -> None:
    while True:
        await socket.send(await client.next_message())


async def _follow_client(socket: LiveSocket, hub: LiveHub, client: LiveClient) -> None:
    while True:
        text = await socket.receive()
        try:
            message = protocol.parse_client_message(text)
        except protocol.ProtocolError as error:
            client.offer(protocol.error(error.detail))
            continue
        if isinstance(message, protocol.PresenceChange):
            await hub.set_presence(client, message.ticket_id, message.state)


async def _keep_alive_and_authorised(client: LiveClient, hub: LiveHub, reauthenticate: Reauthenticate) -> None:
    """Ping on schedule; re-read the session periodically and whenever the hub asks (agent changed)."""
    config = hub.config
    next_ping = time.monotonic() + config.heartbeat_seconds
    next_check = time.monotonic() + config.auth_recheck_seconds
    while True:
        wait = max(0.0, min(next_ping, next_check) - time.monotonic())
        try:
            await asyncio.wait_for(client.recheck_requested.wait(), wait)
        except TimeoutError:
            pass
        now = time.monotonic()
        if client.recheck_requested.is_set() or now >= next_check:
            client.recheck_requested.clear()
            actor = await reauthenticate()
            if actor is None:
                client.stop(protocol.CLOSE_NOT_AUTHENTICATED, "the session has ended; log in again")
                return
            client.actor = actor  # role and teams may have changed; visibility uses the fresh ones
            next_check = now + config.auth_recheck_seconds
        if now >= next_ping:
            client.offer(protocol.PING)
            next_ping = now + config.heartbeat_seconds
