"""The hub on the in-process bus: numbering, replay, slow sockets, presence expiry (no I/O)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from helpdesk.actors import Actor
from helpdesk.events import Event, InMemoryEventBus
from helpdesk.live import LiveConfig, LiveHub, protocol
from helpdesk.live.hub import LiveClient

ANN = Actor(kind="agent", agent_id=1)
BOB = Actor(kind="agent", agent_id=2)
BACKLOG = 8


@pytest.fixture
async def bus() -> InMemoryEventBus:
    return InMemoryEventBus()


async def _hub(bus: InMemoryEventBus, **config: float) -> LiveHub:
    hub = LiveHub(bus, LiveConfig(**{"client_backlog": BACKLOG, "replay_buffer": 4, **config}))
    await hub.start()
    return hub


@pytest.fixture
async def hub(bus: InMemoryEventBus) -> AsyncIterator[LiveHub]:
    hub = await _hub(bus)
    yield hub
    await hub.stop()


async def _queued(client: LiveClient) -> list[dict]:
    """Everything waiting to be sent to the socket, taken off its queue."""
    return [json.loads(await client.next_message()) for _ in range(BACKLOG - client.room)]


async def _publish(bus: InMemoryEventBus, *ids: int) -> None:
    await bus.publish([Event("ticket", "updated", ticket_id, version=2) for ticket_id in ids])


async def test_a_connecting_socket_gets_a_welcome_then_live_events_numbered_in_order(bus, hub) -> None:
    await _publish(bus, 1)
    client = hub.connect(ANN, None)
    await _publish(bus, 2, 3)
    welcome, *events = await _queued(client)
    assert welcome == {"type": "welcome", "epoch": hub.epoch, "seq": 1, "agent_id": 1,
                       "heartbeat_seconds": hub.config.heartbeat_seconds}
    assert [(m["seq"], m["event"]["id"], m["event"]["version"]) for m in events] == [(2, 2, 2), (3, 3, 2)]


async def test_resuming_replays_exactly_what_came_after_since(bus, hub) -> None:
    await _publish(bus, 1, 2, 3)
    client = hub.connect(ANN, protocol.Resume(hub.epoch, 1))
    await _publish(bus, 4)
    assert [m["seq"] for m in (await _queued(client))[1:]] == [2, 3, 4]


async def test_resuming_from_too_far_back_asks_for_a_resync(bus, hub) -> None:
    await _publish(bus, 1, 2, 3, 4, 5, 6)  # the buffer keeps 4
    client = hub.connect(ANN, protocol.Resume(hub.epoch, 1))
    assert (await _queued(client))[1] == {"type": "resync", "epoch": hub.epoch, "seq": 6}


async def test_a_socket_whose_backlog_overflows_is_stopped_and_others_are_not(bus, hub) -> None:
    slow, fast = hub.connect(ANN, None), hub.connect(BOB, None)
    for batch in range(3):
        await _publish(bus, *range(batch * 3, batch * 3 + 3))
        await _queued(fast)
    assert slow.stopped.is_set() and slow.close_code == protocol.CLOSE_TOO_SLOW
    assert not fast.stopped.is_set()


async def test_an_agent_event_asks_that_agents_sockets_to_recheck_their_session(bus, hub) -> None:
    ann, bob = hub.connect(ANN, None), hub.connect(BOB, None)
    await bus.publish([Event("agent", "updated", ANN.agent_id)])
    assert ann.recheck_requested.is_set() and not bob.recheck_requested.is_set()


async def test_a_lost_stream_tells_every_socket_to_resync_in_a_new_epoch(bus, hub) -> None:
    client = hub.connect(ANN, None)
    old_epoch = hub.epoch
    hub.restart_stream()
    assert (await _queued(client))[1] == {"type": "resync", "epoch": hub.epoch, "seq": 0}
    assert hub.epoch != old_epoch


async def test_presence_of_a_vanished_instance_expires(bus) -> None:
    hub = await _hub(bus, presence_refresh_seconds=0.05, presence_ttl_seconds=0.2)
    try:
        watcher = hub.connect(ANN, None)
        # Another instance's socket announced itself once, then that instance died.
        await bus.publish([Event("presence_signal", "viewing", 9, data={"agent_id": 3, "connection": "gone:1"})])
        viewer = hub.connect(BOB, None)
        await hub.set_presence(viewer, 9, "replying")  # this one is re-announced by its own instance
        await asyncio.sleep(0.5)
        presence = [m["event"]["data"]["agents"] for m in await _queued(watcher) if m["type"] == "event"]
        assert presence == [
            [{"agent_id": 3, "state": "viewing"}],
            [{"agent_id": 2, "state": "replying"}, {"agent_id": 3, "state": "viewing"}],
            [{"agent_id": 2, "state": "replying"}],  # agent 3 expired; agent 2 stayed, refreshed
        ]
        await hub.disconnect(viewer)
        assert (await _queued(watcher))[-1]["event"]["data"]["agents"] == []
    finally:
        await hub.stop()


async def test_a_connecting_socket_learns_who_is_on_which_ticket_at_once(bus, hub) -> None:
    viewer = hub.connect(BOB, None)
    await hub.set_presence(viewer, 7, "replying")
    await hub.set_presence(viewer, 3, "viewing")
    newcomer = hub.connect(ANN, None)
    welcome, board = await _queued(newcomer)
    assert welcome["type"] == "welcome"
    assert board == {"type": "presence_board", "tickets": [
        {"ticket_id": 3, "agents": [{"agent_id": 2, "state": "viewing"}]},
        {"ticket_id": 7, "agents": [{"agent_id": 2, "state": "replying"}]},
    ]}


async def test_the_presence_board_follows_a_replay_so_the_replay_cannot_undo_it(bus, hub) -> None:
    viewer = hub.connect(BOB, None)
    await hub.set_presence(viewer, 5, "viewing")
    await hub.set_presence(viewer, 5, "replying")
    resumed = hub.connect(ANN, protocol.Resume(hub.epoch, 0))
    messages = await _queued(resumed)
    assert [m["type"] for m in messages] == ["welcome", "event", "event", "presence_board"]
    assert messages[-1]["tickets"] == [{"ticket_id": 5, "agents": [{"agent_id": 2, "state": "replying"}]}]
