"""Shared fixtures. The engine comes from HELPDESK_TEST_ENGINE (sqlite or postgres); a missing
component is an error, never a skip."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar

from helpdesk import db
from helpdesk.app import create_app
from tests.support.agents import RoleAgents, make_role_agents
from tests.support.clock import ShiftableClock
from tests.support.database import ENGINE, TestDatabase, wipe_all_tables

pytest_plugins = ["tests.support.dovecot_fixtures"]


def pytest_report_header(config: pytest.Config) -> str:
    return f"helpdesk test engine: {ENGINE}"


@pytest.fixture(scope="session")
def test_database() -> Iterator[TestDatabase]:
    database = TestDatabase()
    try:
        yield database
    finally:
        database.close()


@pytest.fixture(scope="session")
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture(scope="session")
def app(test_database: TestDatabase, clock: ShiftableClock) -> Litestar:
    return create_app(test_database.settings(), clock=clock)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI in the tests' own event loop, so tests can also call services directly.

    The app's lifespan (pool start, migrations) is run here by hand: httpx's transport does not
    run it, and Litestar's test client would run the app in another thread and loop.
    """
    engine = db.current_engine()
    await db.start(engine)
    await db.migrate()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client:
        yield test_client
    await db.stop(engine)


@pytest.fixture
async def clean_db(client: httpx.AsyncClient, app: Litestar, clock: ShiftableClock) -> AsyncIterator[None]:
    """A migrated, empty database (and a fresh login limiter) for one test."""
    await wipe_all_tables()
    client.cookies.clear()
    app.state.login_limiter.clear()
    yield
    clock.offset = type(clock.offset)()


@pytest.fixture
async def agents(clean_db: None, clock: ShiftableClock) -> RoleAgents:
    return await make_role_agents(clock.now())
