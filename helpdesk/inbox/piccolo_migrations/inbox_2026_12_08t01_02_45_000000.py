"""The raw bytes of every stored mail move to ``inbound_mail_raw``, stored uncompressed on
PostgreSQL as they were (see 2026-11-28T20:00); the next migration drops the old column."""

from helpdesk.db import ddl_migration

ID = "2026-12-08T01:02:45:000000"
VERSION = "1.38.0"
DESCRIPTION = "copy raw mail"

STATEMENTS = [
    "ALTER TABLE inbound_mail_raw ALTER COLUMN raw SET STORAGE EXTERNAL",
    "INSERT INTO inbound_mail_raw (mail, raw) SELECT id, raw FROM inbound_mail ORDER BY id",
]

forwards = ddl_migration(ID, "inbox", DESCRIPTION, STATEMENTS, sqlite_statements=STATEMENTS[1:])
