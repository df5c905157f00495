"""One instance's numbered event stream and its bounded replay buffer (pure, no I/O).

A sequence number only means something within its epoch: a restarted instance, or one that
may have missed events, starts a new epoch, and a client holding an old one must refetch.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


def new_epoch() -> str:
    return secrets.token_hex(8)


class EventStream(Generic[Item]):
    def __init__(self, capacity: int, *, epoch_factory: Callable[[], str] = new_epoch) -> None:
        if capacity < 1:
            raise ValueError("the replay buffer needs room for at least one event")
        self._epoch_factory = epoch_factory
        self._kept: deque[tuple[int, Item]] = deque(maxlen=capacity)
        self.epoch = epoch_factory()
        self.head = 0  # the sequence number of the newest event; 0 before the first

    def append(self, make_item: Callable[[int], Item]) -> Item:
        """Number the next event and keep the item built for that number."""
        self.head += 1
        item = make_item(self.head)
        self._kept.append((self.head, item))
        return item

    def after(self, epoch: str | None, since: int) -> list[Item] | None:
        """Every item newer than ``since``, or None when that cannot be answered exactly:
        another epoch, a number from the future, or events already dropped from the buffer."""
        if epoch != self.epoch or since < 0 or since > self.head:
            return None
        oldest = self._kept[0][0] if self._kept else self.head + 1
        if since < oldest - 1:
            return None
        # Numbers in the buffer are contiguous, so the first wanted one sits at a known index.
        return [item for _, item in itertools.islice(self._kept, since - oldest + 1, None)]

    def restart(self) -> None:
        """Begin a new epoch: what was numbered before can no longer be replayed."""
        self._kept.clear()
        self.epoch = self._epoch_factory()
        self.head = 0
