"""Lookups by ticket (SLA snapshots, the outbox's sending mailbox) and the poller's pending server actions."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbound mail lookup indexes"

STATEMENTS = [
    "CREATE INDEX inbound_mail_ticket ON inbound_mail (ticket)",
    "CREATE INDEX inbound_mail_source_server_state ON inbound_mail (source, server_state)",
]

forwards = ddl_migration(ID, "inbox", DESCRIPTION, STATEMENTS)
