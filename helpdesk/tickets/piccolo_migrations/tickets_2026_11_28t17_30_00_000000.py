"""Indexes for the SLA dashboard: solved counts and backlog history read ranges of solve time;
open tickets per team and per assignee (and the unassigned count) are read from the index alone."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket dashboard indexes"

STATEMENTS = [
    "CREATE INDEX ticket_solved ON ticket (solved_at)",
    "CREATE INDEX ticket_status_team_assignee ON ticket (status, team, assignee)",
]

forwards = ddl_migration(ID, "tickets", DESCRIPTION, STATEMENTS)
