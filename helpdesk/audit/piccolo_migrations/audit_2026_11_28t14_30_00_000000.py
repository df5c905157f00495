"""Composite and unique indexes that Piccolo's column options cannot express."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = [
    "CREATE INDEX audit_event_object ON audit_event (object_type, object_id, id)",
]

forwards = ddl_migration(ID, "audit", DESCRIPTION, STATEMENTS)
