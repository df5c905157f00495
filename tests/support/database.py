"""Test database selection: SQLite (default) or PostgreSQL, chosen by HELPDESK_TEST_ENGINE."""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from helpdesk import db
from helpdesk.settings import Settings
from tests.support.postgres import PrivatePostgres

ENGINE = os.environ.get("HELPDESK_TEST_ENGINE", "sqlite")
if ENGINE not in ("sqlite", "postgres"):
    raise RuntimeError(f"HELPDESK_TEST_ENGINE must be sqlite or postgres, not {ENGINE!r}")


class TestDatabase:
    """Owns the data dir and, for PostgreSQL, a private cluster (or a database on HELPDESK_TEST_DATABASE_URL)."""

    def __init__(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="helpdesk-test-"))
        self.postgres: PrivatePostgres | None = None
        self.database_url: str | None = None
        if ENGINE == "postgres":
            self.database_url = self.new_postgres_database()

    def new_postgres_database(self) -> str:
        name = f"helpdesk_test_{uuid.uuid4().hex[:10]}"
        server_url = os.environ.get("HELPDESK_TEST_DATABASE_URL")
        if server_url:
            import asyncio

            import asyncpg

            async def create() -> None:
                connection = await asyncpg.connect(server_url)
                try:
                    await connection.execute(f'CREATE DATABASE "{name}"')
                finally:
                    await connection.close()

            asyncio.run(create())
            return server_url.rsplit("/", 1)[0] + "/" + name
        if self.postgres is None:
            self.postgres = PrivatePostgres().start()
        return self.postgres.create_database(name)

    def settings(self, **changes) -> Settings:
        base = Settings(data_dir=self.data_dir, database_url=self.database_url, run_background_tasks=False)
        return replace(base, **changes)

    def close(self) -> None:
        if self.postgres:
            self.postgres.stop()


async def wipe_all_tables() -> None:
    """Empty every table between tests (faster than migrating a new database each time)."""
    tables = [table._meta.tablename for table in db.all_tables()]
    engine = db.current_engine()
    if db.is_postgres():
        await engine.run_ddl(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        async with engine.transaction():
            for table in reversed(tables):  # children before parents: some keys restrict deletes
                await engine.run_ddl(f"DELETE FROM {table}")
