"""Composite and unique indexes that Piccolo's column options cannot express."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = [
    "CREATE INDEX ticket_updated ON ticket (updated_at, id)",
    "CREATE INDEX ticket_created ON ticket (created_at, id)",
    "CREATE INDEX ticket_priority ON ticket (priority_rank, id)",
    "CREATE INDEX ticket_status_updated ON ticket (status, updated_at, id)",
    "CREATE INDEX ticket_assignee_updated ON ticket (assignee, updated_at, id)",
    "CREATE INDEX ticket_team_updated ON ticket (team, updated_at, id)",
    "CREATE INDEX ticket_requester_updated ON ticket (requester, updated_at, id)",
    "CREATE INDEX ticket_account_updated ON ticket (account, updated_at, id)",
    "CREATE UNIQUE INDEX ticket_tag_unique ON ticket_tag (ticket, tag)",
    "CREATE INDEX ticket_tag_tag ON ticket_tag (tag, ticket)",
    "CREATE UNIQUE INDEX ticket_participant_unique ON ticket_participant (ticket, address)",
    "CREATE INDEX message_ticket_created ON message (ticket, created_at, id)",
]

forwards = ddl_migration(ID, "tickets", DESCRIPTION, STATEMENTS)
