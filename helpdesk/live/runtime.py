"""Starting and stopping the live fan-out of one app instance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from helpdesk import events
from helpdesk.live.config import LiveConfig
from helpdesk.live.hub import LiveHub
from helpdesk.live.postgres import PostgresEventBus
from helpdesk.settings import Settings


@asynccontextmanager
async def running(settings: Settings, config: LiveConfig) -> AsyncIterator[LiveHub]:
    """The hub, fed by the in-process bus (embedded SQLite: one process) or, on PostgreSQL,
    by LISTEN/NOTIFY, installed as the process's bus so every write here is NOTIFYed."""
    if settings.database_url is None:
        hub = LiveHub(events.get_bus(), config)
        await hub.start()
        try:
            yield hub
        finally:
            await hub.stop()
        return

    # The bus reports gaps to the hub, which needs the bus: the lambda finds the hub once both exist.
    async with postgres_bus(settings.database_url, config.channel, on_gap=lambda: hub.restart_stream()) as bus:
        hub = LiveHub(bus, config)
        await hub.start()
        try:
            yield hub
        finally:
            await hub.stop()


@asynccontextmanager
async def postgres_bus(
    dsn: str, channel: str = LiveConfig.channel, *, on_gap: Callable[[], None] | None = None
) -> AsyncIterator[PostgresEventBus]:
    """Install a LISTEN/NOTIFY bus as the process's event bus for the duration.

    Processes that write but serve no sockets (``helpdesk worker`` and other commands on
    PostgreSQL) use this too, so browsers hear about their writes.
    """
    previous = events.get_bus()
    # Subscribers of the in-process bus keep working; they now hear every process's events.
    local = previous if isinstance(previous, events.InMemoryEventBus) else events.InMemoryEventBus()
    bus = PostgresEventBus(dsn, local=local, channel=channel, on_gap=on_gap)
    await bus.start()
    events.set_bus(bus)
    try:
        yield bus
    finally:
        events.set_bus(previous)
        await bus.stop()
