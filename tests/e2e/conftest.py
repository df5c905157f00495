"""Browser tests: the built agent app, served by uvicorn on a free loopback port from the
session's app and test database, driven by Debian's Chromium through Playwright (async API).

Fixtures only: the root conftest provides the database, the app and ``clean_db``.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar
from playwright.async_api import Browser, Page, async_playwright

from helpdesk import db
from helpdesk.app import AGENT_APP_DIR
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, PageWatch, log_in, new_page
from tests.e2e.desk import Desk, seed_desk
from tests.support.clock import ShiftableClock

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def agent_app_built() -> Path:
    """The frontend as `make` builds it: a no-op when nothing changed, so running pytest alone works too."""
    subprocess.run(["make", "--no-print-directory", "-s", "frontend"], cwd=ROOT, check=True)
    index = AGENT_APP_DIR / "index.html"
    assert index.is_file(), f"{index} is missing after `make frontend`"
    return AGENT_APP_DIR


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
async def base_url(app: Litestar, client: httpx.AsyncClient, agent_app_built: Path) -> AsyncIterator[str]:
    """The real app over HTTP and websockets. ``client`` has already started and migrated the
    database; the app's own lifespan (run by uvicorn here) starts the live fan-out."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    with _shared_pool_warnings_ignored():
        serving = asyncio.create_task(server.serve())
        for _ in range(200):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.025)
    if not server.started:
        serving.cancel()
        raise RuntimeError("uvicorn did not start for the browser tests")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(serving, timeout=15)
    # The lifespan's shutdown closed the PostgreSQL pool that ``client`` owns: hand it back open.
    await db.start(db.current_engine())


@contextmanager
def _shared_pool_warnings_ignored() -> Iterator[None]:
    # The lifespan starts the PostgreSQL pool that ``client`` already started; Piccolo warns and
    # keeps the existing one, which is what we want here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*A pool already exists")
        yield


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (make system-deps)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
async def page(browser: Browser, base_url: str, watch: PageWatch) -> AsyncIterator[Page]:
    """A fresh browser profile (no cookies) per test."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 1000})
    yield await new_page(context, watch)
    await context.close()


@pytest.fixture
async def second_page(browser: Browser, base_url: str) -> AsyncIterator[Page]:
    """Another agent's browser, for presence and concurrent edits."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 1000})
    yield await new_page(context, PageWatch())
    await context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def desk(clean_db: None, clock: ShiftableClock) -> Desk:
    """An empty database with two agents, one customer account and three tickets (see desk.py)."""
    return await seed_desk(clock.now())


@pytest.fixture
async def agent_page(page: Page, desk: Desk) -> Page:
    """The first agent, logged in through the login screen."""
    return await log_in(page, desk.agent.email, desk.password)


@pytest.fixture
async def colleague_page(second_page: Page, desk: Desk) -> Page:
    """The second agent, logged in in a browser of their own."""
    return await log_in(second_page, desk.colleague.email, desk.password)
