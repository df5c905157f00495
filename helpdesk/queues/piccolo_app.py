from pathlib import Path

from piccolo.conf.apps import AppConfig

from helpdesk.queues.tables import SavedFilter

APP_CONFIG = AppConfig(
    app_name="queues",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[SavedFilter],
    migration_dependencies=["helpdesk.auth.piccolo_app", "helpdesk.sla.piccolo_app"],
)
