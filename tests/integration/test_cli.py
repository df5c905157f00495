"""The `helpdesk` command, run as users run it: a separate process on its own database."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.support.database import ENGINE, TestDatabase
from tests.support.postgres import free_port

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
COMMANDS = [[], ["serve"], ["migrate"], ["create-admin"], ["demo"], ["export"], ["inbox"], ["inbox", "parse"]]


@pytest.fixture
def cli_env(test_database: TestDatabase) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = tempfile.mkdtemp(prefix="helpdesk-cli-")
    if ENGINE == "postgres":
        env["HELPDESK_DATABASE_URL"] = test_database.new_postgres_database()
    return env


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([HELPDESK, *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "helpdesk")
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run([HELPDESK, *command, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "usage: helpdesk" in result.stdout


def test_migrate_admin_demo_twice_and_export(cli_env: dict[str, str]) -> None:
    assert "migrations applied" in run(cli_env, "migrate").stdout
    assert "created" in run(cli_env, "create-admin", "--email", "Boss@Example.com", "--password", "s3cret-pass").stdout
    assert "updated" in run(cli_env, "create-admin", "--email", "boss@example.com", "--password", "other-pass").stdout
    short = run(cli_env, "create-admin", "--email", "x@example.com", "--password", "short", check=False)
    assert short.returncode == 2 and "at least 8" in short.stderr

    first = run(cli_env, "demo").stdout
    assert "demo data created" in first and "admin@example.com / password: " in first
    assert "already present" in run(cli_env, "demo").stdout

    tickets = list(csv.DictReader(io.StringIO(run(cli_env, "export", "tickets").stdout)))
    assert len(tickets) == 50
    assert {t["status"] for t in tickets} <= {"new", "open", "pending", "on_hold", "solved", "closed"}
    assert all(t["number"] == f"T-{int(t['id']) + 1000}" for t in tickets)

    output = Path(cli_env["HELPDESK_DATA_DIR"]) / "messages.jsonl"
    run(cli_env, "export", "messages", "--format", "jsonl", "--output", str(output))
    messages = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(messages) >= 50
    required = {"ticket_id", "ticket_number", "id", "message_id", "kind", "from_address", "subject", "date"}
    assert required <= messages[0].keys()
    for kind in ("accounts", "contacts", "purchases", "activities"):
        rows = list(csv.DictReader(io.StringIO(run(cli_env, "export", kind).stdout)))
        assert rows, kind


def test_serve_with_demo_answers_login_and_schema(cli_env: dict[str, str]) -> None:
    port = free_port()
    env = {**cli_env, "HELPDESK_PORT": str(port), "HELPDESK_DEMO_PASSWORD": "demo-password-1"}
    if ENGINE == "postgres":
        run(env, "migrate")
    server = subprocess.Popen([HELPDESK, "serve", "--demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        with httpx.Client(base_url=base) as browser:
            login = browser.post("/api/auth/login", json={"email": "admin@example.com", "password": "demo-password-1"})
            assert login.status_code == 200, login.text
            assert login.json()["agent"]["role"] == "admin"
            page = browser.get("/api/tickets", params={"limit": 10}).json()
            assert len(page["items"]) == 10 and page["next"]
            # The demo comes with SLA policies and every ticket's clocks, so the dashboard has figures.
            summary = browser.get("/api/dashboard/summary", params={"days": 30}).json()
            assert summary["compliance_30d"]["measured"] > 0 and summary["first_response_p50_minutes"] is not None
            paths = browser.get("/schema/openapi.json").json()["paths"]
            for resource in ("tickets", "accounts", "contacts", "purchases", "activities", "agents", "teams",
                             "custom-fields"):
                assert f"/api/{resource}" in paths
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _mail(number: int, **headers: str) -> bytes:
    lines = [f"From: Customer {number} <c{number}@acme.example>", "To: support@helpdesk.example",
             f"Subject: Question {number}", f"Message-ID: <q{number}@acme.example>"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + f"\r\n\r\nQuestion number {number}.\r\n").encode()


def test_inbox_import_reads_eml_mbox_and_maildir_once(cli_env: dict[str, str], tmp_path: Path) -> None:
    if ENGINE == "postgres":
        run(cli_env, "migrate")
    (tmp_path / "one.eml").write_bytes(_mail(1))
    mbox = b"".join(b"From sender@example Sat Nov 28 10:00:00 2026\n" + _mail(n).replace(b"\r\n", b"\n") + b"\n"
                    for n in (2, 3))
    (tmp_path / "archive.mbox").write_bytes(mbox)
    for folder in ("cur", "new", "tmp"):  # a maildir; files are read in path order, so the reply comes last
        (tmp_path / "replies" / folder).mkdir(parents=True)
    (tmp_path / "replies" / "new" / "1700000000.M1P1.host").write_bytes(
        _mail(4, **{"In-Reply-To": "<q1@acme.example>"}))
    (tmp_path / "replies" / "tmp" / "half-written").write_bytes(b"not a mail yet")
    first = run(cli_env, "inbox", "import", str(tmp_path))
    assert json.loads(first.stdout) == {"processed": 4}
    second = run(cli_env, "inbox", "import", str(tmp_path))
    assert json.loads(second.stdout) == {"duplicate": 4}
    messages = list(csv.DictReader(io.StringIO(run(cli_env, "export", "messages").stdout)))
    assert len(messages) == 4
    by_id = {m["message_id"]: m for m in messages}
    assert by_id["q4@acme.example"]["ticket_id"] == by_id["q1@acme.example"]["ticket_id"]
    assert by_id["q4@acme.example"]["thread_reason"] == "in_reply_to"


def test_inbox_parse_prints_one_json_object_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(_mail(1, **{"Auto-Submitted": "auto-replied"}))
    (tmp_path / "b.eml").write_bytes(b"\xff\xfe garbage without headers")
    result = subprocess.run([HELPDESK, "inbox", "parse", str(tmp_path / "a.eml"), str(tmp_path / "b.eml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert first["message_id"] == "q1@acme.example" and first["auto_generated"] == "auto_reply"
    assert first["from"] == {"name": "Customer 1", "address": "c1@acme.example"}
    assert second["file"].endswith("b.eml") and second["message_id"].endswith("@synthetic.helpdesk.invalid")
