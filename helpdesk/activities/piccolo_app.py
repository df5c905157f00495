from pathlib import Path

from piccolo.conf.apps import AppConfig

from helpdesk.activities.tables import Activity

APP_CONFIG = AppConfig(
    app_name="activities",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Activity],
    migration_dependencies=["helpdesk.tickets.piccolo_app"],
)
