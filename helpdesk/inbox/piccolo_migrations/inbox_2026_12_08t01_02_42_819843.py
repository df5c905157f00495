"""Raw mail gets a table of its own (InboundMailRaw); the next two migrations move the bytes there."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import Bytea
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class InboundMail(Table, tablename="inbound_mail", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-12-08T01:02:42:819843"
VERSION = "1.38.0"
DESCRIPTION = "raw mail in its own table"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="inbox", description=DESCRIPTION
    )

    manager.add_table(
        class_name="InboundMailRaw",
        tablename="inbound_mail_raw",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="InboundMailRaw",
        tablename="inbound_mail_raw",
        column_name="raw",
        db_column_name="raw",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": b"",
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

    manager.add_column(
        table_class_name="InboundMailRaw",
        tablename="inbound_mail_raw",
        column_name="mail",
        db_column_name="mail",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": InboundMail,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": True,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
