"""Database helpers that need no database server."""

from __future__ import annotations

import sqlite3

import pytest

from helpdesk.db import is_unique_violation


def test_a_sqlite_unique_refusal_is_recognised_and_other_integrity_errors_are_not() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE named (name TEXT UNIQUE, owner TEXT NOT NULL)")
    connection.execute("INSERT INTO named VALUES ('a', 'x')")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        connection.execute("INSERT INTO named VALUES ('a', 'y')")
    with pytest.raises(sqlite3.IntegrityError) as missing:
        connection.execute("INSERT INTO named VALUES ('b', NULL)")
    assert is_unique_violation(duplicate.value)
    assert not is_unique_violation(missing.value)
    assert not is_unique_violation(ValueError("UNIQUE constraint failed"))
