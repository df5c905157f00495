"""Pure core rules: settings, ticket status transitions and numbers, cursors, the login limiter."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpdesk.auth.ratelimit import AttemptLimiter
from helpdesk.clock import FrozenClock
from helpdesk.errors import ConfigurationError, InvalidTransition, ValidationFailed
from helpdesk.pagination import decode_cursor, encode_cursor
from helpdesk.settings import Settings
from helpdesk.tickets.numbers import ticket_id_from_number, ticket_number
from helpdesk.tickets.status import (
    ALLOWED_TRANSITIONS,
    STATUSES,
    check_transition,
    status_after_agent_reply,
    status_after_customer_message,
)


def test_settings_defaults_and_overrides() -> None:
    default = Settings.from_env({})
    assert default.data_dir == Path("var") and default.database_url is None and default.http.port == 8000
    assert default.sqlite_path == Path("var/helpdesk.sqlite3")
    custom = Settings.from_env({"HELPDESK_PORT": "9000", "HELPDESK_DATA_DIR": "/srv/hd",
                                "HELPDESK_DATABASE_URL": "postgresql://u@h/db", "HELPDESK_BACKGROUND_TASKS": "false"})
    assert custom.http.port == 9000 and custom.uses_postgres and not custom.run_background_tasks


@pytest.mark.parametrize("env", [{"HELPDESK_PORT": "eighty"}, {"HELPDESK_DATABASE_URL": "mysql://x"},
                                 {"HELPDESK_COOKIE_SECURE": "maybe"}])
def test_bad_settings_are_named(env) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env(env)
    assert next(iter(env)) in str(error.value)


def test_every_status_has_rules_and_closed_is_final() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(STATUSES)
    assert ALLOWED_TRANSITIONS["closed"] == frozenset()
    check_transition("new", "solved")
    check_transition("open", "open")
    with pytest.raises(InvalidTransition):
        check_transition("closed", "open")
    with pytest.raises(InvalidTransition):
        check_transition("solved", "pending")
    assert status_after_customer_message("pending") == "open"
    assert status_after_customer_message("new") == "new"
    assert status_after_agent_reply("new") == "open"
    assert status_after_agent_reply("pending") == "pending"


def test_ticket_numbers_round_trip() -> None:
    assert ticket_number(1) == "T-1001"
    assert ticket_id_from_number("T-1001") == 1
    assert ticket_id_from_number("t1042") == 42
    assert ticket_id_from_number("1005") == 5
    assert ticket_id_from_number("T-999") is None
    assert ticket_id_from_number("hello") is None


def test_cursors_round_trip_and_reject_garbage() -> None:
    cursor = encode_cursor(["2026-11-28T10:00:00+00:00", 42])
    assert decode_cursor(cursor, length=2) == ["2026-11-28T10:00:00+00:00", 42]
    assert decode_cursor(None, length=2) is None
    for bad in ("%%%", encode_cursor([1]), encode_cursor({"a": 1})):
        with pytest.raises(ValidationFailed):
            decode_cursor(bad, length=2)


def test_login_limiter_counts_within_its_window() -> None:
    clock = FrozenClock(datetime(2026, 11, 28, tzinfo=timezone.utc))
    limiter = AttemptLimiter(3, timedelta(minutes=5), clock)
    for _ in range(3):
        assert not limiter.is_blocked("ip:1")
        limiter.record_failure("ip:1")
    assert limiter.is_blocked("ip:1") and not limiter.is_blocked("ip:2")
    clock.advance(timedelta(minutes=5, seconds=1))
    assert not limiter.is_blocked("ip:1")
