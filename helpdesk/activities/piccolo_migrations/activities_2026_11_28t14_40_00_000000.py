"""Composite indexes for the account and contact timelines."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T14:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = [
    "CREATE INDEX activity_account_occurred ON activity (account, occurred_at, id)",
    "CREATE INDEX activity_contact_occurred ON activity (contact, occurred_at, id)",
]

forwards = ddl_migration(ID, "activities", DESCRIPTION, STATEMENTS)
