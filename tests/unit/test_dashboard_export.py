"""The dashboard's pure parts: CSV rows and the period's first day."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from helpdesk.dashboard.export import TICKET_COLUMNS, to_csv
from helpdesk.dashboard.schemas import RiskTicket
from helpdesk.dashboard.service import check_period, period_start
from helpdesk.errors import ValidationFailed


def test_ticket_csv_has_a_header_and_defuses_formulas_in_subjects() -> None:
    due = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    ticket = RiskTicket(id=7, number="T-1007", subject="=HYPERLINK(\"http://evil\")", priority="high",
                        status="open", team_id=None, assignee_id=3, target="first_response", due_at=due)
    [header, row] = list(csv.reader(io.StringIO(to_csv(TICKET_COLUMNS, [ticket]))))
    assert header == TICKET_COLUMNS
    record = dict(zip(header, row, strict=True))
    assert record["subject"] == "'=HYPERLINK(\"http://evil\")"
    assert record["team_id"] == "" and record["assignee_id"] == "3"
    assert datetime.fromisoformat(record["due_at"]) == due


def test_the_period_holds_today_and_the_days_before_in_utc() -> None:
    # 00:30 in Berlin is still the previous day in UTC.
    now = datetime(2026, 11, 28, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert period_start(now, 1) == datetime(2026, 11, 27, tzinfo=UTC)
    assert period_start(now, 30) == datetime(2026, 10, 29, tzinfo=UTC)


@pytest.mark.parametrize("days", [0, -1, 367])
def test_a_period_out_of_range_names_the_field(days: int) -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_period(days)
    assert raised.value.field == "days"
