from pathlib import Path

from piccolo.conf.apps import AppConfig

from helpdesk.inbox.tables import InboundMail, InboundMailRaw, Mailbox

APP_CONFIG = AppConfig(
    app_name="inbox",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Mailbox, InboundMail, InboundMailRaw],
    migration_dependencies=["helpdesk.tickets.piccolo_app", "helpdesk.auth.piccolo_app"],
)
