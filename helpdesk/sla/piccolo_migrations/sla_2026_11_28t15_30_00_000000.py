"""One clock per ticket and target, one firing per level, and the runner's due-time index."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla keys and due index"

STATEMENTS = [
    "CREATE UNIQUE INDEX sla_clock_ticket_target ON sla_clock (ticket, target)",
    "CREATE INDEX sla_clock_next_check ON sla_clock (next_check_at)",
    "CREATE INDEX sla_clock_state_due ON sla_clock (state, due_at)",
    "CREATE UNIQUE INDEX sla_escalation_once ON sla_escalation (ticket, target, level)",
]

forwards = ddl_migration(ID, "sla", DESCRIPTION, STATEMENTS)
