"""Composite and unique indexes that Piccolo's column options cannot express."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = [
    "CREATE UNIQUE INDEX team_member_unique ON team_member (team, agent)",
]

forwards = ddl_migration(ID, "auth", DESCRIPTION, STATEMENTS)
