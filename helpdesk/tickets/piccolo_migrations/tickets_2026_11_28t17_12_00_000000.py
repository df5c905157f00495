"""Status history: its index, and the changes already recorded in the audit trail copied into it.
Also an index on delivery time: the SLA scheduler looks for replies delivered since its last tick."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-28T17:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket status history index and backfill, delivery time index"

INDEXES = [
    "CREATE INDEX ticket_status_change_ticket ON ticket_status_change (ticket, changed_at)",
    "CREATE INDEX message_sent ON message (sent_at)",
]
# The audit entry of a ticket update holds {"status": [before, after]}; deleted tickets are skipped.
BACKFILL = """
    INSERT INTO ticket_status_change (ticket, status, changed_at)
    SELECT a.object_id, {new_status}, a.created_at
    FROM audit_event a JOIN ticket t ON t.id = a.object_id
    WHERE a.object_type = 'ticket' AND {new_status} IS NOT NULL
    ORDER BY a.id
"""
NEW_STATUS = {"postgres": "(a.changes::jsonb -> 'status' ->> 1)", "sqlite": "json_extract(a.changes, '$.status[1]')"}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def run() -> None:
        engine = engine_finder()
        for statement in INDEXES:
            await engine.run_ddl(statement)
        dialect = "postgres" if isinstance(engine, PostgresEngine) else "sqlite"
        await engine.run_ddl(BACKFILL.format(new_status=NEW_STATUS[dialect]))

    manager.add_raw(run)
    return manager
