from pathlib import Path

from piccolo.conf.apps import AppConfig

from helpdesk.tickets.tables import (
    Attachment,
    Blob,
    Message,
    Ticket,
    TicketParticipant,
    TicketStatusChange,
    TicketTag,
)

APP_CONFIG = AppConfig(
    app_name="tickets",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Ticket, TicketTag, TicketStatusChange, TicketParticipant, Message, Blob, Attachment],
    migration_dependencies=["helpdesk.customers.piccolo_app", "helpdesk.auth.piccolo_app"],
)
