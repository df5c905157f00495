"""A sliding-window limiter for login attempts, keyed by email and by client address."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import timedelta

from helpdesk.clock import Clock


class AttemptLimiter:
    """Counts failures per key; a key with too many recent failures is refused.

    Kept in process memory: with several instances each one limits on its own, which
    still bounds guessing to (instances × attempts) per window.
    """

    def __init__(self, attempts: int, window: timedelta, clock: Clock):
        self._attempts = attempts
        self._window = window
        self._clock = clock
        self._failures: dict[str, deque] = defaultdict(deque)

    def _recent(self, key: str) -> deque:
        cutoff = self._clock.now() - self._window
        failures = self._failures[key]
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def is_blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self._attempts

    def record_failure(self, key: str) -> None:
        self._recent(key).append(self._clock.now())

    def clear(self) -> None:
        self._failures.clear()
