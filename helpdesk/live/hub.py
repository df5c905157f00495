"""The fan-out inside one app instance: numbers events, keeps them for replay, queues them per socket.

Nothing here awaits while handing out an event, so a socket that connects sees every event
exactly once: either in its replay or live. A socket whose queue is full is told to close;
the hub never waits for a slow client.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from helpdesk.actors import Actor
from helpdesk.events import Event, EventBus
from helpdesk.live import protocol
from helpdesk.live.config import LiveConfig
from helpdesk.live.presence import PresenceBoard
from helpdesk.live.stream import EventStream
from helpdesk.live.visibility import may_receive

logger = logging.getLogger(__name__)

# What a socket's presence change travels as on the bus, so every instance hears it; sockets
# receive the resulting "presence" event with the full list of who is on the ticket.
PRESENCE_SIGNAL = "presence_signal"

# Credentials that just ended, and the Actor field naming them: sockets using one re-check at once
# instead of at the next periodic check. Internal signals, not sent to browsers.
CREDENTIAL_ENDED = {("session", "ended"): "session_id", ("api_token", "revoked"): "token_id"}


@dataclass(frozen=True)
class _Numbered:
    event: Event
    text: str  # encoded once, sent to every socket that may see it


class LiveClient:
    """One socket as the hub sees it: who is behind it, what waits to be sent, why it must close."""

    def __init__(self, key: str, actor: Actor, backlog: int) -> None:
        self.key = key
        self.actor = actor
        self.presence: dict[int, str] = {}  # ticket id → viewing/replying, as this socket announced
        self.close_code: int | None = None
        self.close_reason = ""
        self.stopped = asyncio.Event()
        self.recheck_requested = asyncio.Event()
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=backlog)

    def offer(self, text: str) -> None:
        if self.stopped.is_set():
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.stop(protocol.CLOSE_TOO_SLOW, "too slow: reconnect and resume with since")

    async def next_message(self) -> str:
        return await self._outbox.get()

    @property
    def room(self) -> int:
        return self._outbox.maxsize - self._outbox.qsize()

    def stop(self, code: int, reason: str) -> None:
        if not self.stopped.is_set():
            self.close_code, self.close_reason = code, reason
            self.stopped.set()


class LiveHub:
    def __init__(self, bus: EventBus, config: LiveConfig) -> None:
        self.config = config
        self._bus = bus
        self._stream: EventStream[_Numbered] = EventStream(config.replay_buffer)
        self._clients: dict[str, LiveClient] = {}
        self._board = PresenceBoard()
        self._connection_numbers = itertools.count(1)
        self._unsubscribe: Callable[[], None] | None = None
        self._upkeep: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._unsubscribe = self._bus.subscribe(self._on_event)
        self._upkeep = asyncio.create_task(self._keep_presence_fresh(), name="live presence upkeep")

    async def stop(self) -> None:
        if self._upkeep:
            self._upkeep.cancel()
            await asyncio.gather(self._upkeep, return_exceptions=True)
        for client in list(self._clients.values()):
            client.stop(protocol.CLOSE_SERVER_RESTART, "server restarting")
            await self.disconnect(client)
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None

    @property
    def connection_count(self) -> int:
        return len(self._clients)

    @property
    def epoch(self) -> str:
        return self._stream.epoch

    # ------------------------------------------------------------ sockets

    def connect(self, actor: Actor, resume: protocol.Resume | None) -> LiveClient:
        """Register a socket: it gets a welcome, then what it missed (or a resync), then who is on which
        ticket (when anyone is), then live events."""
        stream = self._stream
        client = LiveClient(f"{stream.epoch}:{next(self._connection_numbers)}", actor, self.config.client_backlog)
        client.offer(protocol.welcome(epoch=stream.epoch, seq=stream.head, agent_id=actor.agent_id,
                                      heartbeat_seconds=self.config.heartbeat_seconds))
        if resume is not None:
            missed = stream.after(resume.epoch, resume.since)
            visible = [n.text for n in missed if may_receive(actor, n.event)] if missed is not None else None
            if visible is None or len(visible) >= client.room:
                client.offer(protocol.resync(epoch=stream.epoch, seq=stream.head))
            else:
                for text in visible:
                    client.offer(text)
        # After any replay, so older presence events replayed above cannot overwrite it.
        board = self._board.everyone()
        if board:
            client.offer(protocol.presence_board(board))
        self._clients[client.key] = client
        return client

    async def disconnect(self, client: LiveClient) -> None:
        """Forget a socket, and tell every instance it is no longer on its tickets."""
        if self._clients.pop(client.key, None) is None:
            return
        left = [self._presence_signal(client, ticket_id, None) for ticket_id in client.presence]
        client.presence.clear()
        if left:
            await self._bus.publish(left)

    async def set_presence(self, client: LiveClient, ticket_id: int, state: str | None) -> None:
        if state is None:
            if client.presence.pop(ticket_id, None) is None:
                return
        else:
            if ticket_id not in client.presence and len(client.presence) >= self.config.max_presence_per_socket:
                client.offer(protocol.error(f"at most {self.config.max_presence_per_socket} tickets at once"))
                return
            client.presence[ticket_id] = state
            # Who was already there; later changes arrive as presence events.
            client.offer(protocol.presence_snapshot(ticket_id, self._board.on_ticket(ticket_id)))
        await self._bus.publish([self._presence_signal(client, ticket_id, state)])

    def restart_stream(self) -> None:
        """Events may have been missed (the bus lost its connection): every socket must refetch."""
        self._stream.restart()
        logger.warning("live stream restarted as epoch %s; %d sockets told to resync", self._stream.epoch,
                       len(self._clients))
        message = protocol.resync(epoch=self._stream.epoch, seq=0)
        for client in list(self._clients.values()):
            client.offer(message)

    # ------------------------------------------------------------ events from the bus

    async def _on_event(self, event: Event) -> None:
        if event.type == PRESENCE_SIGNAL:
            self._apply_presence(event)
            return
        credential = CREDENTIAL_ENDED.get((event.type, event.op))
        if credential is not None:
            self._request_recheck(lambda actor: getattr(actor, credential) == event.id)
            return
        if event.type == "agent":
            # A deactivated agent must lose its sockets now, not at the next periodic check.
            self._request_recheck(lambda actor: actor.agent_id == event.id)
        self._deliver(event)

    def _request_recheck(self, affected: Callable[[Actor], bool]) -> None:
        for client in self._clients.values():
            if affected(client.actor):
                client.recheck_requested.set()

    def _deliver(self, event: Event) -> None:
        numbered = self._stream.append(lambda seq: _Numbered(event, protocol.event(seq, event)))
        for client in list(self._clients.values()):
            if may_receive(client.actor, event):
                client.offer(numbered.text)

    # ------------------------------------------------------------ presence

    @staticmethod
    def _presence_signal(client: LiveClient, ticket_id: int, state: str | None) -> Event:
        return Event(PRESENCE_SIGNAL, state or "left", ticket_id,
                     data={"agent_id": client.actor.agent_id, "connection": client.key})

    def _apply_presence(self, signal: Event) -> None:
        state = None if signal.op == "left" else signal.op
        changed = self._board.apply(signal.id, signal.data["connection"], signal.data["agent_id"], state,
                                    now=time.monotonic())
        if changed:
            self._deliver_presence(signal.id)

    def _deliver_presence(self, ticket_id: int) -> None:
        self._deliver(Event("presence", "changed", ticket_id, data={"agents": self._board.on_ticket(ticket_id)}))

    async def _keep_presence_fresh(self) -> None:
        while True:
            await asyncio.sleep(self.config.presence_refresh_seconds)
            try:
                await self._refresh_presence()
            except asyncio.CancelledError:
                raise
            except Exception:  # boundary: one failed round must not end presence upkeep for good
                logger.exception("presence upkeep failed")

    async def _refresh_presence(self) -> None:
        announcements = [
            self._presence_signal(client, ticket_id, state)
            for client in list(self._clients.values())
            for ticket_id, state in client.presence.items()
        ]
        if announcements:
            await self._bus.publish(announcements)
        for ticket_id in self._board.expire(seen_before=time.monotonic() - self.config.presence_ttl_seconds):
            self._deliver_presence(ticket_id)
