"""The sender finds queued mail by delivery state and due time."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T15:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox scan index"

STATEMENTS = [
    "CREATE INDEX message_outbox ON message (delivery_state, deliver_after, id)",
]

forwards = ddl_migration(ID, "tickets", DESCRIPTION, STATEMENTS)
