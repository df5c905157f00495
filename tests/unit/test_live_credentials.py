"""A logout or a revoked token reaches the hub as an event: only the sockets using that credential
re-check at once, and the signal itself is not sent to browsers (no I/O)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from helpdesk.actors import Actor
from helpdesk.events import Event, InMemoryEventBus
from helpdesk.live import LiveConfig, LiveHub
from helpdesk.live.hub import LiveClient

SESSION_A = Actor(kind="agent", agent_id=1, session_id=10)
SESSION_B = Actor(kind="agent", agent_id=1, session_id=11)  # the same agent in another browser
TOKEN = Actor(kind="token", agent_id=2, token_id=20)
BACKLOG = 8


@pytest.fixture
async def bus() -> InMemoryEventBus:
    return InMemoryEventBus()


@pytest.fixture
async def hub(bus: InMemoryEventBus) -> AsyncIterator[LiveHub]:
    hub = LiveHub(bus, LiveConfig(client_backlog=BACKLOG))
    await hub.start()
    yield hub
    await hub.stop()


async def _types_queued(client: LiveClient) -> list[str]:
    """The types of everything waiting to be sent to the socket, taken off its queue."""
    return [json.loads(await client.next_message())["type"] for _ in range(BACKLOG - client.room)]


async def test_a_logout_makes_only_that_sessions_sockets_recheck(bus: InMemoryEventBus, hub: LiveHub) -> None:
    ended, other, token = (hub.connect(actor, None) for actor in (SESSION_A, SESSION_B, TOKEN))
    await bus.publish([Event("session", "ended", 10)])
    assert [c.recheck_requested.is_set() for c in (ended, other, token)] == [True, False, False]
    assert [await _types_queued(c) for c in (ended, other, token)] == [["welcome"]] * 3


async def test_a_revoked_token_makes_only_its_sockets_recheck(bus: InMemoryEventBus, hub: LiveHub) -> None:
    session, token = hub.connect(SESSION_A, None), hub.connect(TOKEN, None)
    await bus.publish([Event("api_token", "revoked", 20)])
    assert [session.recheck_requested.is_set(), token.recheck_requested.is_set()] == [False, True]
    assert await _types_queued(token) == ["welcome"]


async def test_an_agent_change_rechecks_every_socket_of_that_agent_and_is_delivered(
    bus: InMemoryEventBus, hub: LiveHub
) -> None:
    first, second, token = (hub.connect(actor, None) for actor in (SESSION_A, SESSION_B, TOKEN))
    await bus.publish([Event("agent", "updated", 1)])
    assert [c.recheck_requested.is_set() for c in (first, second, token)] == [True, True, False]
    assert await _types_queued(token) == ["welcome", "event"]
