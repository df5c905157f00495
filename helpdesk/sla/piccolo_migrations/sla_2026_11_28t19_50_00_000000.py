"""Fewer indexes for clock writes to maintain: (state, due_at) had no reader left, and the
runner's next-check index only needs clocks that have a next check."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T19:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla clock index trim"

STATEMENTS = [
    "DROP INDEX sla_clock_state_due",
    "DROP INDEX sla_clock_next_check",
    "CREATE INDEX sla_clock_next_check ON sla_clock (next_check_at) WHERE next_check_at IS NOT NULL",
]

forwards = ddl_migration(ID, "sla", DESCRIPTION, STATEMENTS)
