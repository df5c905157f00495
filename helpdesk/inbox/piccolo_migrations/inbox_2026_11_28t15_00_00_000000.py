"""Unique keys that make a second delivery of the same mail a no-op, and the retry index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbound mail unique keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX inbound_mail_uid ON inbound_mail (source, uidvalidity, uid)",
    "CREATE UNIQUE INDEX inbound_mail_message_id ON inbound_mail (source, message_id)",
    "CREATE INDEX inbound_mail_state ON inbound_mail (state, next_attempt_at)",
    "CREATE INDEX inbound_mail_server_state ON inbound_mail (mailbox, server_state)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inbox", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
