"""Calendars and policies through the API and the CLI: clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from httpx import AsyncClient

from tests.support.agents import RoleAgents
from tests.support.database import ENGINE

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
OFFICE = {"name": "Office", "tz": "Europe/Berlin", "weekly": {"0": [["09:00", "12:00"], ["13:00", "17:00"]]}}


@pytest.mark.parametrize(("change", "field"), [
    ({"tz": "Mars/Olympus_Mons"}, "tz"),
    ({"weekly": {"0": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "weekly"),  # overlapping
    ({"weekly": {"1": [["17:00", "09:00"]]}}, "weekly"),  # ends before it starts
    ({"weekly": {}}, "weekly"),  # empty schedule
    ({"weekly": {"7": [["09:00", "17:00"]]}}, "weekly"),  # no such weekday
    ({"holiday_country": "XX"}, "holiday_country"),
])
async def test_bad_calendars_are_refused_naming_the_field(client: AsyncClient, agents: RoleAgents, change, field) -> None:
    response = await client.post("/api/sla/calendars", json={**OFFICE, **change}, headers=agents.admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith(field)
    assert (await client.get("/api/sla/calendars", headers=agents.agent.headers)).json() == []


async def test_policies_are_checked_and_ordered(client: AsyncClient, agents: RoleAgents) -> None:
    calendar = (await client.post("/api/sla/calendars", json=OFFICE, headers=agents.admin.headers)).json()
    policy = {"name": "VIP", "calendar_id": calendar["id"], "position": 2,
              "targets": {"urgent": {"first_response": 15, "resolution": 240}}}
    nothing = await client.post("/api/sla/policies", headers=agents.admin.headers,
                                json={**policy, "conditions": {"team_ids": [999]}})
    assert nothing.status_code == 422 and nothing.json()["field"] == "conditions.team_ids"
    no_target = await client.post("/api/sla/policies", headers=agents.admin.headers, json={**policy, "targets": {}})
    assert no_target.status_code == 422 and no_target.json()["field"] == "targets"
    bad_level = await client.post("/api/sla/policies", headers=agents.admin.headers,
                                  json={**policy, "escalations": [{"level": "later", "actions": []}]})
    assert bad_level.status_code == 422
    missing_calendar = await client.post("/api/sla/policies", headers=agents.admin.headers,
                                         json={**policy, "calendar_id": 999})
    assert missing_calendar.status_code == 404
    first = await client.post("/api/sla/policies", headers=agents.admin.headers, json=policy)
    second = await client.post("/api/sla/policies", headers=agents.admin.headers,
                               json={**policy, "name": "Default", "position": 1})
    assert first.status_code == second.status_code == 201
    names = [p["name"] for p in (await client.get("/api/sla/policies", headers=agents.agent.headers)).json()]
    assert names == ["Default", "VIP"]


def test_cli_manages_calendars_and_policies(test_database, tmp_path: Path) -> None:
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = str(tmp_path / "data")
    if ENGINE == "postgres":
        env["HELPDESK_DATABASE_URL"] = test_database.new_postgres_database()
        subprocess.run([HELPDESK, "migrate"], env=env, check=True, capture_output=True)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HELPDESK, "sla", *args], env=env, capture_output=True, text=True, timeout=120)

    added = run("add-calendar", "--name", "Office", "--tz", "Europe/Berlin", "--hours", "0-4=09:00-12:00,13:00-17:00",
                "--holiday", "2026-12-24", "--holiday-country", "DE")
    assert added.returncode == 0, added.stderr
    calendar = json.loads(added.stdout)
    assert calendar["weekly"]["4"] == [["09:00", "12:00"], ["13:00", "17:00"]] and "5" not in calendar["weekly"]
    overlapping = run("add-calendar", "--name", "Bad", "--hours", "0=09:00-12:00,11:00-13:00")
    assert overlapping.returncode == 2 and "overlaps" in overlapping.stderr
    (tmp_path / "policy.json").write_text(json.dumps(
        {"name": "Standard", "calendar_id": calendar["id"], "targets": {"normal": {"first_response": 60}}}))
    assert run("add-policy", str(tmp_path / "policy.json")).returncode == 0
    listed = json.loads(run("policies").stdout)
    assert [p["name"] for p in listed] == ["Standard"]
    assert run("remove-policy", str(listed[0]["id"])).returncode == 0
    assert json.loads(run("policies").stdout) == []
