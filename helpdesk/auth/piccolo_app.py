from pathlib import Path

from piccolo.conf.apps import AppConfig

from helpdesk.auth.tables import Agent, AgentSession, ApiToken, Team, TeamMember

APP_CONFIG = AppConfig(
    app_name="auth",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Agent, Team, TeamMember, ApiToken, AgentSession],
)
