"""Composite and unique indexes that Piccolo's column options cannot express."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="customers", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
