"""Clocks without foreign key constraints.

``sla_clock`` is derived data, recomputed from the tickets and rewritten in bulk (a first start
or a rule change writes every open ticket's clocks). Checking both references row by row took
about as long as writing the rows themselves. Tickets are never deleted, and a deleted policy's
clocks are cleared by ``sla.service.delete_policy`` and recomputed by the next tick.
SQLite cannot drop a constraint, so there the table is rebuilt, rows and indexes included.
"""

from helpdesk.db import ddl_migration

ID = "2026-12-08T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla clock without foreign keys"

POSTGRES = [
    "ALTER TABLE sla_clock DROP CONSTRAINT IF EXISTS sla_clock_ticket_fkey, "
    "DROP CONSTRAINT IF EXISTS sla_clock_policy_fkey",
]

INDEXES = [
    "CREATE UNIQUE INDEX sla_clock_ticket_target ON sla_clock (ticket, target)",
    "CREATE INDEX sla_clock_next_check ON sla_clock (next_check_at) WHERE next_check_at IS NOT NULL",
    "CREATE INDEX sla_clock_stopped ON sla_clock "
    "(stopped_at, target, elapsed_seconds, target_minutes, due_at, policy, ticket) WHERE stopped_at IS NOT NULL",
    "CREATE INDEX sla_clock_due ON sla_clock (due_at, stopped_at, elapsed_seconds, target_minutes, policy, ticket)",
    "CREATE INDEX sla_clock_running_due ON sla_clock (ticket, due_at) WHERE stopped_at IS NULL",
]

SQLITE = [
    'CREATE TABLE "sla_clock_rebuilt" ("id" INTEGER PRIMARY KEY NOT NULL, "ticket" INTEGER DEFAULT null, '
    '"target" VARCHAR(20) NOT NULL DEFAULT \'\', "policy" INTEGER DEFAULT null, '
    '"state" VARCHAR(10) NOT NULL DEFAULT \'\', "started_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, '
    '"due_at" TIMESTAMPTZ DEFAULT null, "warn_at" TIMESTAMPTZ DEFAULT null, "stopped_at" TIMESTAMPTZ DEFAULT null, '
    '"target_minutes" INTEGER NOT NULL DEFAULT 0, "elapsed_seconds" INTEGER NOT NULL DEFAULT 0, '
    '"next_check_at" TIMESTAMPTZ DEFAULT null, "computed_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, '
    '"digest" INTEGER NOT NULL DEFAULT 0)',
    "INSERT INTO sla_clock_rebuilt SELECT id, ticket, target, policy, state, started_at, due_at, warn_at, stopped_at, "
    "target_minutes, elapsed_seconds, next_check_at, computed_at, digest FROM sla_clock",
    "DROP TABLE sla_clock",
    "ALTER TABLE sla_clock_rebuilt RENAME TO sla_clock",
    *INDEXES,
]

forwards = ddl_migration(ID, "sla", DESCRIPTION, POSTGRES, sqlite_statements=SQLITE)
