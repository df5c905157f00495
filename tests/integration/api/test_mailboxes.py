"""Mailbox settings through the API: validated, audited, and never revealing the password."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.support.agents import RoleAgents
from tests.support.dovecot import Dovecot

BASE = {"name": "support", "addresses": ["Support@Helpdesk.example"], "imap_host": "imap.example.com",
        "imap_username": "support", "password_env": "SUPPORT_IMAP_PASSWORD"}


async def test_create_and_read_without_secrets(client: AsyncClient, agents: RoleAgents, monkeypatch) -> None:
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", "hunter2-secret")
    created = await client.post("/api/mailboxes", json=BASE, headers=agents.admin.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["addresses"] == ["support@helpdesk.example"]
    assert body["password_source"] == "env:SUPPORT_IMAP_PASSWORD"
    assert body["imap_port"] == 993 and body["imap_security"] == "tls" and body["folder"] == "INBOX"
    assert body["health"]["state"] == "idle" and body["last_uid"] == 0
    everything = str(body) + (await client.get("/api/mailboxes", headers=agents.admin.headers)).text
    assert "hunter2" not in everything
    audit = (await client.get(f"/api/audit/mailbox/{body['id']}", headers=agents.admin.headers)).text
    assert "hunter2" not in audit


@pytest.mark.parametrize(("change", "field"), [
    ({"imap_security": "none"}, "imap_security"),  # plain IMAP only to loopback hosts
    ({"password_file": "/run/secrets/imap"}, "password_env"),  # two password sources
    ({"password_env": None}, "password_env"),  # none at all
    ({"after_ingest": "move"}, "move_to_folder"),
    ({"imap_port": 70000}, "imap_port"),
    ({"addresses": []}, "addresses"),
    ({"default_team_id": 999}, "default_team_id"),
])
async def test_invalid_settings_name_the_field(client: AsyncClient, agents: RoleAgents, change, field) -> None:
    response = await client.post("/api/mailboxes", json={**BASE, **change}, headers=agents.admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert (await client.get("/api/mailboxes", headers=agents.admin.headers)).json() == []


async def test_update_switches_password_source_and_checks_rules(client: AsyncClient, agents: RoleAgents) -> None:
    mailbox = (await client.post("/api/mailboxes", json=BASE, headers=agents.admin.headers)).json()
    url = f"/api/mailboxes/{mailbox['id']}"
    switched = await client.patch(url, json={"password_file": "/run/secrets/imap"}, headers=agents.admin.headers)
    assert switched.json()["password_source"] == "file:/run/secrets/imap"
    loopback = await client.patch(url, json={"imap_host": "127.0.0.1", "imap_security": "none", "imap_port": 143},
                                  headers=agents.admin.headers)
    assert loopback.status_code == 200
    remote_plain = await client.patch(url, json={"imap_host": "imap.example.com"}, headers=agents.admin.headers)
    assert remote_plain.status_code == 422 and remote_plain.json()["field"] == "imap_security"
    duplicate = await client.post("/api/mailboxes", json=BASE, headers=agents.admin.headers)
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "name"


async def test_connection_check_reports_what_it_found(client: AsyncClient, agents: RoleAgents, dovecot: Dovecot,
                                                      monkeypatch) -> None:
    user = dovecot.new_user()
    dovecot.append(user.name, b"Subject: hi\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n")
    monkeypatch.setenv("CHECK_IMAP_PASSWORD", user.password)
    mailbox = (await client.post("/api/mailboxes", json={
        **BASE, "imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_security": "none",
        "imap_username": user.name, "password_env": "CHECK_IMAP_PASSWORD"}, headers=agents.admin.headers)).json()
    good = (await client.post(f"/api/mailboxes/{mailbox['id']}/test", headers=agents.admin.headers)).json()
    assert good["ok"] is True and good["messages"] == 1 and good["idle_supported"] is True
    monkeypatch.setenv("CHECK_IMAP_PASSWORD", "wrong")
    bad = (await client.post(f"/api/mailboxes/{mailbox['id']}/test", headers=agents.admin.headers)).json()
    assert bad["ok"] is False and "wrong" not in bad["detail"]
