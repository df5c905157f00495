"""Logging set-up, called only by entry points."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Piccolo prints migration progress itself; its query logger is noise at INFO.
    logging.getLogger("piccolo").setLevel(logging.WARNING)
