"""Indexes for the SLA dashboard (helpdesk/dashboard).

Outcomes are found by stop time (met) or due time (breached). Both indexes carry the columns
the dashboard's figures read, so those scans never visit the table. The stop-time index is
partial, so a running clock ("stopped_at IS NULL") is found through the last index: per ticket,
its running clocks' due times.
"""

from helpdesk.db import ddl_migration

ID = "2026-11-28T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla dashboard indexes"

STATEMENTS = [
    "CREATE INDEX sla_clock_stopped ON sla_clock "
    "(stopped_at, target, elapsed_seconds, target_minutes, due_at, policy, ticket) WHERE stopped_at IS NOT NULL",
    "CREATE INDEX sla_clock_due ON sla_clock (due_at, stopped_at, elapsed_seconds, target_minutes, policy, ticket)",
    "CREATE INDEX sla_clock_running_due ON sla_clock (ticket, due_at) WHERE stopped_at IS NULL",
]

forwards = ddl_migration(ID, "sla", DESCRIPTION, STATEMENTS)
