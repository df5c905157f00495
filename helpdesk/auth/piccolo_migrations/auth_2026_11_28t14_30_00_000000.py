"""Composite and unique indexes that Piccolo's column options cannot express."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

STATEMENTS = [
    "CREATE UNIQUE INDEX team_member_unique ON team_member (team, agent)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="auth", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
