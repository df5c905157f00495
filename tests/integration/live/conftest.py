"""A real server for the websocket tests: the app under uvicorn on a free loopback port, in the
tests' own event loop, so tests can also reach the hub and the services directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from helpdesk.app import create_app
from helpdesk.live import LiveConfig
from tests.integration.live.support import LiveServer
from tests.support.clock import ShiftableClock
from tests.support.database import TestDatabase
from tests.support.postgres import free_port

# Short timers and small buffers, so heartbeats, session checks, resyncs and slow-client
# drops happen within a test's patience.
TEST_LIVE_CONFIG = LiveConfig(
    replay_buffer=40,
    client_backlog=64,
    heartbeat_seconds=1.0,
    auth_recheck_seconds=0.5,
    presence_refresh_seconds=0.5,
    presence_ttl_seconds=5.0,
    close_timeout_seconds=10.0,
)


@pytest.fixture(scope="session")
async def live_server(
    test_database: TestDatabase, clock: ShiftableClock, client: httpx.AsyncClient
) -> AsyncIterator[LiveServer]:
    # After `client`, which started the first engine: create_app binds the tables to a new one,
    # whose pool this server's lifespan starts and stops.
    app = create_app(test_database.settings(), clock=clock, live=TEST_LIVE_CONFIG)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        serving.cancel()
        raise RuntimeError("the test server did not start")
    try:
        yield LiveServer(app=app, port=port)
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def live(live_server: LiveServer, clean_db: None) -> AsyncIterator[LiveServer]:
    """The server with an empty database and no sockets left over from an earlier test."""
    await live_server.wait_for_connections(0)
    yield live_server
