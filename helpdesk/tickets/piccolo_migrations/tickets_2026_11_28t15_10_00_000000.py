"""The sender finds queued mail by delivery state and due time."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T15:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox scan index"

STATEMENTS = [
    "CREATE INDEX message_outbox ON message (delivery_state, deliver_after, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
