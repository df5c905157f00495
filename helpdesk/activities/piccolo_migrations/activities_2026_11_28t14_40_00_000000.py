"""Composite indexes for the account and contact timelines."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T14:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = [
    "CREATE INDEX activity_account_occurred ON activity (account, occurred_at, id)",
    "CREATE INDEX activity_contact_occurred ON activity (contact, occurred_at, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="activities", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
