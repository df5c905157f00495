"""Committed events through PostgreSQL LISTEN/NOTIFY, so every process hears every write.

Each process keeps one dedicated connection: it NOTIFYs there after a unit of work commits and
LISTENs there for everyone's notifications, its own included, which it hands to the in-process
bus in the order PostgreSQL delivers them (commit order). Every `helpdesk serve` instance
installs this bus; any other writing process joins the stream with ``runtime.postgres_bus``.
The NOTIFY follows the commit (``db.unit_of_work`` publishes after it), so a process that dies
in between loses that echo. If the connection drops, notifications sent meanwhile are lost to
this process, so after reconnecting it reports a gap (``on_gap``) and the live hub tells its
sockets to refetch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

import asyncpg
import msgspec

from helpdesk.events import Event, InMemoryEventBus, Subscriber

logger = logging.getLogger(__name__)

# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
MAX_PAYLOAD_BYTES = 7900
# Names the connection in pg_stat_activity, for operators (and the reconnect test).
APPLICATION_NAME = "helpdesk live events"
_CONNECTION_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def encode_notification(event: Event) -> str:
    payload = msgspec.json.encode(event)
    if len(payload) > MAX_PAYLOAD_BYTES:
        # Listeners refetch by id anyway; a missing detail is better than a missing event.
        logger.warning("event %s %s %s too large for NOTIFY; sent without data", event.type, event.op, event.id)
        payload = msgspec.json.encode(replace(event, data={"truncated": True}))
    return payload.decode()


def decode_notification(payload: str) -> Event:
    return msgspec.json.decode(payload, type=Event)


class PostgresEventBus:
    def __init__(
        self,
        dsn: str,
        *,
        local: InMemoryEventBus,
        channel: str,
        on_gap: Callable[[], None] | None = None,
        reconnect_delay_seconds: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._local = local
        self._channel = channel
        self._on_gap = on_gap
        self._reconnect_delay = reconnect_delay_seconds
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._lock = asyncio.Lock()  # one query at a time on the shared connection
        self._received: asyncio.Queue[Event] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        return self._local.subscribe(subscriber)

    async def publish(self, events: list[Event]) -> None:
        """NOTIFY each event. Called after the commit, so a failure is logged, never raised:
        the write stands, and the caller's request must not fail because of its echo."""
        for event in events:
            try:
                async with self._lock:
                    if self._connection is None or self._connection.is_closed():
                        raise ConnectionError("no connection to PostgreSQL")
                    await self._connection.execute("SELECT pg_notify($1, $2)", self._channel,
                                                   encode_notification(event))
            except _CONNECTION_ERRORS as error:
                logger.error("could not publish %s %s %s: %s", event.type, event.op, event.id, error)

    async def start(self) -> None:
        await self._connect()  # unreachable at startup: fail loudly instead of serving a silent socket
        self._tasks = [
            asyncio.create_task(self._stay_connected(), name="live LISTEN connection"),
            asyncio.create_task(self._hand_on_received(), name="live notification delivery"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self._dsn, server_settings={"application_name": APPLICATION_NAME})
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(self._channel, self._on_notification)
        self._connection, self._lost = connection, lost

    async def _stay_connected(self) -> None:
        while True:
            await self._lost.wait()
            logger.warning("lost the LISTEN connection to PostgreSQL; reconnecting")
            self._connection = None
            while True:
                await asyncio.sleep(self._reconnect_delay)
                try:
                    await self._connect()
                    break
                except _CONNECTION_ERRORS as error:
                    logger.warning("reconnecting to PostgreSQL failed: %s", error)
            logger.info("LISTEN connection to PostgreSQL restored")
            if self._on_gap:
                self._on_gap()

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._received.put_nowait(decode_notification(payload))
        except msgspec.DecodeError as error:  # someone else's NOTIFY on our channel
            logger.warning("ignored a notification that is not an event: %s", error)

    async def _hand_on_received(self) -> None:
        while True:
            await self._local.publish([await self._received.get()])
