"""The ``helpdesk`` command. Every subcommand honours HELPDESK_DATA_DIR and HELPDESK_DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import signal
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
    from helpdesk.live import postgres_bus
    from helpdesk.workers import wire_domains

    engine = db.configure(settings)
    wire_domains()
    await db.start(engine)
    try:
        if migrate and not settings.uses_postgres:
            await db.migrate()
        if not settings.database_url:
            return await action()
        # On PostgreSQL this process's writes reach the browsers served by other processes.
        async with postgres_bus(settings.database_url):
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
    # No permessage-deflate on /ws: live messages are a few hundred bytes, and each socket's zlib
    # state costs about 45 KiB of memory and a compression per socket for every event fanned out.
    uvicorn.run(create_app(settings), host=settings.http.host, port=settings.http.port,
                log_level=settings.log_level.lower(), proxy_headers=False, ws_per_message_deflate=False)
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


def cmd_inbox_import(args: argparse.Namespace) -> int:
    from helpdesk.inbox.importer import import_path

    outcome = asyncio.run(_with_database(_settings(), lambda: import_path(Path(args.path), SystemClock())))
    print(json.dumps(dict(sorted(outcome.items()))))
    return 1 if outcome.get("failed") or outcome.get("quarantined") else 0


def cmd_worker(args: argparse.Namespace) -> int:
    from helpdesk.workers import run_background

    settings = _settings()

    async def work() -> None:
        worker = asyncio.create_task(run_background(SystemClock()))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    print("helpdesk worker running (mail intake and delivery)", flush=True)
    asyncio.run(_with_database(settings, work))
    return 0


MAILBOX_FIELDS = {
    # flag: (schema field, type, help)
    "--name": ("name", str, "a name for the mailbox"),
    "--address": ("addresses", "list", "an address it receives for (repeat for several)"),
    "--imap-host": ("imap_host", str, "IMAP server host"),
    "--imap-port": ("imap_port", int, "IMAP server port (993 for TLS, 143 for STARTTLS or none)"),
    "--imap-security": ("imap_security", ["tls", "starttls", "none"], "tls, starttls, or none (loopback hosts only)"),
    "--imap-username": ("imap_username", str, "IMAP login"),
    "--password-env": ("password_env", str, "read the password from this environment variable"),
    "--password-file": ("password_file", str, "read the password from this file"),
    "--folder": ("folder", str, "folder to read (default INBOX)"),
    "--after-ingest": ("after_ingest", ["flag", "move"], "flag ingested mail, or move it (see --move-to)"),
    "--move-to": ("move_to_folder", str, "folder to move ingested mail to"),
    "--default-team": ("default_team_id", int, "team id for new tickets"),
    "--default-priority": ("default_priority", ["low", "normal", "high", "urgent"], "priority for new tickets"),
    "--enabled": ("enabled", ["true", "false"], "poll this mailbox (true/false)"),
    "--smtp-host": ("smtp_host", str, "SMTP server host for replies and automatic mail"),
    "--smtp-port": ("smtp_port", int, "SMTP server port (465 for TLS, 587 for STARTTLS)"),
    "--smtp-security": ("smtp_security", ["tls", "starttls", "none"], "tls, starttls, or none (loopback hosts only)"),
    "--smtp-username": ("smtp_username", str, "SMTP login (leave out for servers without login)"),
    "--smtp-password-env": ("smtp_password_env", str, "read the SMTP password from this environment variable"),
    "--smtp-password-file": ("smtp_password_file", str, "read the SMTP password from this file"),
    "--from-address": ("from_address", str, "the From address of outgoing mail"),
    "--from-name": ("from_name", str, "the From display name of outgoing mail"),
    "--ack": ("ack_enabled", ["true", "false"], "acknowledge new tickets by mail (true/false)"),
    "--ack-limit": ("ack_limit_per_hour", int, "at most this many acknowledgements per sender and hour"),
    "--ack-subject": ("ack_subject_template", str, "acknowledgement subject (Jinja2 template)"),
    "--ack-body": ("ack_body_template", str, "acknowledgement body (Jinja2 template)"),
    "--signature": ("signature_template", str, "signature under agent replies (Jinja2 template)"),
}


def _mailbox_flags(parser: argparse.ArgumentParser) -> None:
    for flag, (_, kind, text) in MAILBOX_FIELDS.items():
        if kind == "list":
            parser.add_argument(flag, action="append", help=text)
        elif isinstance(kind, list):
            parser.add_argument(flag, choices=kind, help=text)
        else:
            parser.add_argument(flag, type=kind, help=text)


def _mailbox_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for flag, (field, kind, _) in MAILBOX_FIELDS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            values[field] = value == "true" if kind == ["true", "false"] else value
    return values


def cmd_mailbox(args: argparse.Namespace) -> int:
    import msgspec

    from helpdesk.inbox import service
    from helpdesk.inbox.schemas import MailboxCreate, MailboxUpdate

    now = SystemClock().now()

    async def act() -> Any:
        if args.mailbox_command == "list":
            return await service.list_mailboxes(SYSTEM)
        if args.mailbox_command == "add":
            return await service.create_mailbox(SYSTEM, msgspec.convert(_mailbox_values(args), MailboxCreate), now=now)
        if args.mailbox_command == "update":
            return await service.update_mailbox(SYSTEM, args.id, msgspec.convert(_mailbox_values(args), MailboxUpdate),
                                                now=now)
        if args.mailbox_command == "remove":
            await service.delete_mailbox(SYSTEM, args.id, now=now)
            return {"removed": args.id}
        return await asyncio.to_thread(service.check_connection, await service.mailbox_row(args.id))

    try:
        result = asyncio.run(_with_database(_settings(), act))
    except msgspec.ValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(msgspec.to_builtins(result), indent=2, default=str))
    return 0 if getattr(result, "ok", True) else 1


def _weekly_hours(specs: list[str]) -> dict[str, list[list[str]]]:
    """["0-4=09:00-12:00,13:00-17:00", "5=10:00-14:00"] → {"0": [["09:00", "12:00"], …], …}."""
    weekly: dict[str, list[list[str]]] = {}
    for spec in specs:
        days, _, hours = spec.partition("=")
        first, _, last = days.partition("-")
        for day in range(int(first), int(last or first) + 1):
            weekly[str(day)] = [interval.split("-", 1) for interval in hours.split(",") if interval]
    return weekly


def cmd_sla(args: argparse.Namespace) -> int:
    import msgspec

    from helpdesk.sla import service
    from helpdesk.sla.schemas import CalendarCreate, PolicyCreate, PolicyUpdate

    now = SystemClock().now()

    async def act() -> Any:
        if args.sla_command == "calendars":
            return await service.list_calendars()
        if args.sla_command == "add-calendar":
            data = {"name": args.name, "tz": args.tz, "always_open": args.always_open,
                    "weekly": _weekly_hours(args.hours or []), "holidays": args.holiday or [],
                    "holiday_country": args.holiday_country, "holiday_subdiv": args.holiday_subdiv}
            return await service.create_calendar(SYSTEM, msgspec.convert(data, CalendarCreate), now=now)
        if args.sla_command == "policies":
            return await service.list_policies()
        if args.sla_command == "add-policy":
            return await service.create_policy(SYSTEM, msgspec.json.decode(Path(args.file).read_bytes(),
                                                                           type=PolicyCreate), now=now)
        if args.sla_command == "update-policy":
            return await service.update_policy(SYSTEM, args.id, msgspec.json.decode(Path(args.file).read_bytes(),
                                                                                    type=PolicyUpdate), now=now)
        await service.delete_policy(SYSTEM, args.id, now=now)
        return {"removed": args.id}

    try:
        result = asyncio.run(_with_database(_settings(), act))
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(msgspec.to_builtins(result), indent=2, default=str))
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
    commands.add_parser("worker", help="run the background workers (mail intake) without the web app").set_defaults(
        handler=cmd_worker
    )

    mailbox = commands.add_parser("mailbox", help="manage the IMAP mailboxes mail is read from")
    mailbox_commands = mailbox.add_subparsers(dest="mailbox_command", required=True)
    mailbox_commands.add_parser("list", help="list mailboxes with their health").set_defaults(handler=cmd_mailbox)
    add = mailbox_commands.add_parser("add", help="add a mailbox")
    _mailbox_flags(add)
    add.set_defaults(handler=cmd_mailbox)
    update = mailbox_commands.add_parser("update", help="change a mailbox's settings")
    update.add_argument("id", type=int)
    _mailbox_flags(update)
    update.set_defaults(handler=cmd_mailbox)
    for name, text in (("remove", "remove a mailbox (stored mail is kept)"), ("test", "log in and report what is there")):
        command = mailbox_commands.add_parser(name, help=text)
        command.add_argument("id", type=int)
        command.set_defaults(handler=cmd_mailbox)

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

    sla = commands.add_parser("sla", help="manage SLA calendars and policies")
    sla_commands = sla.add_subparsers(dest="sla_command", required=True)
    sla_commands.add_parser("calendars", help="list calendars").set_defaults(handler=cmd_sla)
    calendar = sla_commands.add_parser("add-calendar", help="add a business-hours calendar")
    calendar.add_argument("--name", required=True)
    calendar.add_argument("--tz", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    calendar.add_argument("--always-open", action="store_true", help="24/7")
    calendar.add_argument("--hours", action="append", metavar="DAYS=HH:MM-HH:MM[,…]",
                          help="opening hours, days 0 (Monday) to 6, e.g. 0-4=09:00-12:00,13:00-17:00 (repeat)")
    calendar.add_argument("--holiday", action="append", metavar="YYYY-MM-DD", help="a closed date (repeat)")
    calendar.add_argument("--holiday-country", help="add public holidays of this country (e.g. DE)")
    calendar.add_argument("--holiday-subdiv", help="… and of this region (e.g. BY)")
    calendar.set_defaults(handler=cmd_sla)
    sla_commands.add_parser("policies", help="list policies in evaluation order").set_defaults(handler=cmd_sla)
    policy = sla_commands.add_parser("add-policy", help="add a policy from a JSON file (the API's PolicyCreate)")
    policy.add_argument("file", metavar="FILE")
    policy.set_defaults(handler=cmd_sla)
    change = sla_commands.add_parser("update-policy", help="change a policy from a JSON file of the fields to change")
    change.add_argument("id", type=int)
    change.add_argument("file", metavar="FILE")
    change.set_defaults(handler=cmd_sla)
    remove = sla_commands.add_parser("remove-policy", help="remove a policy")
    remove.add_argument("id", type=int)
    remove.set_defaults(handler=cmd_sla)

    inbox = commands.add_parser("inbox", help="mail intake tools").add_subparsers(dest="inbox_command", required=True)
    parse = inbox.add_parser("parse", help="parse mail files and print one JSON object per file")
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.set_defaults(handler=cmd_inbox_parse)
    importer = inbox.add_parser("import", help="ingest .eml files, mbox files or a directory of them (maildir too)")
    importer.add_argument("path", metavar="PATH")
    importer.set_defaults(handler=cmd_inbox_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging(_settings().log_level)
        return args.handler(args)
    except HelpdeskError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
