"""Domain events, published only after the transaction that caused them commits.

A write calls ``publish_on_commit(event)`` inside ``db.unit_of_work()``; the unit of
work hands the collected events to the configured bus once the commit succeeded, so
no listener ever sees a change that was rolled back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    type: str  # the kind of object: "ticket", "message", "account", ...
    op: str  # "created", "updated", "deleted", ...
    id: int
    version: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Subscriber = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    """Where committed events go: in-process (``InMemoryEventBus``) or across processes (``helpdesk.live``)."""

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]: ...

    async def publish(self, events: list[Event]) -> None: ...


class InMemoryEventBus:
    """Fan-out inside one process: the embedded default and the tests."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    async def publish(self, events: list[Event]) -> None:
        for event in events:
            for subscriber in list(self._subscribers):
                try:
                    await subscriber(event)
                except asyncio.CancelledError:
                    raise
                except Exception:  # boundary: one broken listener must not break the write path
                    logger.exception("event subscriber failed for %s %s %s", event.type, event.op, event.id)


_bus: EventBus = InMemoryEventBus()
_pending: ContextVar[list[Event] | None] = ContextVar("helpdesk_pending_events", default=None)


def set_bus(bus: EventBus) -> None:
    global _bus
    _bus = bus


def get_bus() -> EventBus:
    return _bus


def publish_on_commit(event: Event) -> None:
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("publish_on_commit called outside a unit of work")
    pending.append(event)


def collected_count() -> int:
    """How many events the current unit of work holds so far (a mark for ``discard_collected_since``)."""
    pending = _pending.get()
    return 0 if pending is None else len(pending)


def discard_collected_since(mark: int) -> None:
    """Drop the events collected after ``mark``: their writes were rolled back to a savepoint."""
    pending = _pending.get()
    if pending is not None:
        del pending[mark:]


def begin_collecting() -> tuple[list[Event], object]:
    pending: list[Event] = []
    return pending, _pending.set(pending)


def stop_collecting(token: object) -> None:
    _pending.reset(token)  # type: ignore[arg-type]
