"""SQL fragments the dashboard's queries share, written once for SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpdesk.db import is_postgres
from helpdesk.tickets.status import OPEN_STATUSES

DAY_SECONDS = 86_400
OPEN_LIST = ", ".join(f"'{status}'" for status in OPEN_STATUSES)  # constants, not input


class Params:
    """Collects query arguments in the order their ``{}`` placeholders appear in the text."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return "{}"


@dataclass(frozen=True)
class Filters:
    team_id: int | None = None
    policy_id: int | None = None

    def clocks_from(self, *, ticket_columns: bool = False) -> str:
        """``sla_clock c``, joined to its ticket only when something reads the ticket's columns:
        most clock figures need no ticket, and a lookup per clock is the bulk of their cost."""
        if not (ticket_columns or self.team_id is not None):
            return "sla_clock c"
        if is_postgres():
            return "sla_clock c JOIN ticket t ON t.id = c.ticket"
        # SQLite (without ANALYZE statistics) would start from all of a team's tickets; CROSS JOIN
        # keeps the clocks' time-range indexes as the outer loop, which reads far fewer rows.
        return "sla_clock c CROSS JOIN ticket t ON t.id = c.ticket"

    def on_clocks(self, p: Params) -> str:
        """Conditions for a query over ``clocks_from()``."""
        sql = ""
        if self.team_id is not None:
            sql += f" AND t.team = {p(self.team_id)}"
        if self.policy_id is not None:
            sql += f" AND c.policy = {p(self.policy_id)}"
        return sql

    def on_tickets(self, p: Params) -> str:
        """Conditions for a query over ``ticket t`` alone: the policy through the ticket's clocks."""
        sql = ""
        if self.team_id is not None:
            sql += f" AND t.team = {p(self.team_id)}"
        if self.policy_id is not None:
            sql += f" AND EXISTS (SELECT 1 FROM sla_clock pc WHERE pc.ticket = t.id AND pc.policy = {p(self.policy_id)})"
        return sql


def day_index(column: str, start: datetime) -> str:
    """Whole UTC days from ``start`` (a UTC midnight) to the column's instant.

    The start is inlined as an integer epoch we computed (never client text), so both engines
    fold it into a constant; SQLite stores timestamps as text, which unixepoch() reads.
    """
    epoch = int(start.timestamp())
    if is_postgres():
        # FLOOR first: a cast alone rounds, which would move 23:59:59.6 to the next day.
        return f"((CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT) - {epoch}) / {DAY_SECONDS})"
    return f"((unixepoch({column}) - {epoch}) / {DAY_SECONDS})"


# A clock meets its target when it stopped within its business-time budget.
MET = "(c.stopped_at IS NOT NULL AND c.elapsed_seconds <= c.target_minutes * 60)"
# When the outcome was decided: the stop of a met clock, the due time of a breached one.
DECIDED_AT = f"(CASE WHEN {MET} THEN c.stopped_at ELSE c.due_at END)"


def decided_clocks(p: Params, filters: Filters, *, start: datetime, now: datetime, columns: str,
                   ticket_columns: bool = False) -> str:
    """Clocks whose outcome was decided in [start, now], with ``met`` (0/1) and ``decided_at``.

    The OR of two ranges lets both engines combine the indexes on stopped_at and on due_at
    instead of scanning every clock.
    """
    return f"""
        SELECT {columns}, CASE WHEN {MET} THEN 1 ELSE 0 END AS met, {DECIDED_AT} AS decided_at
        FROM {filters.clocks_from(ticket_columns=ticket_columns)}
        WHERE ((c.stopped_at >= {p(start)} AND c.stopped_at <= {p(now)})
               OR (c.due_at >= {p(start)} AND c.due_at <= {p(now)}))
          AND {DECIDED_AT} >= {p(start)} AND {DECIDED_AT} <= {p(now)}{filters.on_clocks(p)}"""


def percentiles(source: str, *, group: str, value: str, fractions: dict[str, float]) -> str:
    """Nearest-rank percentiles of ``value`` per ``group`` over a subquery, with window functions."""
    picks = ", ".join(f"MIN(CASE WHEN rn >= n * {fraction} THEN v END) AS {name}" for name, fraction in fractions.items())
    return f"""
        SELECT g, {picks} FROM (
            SELECT {group} AS g, {value} AS v,
                   ROW_NUMBER() OVER ordered AS rn,
                   COUNT(*) OVER (ordered ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
            FROM ({source}) s
            -- One window for both, so the rows are sorted once.
            WINDOW ordered AS (PARTITION BY {group} ORDER BY {value})
        ) ranked GROUP BY g"""
