"""Unique keys that make a second delivery of the same mail a no-op, and the retry index."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbound mail unique keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX inbound_mail_uid ON inbound_mail (source, uidvalidity, uid)",
    "CREATE UNIQUE INDEX inbound_mail_message_id ON inbound_mail (source, message_id)",
    "CREATE INDEX inbound_mail_state ON inbound_mail (state, next_attempt_at)",
    "CREATE INDEX inbound_mail_server_state ON inbound_mail (mailbox, server_state)",
]

forwards = ddl_migration(ID, "inbox", DESCRIPTION, STATEMENTS)
