"""Clocks keep a 64-bit digest instead of a text fingerprint, and no stored explanation: the
ticket's SLA tab explains its clocks as of the moment it is read."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-28T19:49:30:333080"
VERSION = "1.38.0"
DESCRIPTION = "clock digest replaces fingerprint and explanation"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="sla", description=DESCRIPTION
    )

    manager.drop_column(
        table_class_name="SlaClock",
        tablename="sla_clock",
        column_name="fingerprint",
        db_column_name="fingerprint",
        schema=None,
    )

    manager.drop_column(
        table_class_name="SlaClock",
        tablename="sla_clock",
        column_name="explanation",
        db_column_name="explanation",
        schema=None,
    )

    manager.add_column(
        table_class_name="SlaClock",
        tablename="sla_clock",
        column_name="digest",
        db_column_name="digest",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
