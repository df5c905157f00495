"""Logging set-up, called only by entry points."""

from __future__ import annotations

import logging
import warnings


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Piccolo prints migration progress itself; its query logger is noise at INFO.
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    # Piccolo warns on every ILIKE against SQLite; its LIKE is already case-insensitive there.
    warnings.filterwarnings("ignore", message=".*SQLite doesn't support ILIKE")
