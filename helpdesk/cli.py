"""The ``helpdesk`` command. Every subcommand honours HELPDESK_DATA_DIR and HELPDESK_DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from helpdesk import db
from helpdesk.actors import SYSTEM
from helpdesk.auth.passwords import MIN_PASSWORD_LENGTH
from helpdesk.clock import SystemClock
from helpdesk.errors import HelpdeskError
from helpdesk.logging import configure_logging
from helpdesk.settings import Settings


def _settings() -> Settings:
    return Settings.from_env(os.environ)


async def _with_database(settings: Settings, action: Callable[[], Awaitable[Any]], *, migrate: bool = True) -> Any:
    engine = db.configure(settings)
    await db.start(engine)
    try:
        if migrate and not settings.uses_postgres:
            await db.migrate()
        return await action()
    finally:
        await db.stop(engine)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from helpdesk.app import create_app

    settings = _settings()
    if args.demo:
        cmd_demo(args)
    print(f"helpdesk serving on http://{settings.http.host}:{settings.http.port}", flush=True)
    uvicorn.run(create_app(settings), host=settings.http.host, port=settings.http.port,
                log_level=settings.log_level.lower(), proxy_headers=False)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(_with_database(settings, db.migrate, migrate=False))
    print("migrations applied")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from helpdesk.auth.service import ensure_admin

    email = args.email or input("Email: ").strip()
    password = args.password or getpass.getpass("Password: ")
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"error: the password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
        return 2
    now = SystemClock().now()
    agent, created = asyncio.run(
        _with_database(_settings(), lambda: ensure_admin(email, password, name=args.name or email, now=now))
    )
    print(f"admin {agent.email} {'created' if created else 'updated'} (id {agent.id})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from helpdesk.demo import DEMO_ADMIN_EMAIL, seed_demo

    settings = _settings()
    result = asyncio.run(
        _with_database(settings, lambda: seed_demo(now=SystemClock().now(), admin_password=settings.demo_password))
    )
    if result.created:
        print("demo data created")
    else:
        print("demo data already present; nothing added")
    if result.admin_password and not settings.demo_password:
        print(f"demo admin: {DEMO_ADMIN_EMAIL} / password: {result.admin_password}")
    elif result.admin_password:
        print(f"demo admin: {DEMO_ADMIN_EMAIL} (password from HELPDESK_DEMO_PASSWORD)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from helpdesk.exports.service import export

    async def write() -> None:
        output = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
        try:
            async for chunk in export(SYSTEM, args.kind, args.format):
                output.write(chunk)
        finally:
            if args.output:
                output.close()

    asyncio.run(_with_database(_settings(), write))
    return 0


def cmd_inbox_parse(args: argparse.Namespace) -> int:
    from helpdesk.inbox.parse import parse_message, parsed_to_json

    for name in args.files:
        parsed = parse_message(Path(name).read_bytes())
        print(json.dumps(parsed_to_json(parsed, file=name), ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from helpdesk.exports.service import EXPORTS

    parser = argparse.ArgumentParser(
        prog="helpdesk",
        description="helpdesk: customer-service helpdesk CRM. Settings come from HELPDESK_* variables "
        "(HELPDESK_DATA_DIR, HELPDESK_DATABASE_URL, ...); see the README.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the web app and API (and the background workers)")
    serve.add_argument("--demo", action="store_true", help="seed the demo data first when it is missing")
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)

    admin = commands.add_parser("create-admin", help="create an admin, or reset an admin's password")
    admin.add_argument("--email", help="the admin's email (prompted when missing)")
    admin.add_argument("--password", help="the password (prompted when missing)")
    admin.add_argument("--name", help="display name (defaults to the email)")
    admin.set_defaults(handler=cmd_create_admin)

    demo = commands.add_parser("demo", help="seed realistic demo data and the demo admin; safe to run twice")
    demo.set_defaults(handler=cmd_demo)

    export = commands.add_parser("export", help="export records as CSV or JSON Lines")
    export.add_argument("kind", choices=sorted(EXPORTS))
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--output", help="write to this file instead of standard output")
    export.set_defaults(handler=cmd_export)

    inbox = commands.add_parser("inbox", help="mail intake tools").add_subparsers(dest="inbox_command", required=True)
    parse = inbox.add_parser("parse", help="parse mail files and print one JSON object per file")
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.set_defaults(handler=cmd_inbox_parse)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging(_settings().log_level)
        return args.handler(args)
    except HelpdeskError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
