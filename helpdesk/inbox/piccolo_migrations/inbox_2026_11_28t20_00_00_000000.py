"""Raw mail stored without compression on PostgreSQL: most of its bytes are attachments that are
already compressed (or base64 of compressed data), so compressing them costs CPU on every insert
and saves next to nothing. Still moved out of line (TOAST), so the row itself stays small."""

from helpdesk.db import ddl_migration

ID = "2026-11-28T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbound mail raw bytes stored uncompressed"

STATEMENTS = ["ALTER TABLE inbound_mail ALTER COLUMN raw SET STORAGE EXTERNAL"]

forwards = ddl_migration(ID, "inbox", DESCRIPTION, STATEMENTS, postgres_only=True)
