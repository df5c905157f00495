"""Composite and unique indexes that Piccolo's column options cannot express."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = [
    "CREATE UNIQUE INDEX custom_field_definition_key ON custom_field_definition (object_type, key)",
    "CREATE INDEX purchase_account_ordered ON purchase (account, ordered_at, id)",
    "CREATE INDEX purchase_contact_ordered ON purchase (contact, ordered_at, id)",
    "CREATE INDEX account_name_id ON account (name, id)",
    "CREATE INDEX contact_name_id ON contact (name, id)",
]

forwards = ddl_migration(ID, "customers", DESCRIPTION, STATEMENTS)
