"""The dashboard's tables as CSV (pure): a header row, then spreadsheet-safe cells."""

from __future__ import annotations

import msgspec

from helpdesk.dashboard.schemas import BreakdownRow, DayPoint, RiskTicket
from helpdesk.exports.formats import csv_lines

BREAKDOWN_COLUMNS = ["group_id", "name", "open", "solved", "measured", "met", "compliance_percent",
                     "first_response_median_minutes"]
SERIES_COLUMNS = ["day", "backlog", "created", "solved", "measured", "breaches", "compliance_percent"]
TICKET_COLUMNS = ["number", "id", "subject", "priority", "status", "team_id", "assignee_id", "target", "due_at"]


def to_csv(columns: list[str], rows: list[BreakdownRow] | list[DayPoint] | list[RiskTicket]) -> str:
    header = csv_lines(columns, [{column: column for column in columns}])
    return header + csv_lines(columns, (msgspec.structs.asdict(row) for row in rows))
