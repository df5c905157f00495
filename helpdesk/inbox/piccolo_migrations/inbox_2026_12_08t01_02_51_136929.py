"""inbound_mail without its raw bytes, which are in inbound_mail_raw now."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-08T01:02:51:136929"
VERSION = "1.38.0"
DESCRIPTION = "drop inbound_mail.raw"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="inbox", description=DESCRIPTION
    )

    manager.drop_column(
        table_class_name="InboundMail",
        tablename="inbound_mail",
        column_name="raw",
        db_column_name="raw",
        schema=None,
    )

    return manager
