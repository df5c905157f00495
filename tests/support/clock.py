"""A test clock: real time plus an offset that tests can move forward."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class ShiftableClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    def move_to(self, moment: datetime) -> None:
        """From now on, real time runs on from ``moment``."""
        self.offset = moment - datetime.now(timezone.utc)
