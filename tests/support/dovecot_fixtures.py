"""Pytest plugin: a session-wide private Dovecot (see tests/support/dovecot.py).

Register with ``pytest_plugins = ["tests.support.dovecot_fixtures"]`` in the root
conftest. Tests isolate themselves with ``dovecot.new_user()``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dovecot import Dovecot


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
