"""Settings, read once from ``HELPDESK_*`` variables by the entry points.

Nothing here reads the environment at import: callers pass a mapping to
``Settings.from_env`` so tests can build settings without touching os.environ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from helpdesk.errors import ConfigurationError


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class AuthSettings:
    session_ttl_hours: int = 12
    cookie_secure: bool = False
    login_attempts_per_window: int = 10
    login_window_seconds: int = 300


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str | None = None  # None → embedded SQLite in data_dir
    demo_password: str | None = None
    log_level: str = "INFO"
    run_background_tasks: bool = True  # the worker loops inside `serve`
    http: HttpSettings = field(default_factory=HttpSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "helpdesk.sqlite3"

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(f"HELPDESK_{name}")
            return value if value not in (None, "") else None

        database_url = get("DATABASE_URL")
        if database_url and not database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError("HELPDESK_DATABASE_URL must be a postgresql:// URL")
        return cls(
            data_dir=Path(get("DATA_DIR") or "var"),
            database_url=database_url,
            demo_password=get("DEMO_PASSWORD"),
            log_level=(get("LOG_LEVEL") or "INFO").upper(),
            run_background_tasks=_flag(get("BACKGROUND_TASKS"), default=True, name="BACKGROUND_TASKS"),
            http=HttpSettings(
                host=get("HOST") or "127.0.0.1",
                port=_int(get("PORT"), 8000, "PORT"),
                max_body_bytes=_int(get("MAX_BODY_BYTES"), 10 * 1024 * 1024, "MAX_BODY_BYTES"),
            ),
            auth=AuthSettings(
                session_ttl_hours=_int(get("SESSION_TTL_HOURS"), 12, "SESSION_TTL_HOURS"),
                cookie_secure=_flag(get("COOKIE_SECURE"), default=False, name="COOKIE_SECURE"),
                login_attempts_per_window=_int(get("LOGIN_ATTEMPTS"), 10, "LOGIN_ATTEMPTS"),
                login_window_seconds=_int(get("LOGIN_WINDOW_SECONDS"), 300, "LOGIN_WINDOW_SECONDS"),
            ),
        )


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"HELPDESK_{name} must be an integer, got {raw!r}") from None


def _flag(raw: str | None, *, default: bool, name: str) -> bool:
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"HELPDESK_{name} must be true or false, got {raw!r}")
