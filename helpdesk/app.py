"""The composition root: settings in, a Litestar application out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from litestar import Litestar, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from helpdesk import db, events
from helpdesk.activities.controllers import ActivityController
from helpdesk.audit.controllers import AuditController
from helpdesk.auth.controllers import (
    AgentController,
    AuthController,
    TeamController,
    TokenController,
)
from helpdesk.auth.middleware import PUBLIC_PATHS, HelpdeskAuthenticationMiddleware
from helpdesk.auth.ratelimit import AttemptLimiter
from helpdesk.clock import Clock, SystemClock
from helpdesk.customers.controllers import (
    AccountController,
    ContactController,
    CustomFieldController,
    PurchaseController,
)
from helpdesk.dashboard.controllers import DashboardController
from helpdesk.exports.controllers import ExportController
from helpdesk.inbox.controllers import InboundMailController, MailboxController
from helpdesk.live import LiveConfig
from helpdesk.live import running as running_live
from helpdesk.live.controllers import live_socket
from helpdesk.mailview.controllers import RemoteImagesController
from helpdesk.overview.controllers import OverviewController
from helpdesk.queues.controllers import SavedFilterController, SlaDueController
from helpdesk.settings import Settings
from helpdesk.sla.controllers import (
    SlaCalendarController,
    SlaPolicyController,
    TicketSlaController,
)
from helpdesk.tickets.controllers import (
    AttachmentController,
    ReportController,
    TicketController,
)
from helpdesk.web.auth import PUBLIC, provide_actor, provide_now
from helpdesk.web.errors import EXCEPTION_HANDLERS
from helpdesk.workers import run_background, wire_domains

logger = logging.getLogger(__name__)

# The agent app needs nothing from other origins; Swagger/ReDoc under /schema load their own assets.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)


@get("/healthz", operation_id="health", include_in_schema=False, opt=PUBLIC)
async def health() -> dict[str, str]:
    return {"status": "ok"}


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


# The agent web app, built from frontend/ by `make frontend` (git-ignored; absent until built).
AGENT_APP_DIR = Path(__file__).parent / "static"


def _agent_app_headers(response: Response) -> Response:
    # A router's after_request replaces the app's, so this one adds the usual headers too.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return _security_headers(response)


def _agent_app_router() -> Router:
    if not (AGENT_APP_DIR / "index.html").is_file():
        logger.warning("the agent web app is not built (%s): run `make frontend`", AGENT_APP_DIR)
    # Public: the page and its assets hold no data; everything behind them is /api, which needs a login.
    return create_static_files_router(
        path="/", directories=[AGENT_APP_DIR], html_mode=True, name="agent_app", opt=PUBLIC,
        after_request=_agent_app_headers,
    )


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    bus: events.InMemoryEventBus | None = None,
    live: LiveConfig | None = None,
) -> Litestar:
    clock = clock or SystemClock()
    engine = db.configure(settings)
    wire_domains()
    if bus is not None:
        events.set_bus(bus)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start(engine)
        if not settings.uses_postgres:
            # The embedded default migrates itself; PostgreSQL deployments run `helpdesk migrate`.
            await db.migrate()
        background = asyncio.create_task(run_background(clock)) if settings.run_background_tasks else None
        try:
            async with running_live(settings, live or LiveConfig()) as hub:
                app.state.live_hub = hub
                yield
        finally:
            if background:
                background.cancel()
                await asyncio.gather(background, return_exceptions=True)
            await db.stop(engine)

    state = State(
        {
            "settings": settings,
            "clock": clock,
            "login_limiter": AttemptLimiter(
                settings.auth.login_attempts_per_window, timedelta(seconds=settings.auth.login_window_seconds), clock
            ),
        }
    )
    return Litestar(
        route_handlers=[
            health,
            live_socket,
            AuthController, AgentController, TeamController, TokenController,
            AccountController, ContactController, PurchaseController, CustomFieldController,
            TicketController, AttachmentController, ReportController,
            ActivityController, OverviewController, ExportController, AuditController,
            MailboxController, InboundMailController,
            SlaCalendarController, SlaPolicyController, TicketSlaController,
            DashboardController,
            SavedFilterController, SlaDueController, RemoteImagesController,
            _agent_app_router(),  # last: its catch-all path must not shadow anything above
        ],
        dependencies={
            "actor": Provide(provide_actor, sync_to_thread=False),
            "now": Provide(provide_now, sync_to_thread=False),
        },
        middleware=[DefineMiddleware(HelpdeskAuthenticationMiddleware, exclude=PUBLIC_PATHS)],
        exception_handlers=EXCEPTION_HANDLERS,
        after_request=_security_headers,
        lifespan=[lifespan],
        state=state,
        request_max_body_size=settings.http.max_body_bytes,
        openapi_config=OpenAPIConfig(title="helpdesk", version="0.1.0", path="/schema"),
        debug=False,
    )
