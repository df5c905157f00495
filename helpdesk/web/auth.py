"""Route guards and the per-request dependencies every controller uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from helpdesk.actors import Actor

# Handler ``opt`` for routes that answer without a login.
PUBLIC = {"exclude_from_auth": True}


def requires(role: str) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A route guard: the caller needs at least ``role`` (agent < lead < admin)."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        actor: Actor = connection.user
        actor.require(role)

    guard.__name__ = f"requires_{role}"
    return guard


def provide_actor(request: ASGIConnection) -> Actor:
    return request.user


def provide_now(request: ASGIConnection) -> datetime:
    return request.app.state.clock.now()


# Handler parameters filled by the app-level dependencies of the same names.
CurrentActor = NamedDependency[Actor]
Now = NamedDependency[datetime]
