"""One name per agent's saved filter, whatever the case: the service checks it first for a clear
message; this index holds when two saves race."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T18:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "saved filter names unique per agent"

STATEMENTS = [
    "CREATE UNIQUE INDEX saved_filter_agent_name ON saved_filter (agent, lower(name))",
]

forwards = ddl_migration(ID, "queues", DESCRIPTION, STATEMENTS)
