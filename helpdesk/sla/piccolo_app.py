from pathlib import Path

from piccolo.conf.apps import AppConfig

from helpdesk.sla.tables import Calendar, Policy, SlaClock, SlaEscalation

APP_CONFIG = AppConfig(
    app_name="sla",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Calendar, Policy, SlaClock, SlaEscalation],
    migration_dependencies=["helpdesk.tickets.piccolo_app"],
)
