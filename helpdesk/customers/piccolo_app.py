from pathlib import Path

from piccolo.conf.apps import AppConfig

from helpdesk.customers.tables import (
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    CustomFieldDefinition,
    Purchase,
)

APP_CONFIG = AppConfig(
    app_name="customers",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Account, AccountDomain, Contact, ContactEmail, CustomFieldDefinition, Purchase],
    migration_dependencies=["helpdesk.auth.piccolo_app"],
)
