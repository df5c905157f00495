"""The dashboard API on a seeded desk: every figure equals the one worked out in Python from the
seeded rows, CSV matches JSON, agents are refused and bad input is named."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from httpx import AsyncClient
from litestar import Litestar

from helpdesk.clock import FrozenClock
from tests.integration.dashboard.seeding import (
    Seeded,
    compliance,
    day_start,
    decided_between,
    first_responses,
    nearest_rank,
    percent,
    risk,
    seed,
)
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock

DAYS = 30


@pytest.fixture
async def desk(agents: RoleAgents, app: Litestar, clock: ShiftableClock, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    now = clock.now().replace(microsecond=0)
    monkeypatch.setattr(app.state, "clock", FrozenClock(now))  # the seeded windows must not drift
    return await seed([agents.agent.id, agents.lead.id], now)


async def get(client: AsyncClient, agents: RoleAgents, path: str, **params) -> dict | list:
    response = await client.get(f"/api/dashboard/{path}", headers=agents.lead.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_tiles_equal_the_figures_worked_out_from_the_seed(client: AsyncClient, agents: RoleAgents,
                                                               desk: Seeded) -> None:
    now = desk.now
    tiles = await get(client, agents, "summary", days=DAYS)
    open_tickets = [t for t in desk.tickets if t.status != "solved"]
    assert tiles["open_backlog"] == len(open_tickets) > 0
    assert tiles["unassigned"] == sum(t.assignee is None for t in open_tickets)
    expected_risk = risk(desk, desk.clocks)
    assert tiles["at_risk"] == len(expected_risk["at_risk"]) > 0
    assert tiles["breached"] == len(expected_risk["breached"]) > 0
    assert tiles["compliance_today"] == compliance(desk.clocks, day_start(now, 1), now)
    assert tiles["compliance_7d"] == compliance(desk.clocks, now - timedelta(days=7), now)
    assert tiles["compliance_30d"] == compliance(desk.clocks, now - timedelta(days=30), now)
    assert 0 < tiles["compliance_30d"]["met"] < tiles["compliance_30d"]["measured"]
    answered = first_responses(desk.clocks, day_start(now, DAYS), now)
    assert len(answered) > 10
    assert tiles["first_response_p50_minutes"] == nearest_rank(answered, 0.5)
    assert tiles["first_response_p90_minutes"] == nearest_rank(answered, 0.9)


async def test_filters_by_team_and_policy_narrow_every_figure(client: AsyncClient, agents: RoleAgents,
                                                             desk: Seeded) -> None:
    now, team, policy = desk.now, desk.team_ids[0], desk.policy_ids[1]
    clocks = [c for c in desk.clocks if c.ticket.team == team and c.policy == policy]
    tickets_with_policy = {c.ticket.id for c in desk.clocks if c.policy == policy}
    tiles = await get(client, agents, "summary", days=7, team_id=team, policy_id=policy)
    assert tiles["open_backlog"] == sum(t.status != "solved" and t.team == team and t.id in tickets_with_policy
                                        for t in desk.tickets)
    assert tiles["compliance_30d"] == compliance(clocks, now - timedelta(days=30), now)
    answered = first_responses(clocks, day_start(now, 7), now)
    assert tiles["first_response_p50_minutes"] == nearest_rank(answered, 0.5)
    expected_risk = risk(desk, clocks)
    assert tiles["breached"] == len(expected_risk["breached"])


@pytest.mark.parametrize("by", ["team", "agent"])
async def test_breakdown_per_team_and_agent(client: AsyncClient, agents: RoleAgents, desk: Seeded, by: str) -> None:
    now, start = desk.now, day_start(desk.now, DAYS)
    rows = await get(client, agents, "breakdown", by=by, days=DAYS)
    key = (lambda t: t.team) if by == "team" else (lambda t: t.assignee)
    groups = {key(t) for t in desk.tickets}
    assert {row["group_id"] for row in rows} == groups
    for row in rows:
        mine = [t for t in desk.tickets if key(t) == row["group_id"]]
        clocks = [c for c in desk.clocks if key(c.ticket) == row["group_id"]]
        decided = decided_between(clocks, start, now)
        assert row["open"] == sum(t.status != "solved" for t in mine)
        assert row["solved"] == sum(t.solved_at is not None and start <= t.solved_at <= now for t in mine)
        assert (row["measured"], row["met"]) == (len(decided), sum(c.met for c in decided))
        assert row["compliance_percent"] == percent(row["met"], row["measured"])
        assert row["first_response_median_minutes"] == nearest_rank(first_responses(clocks, start, now), 0.5)
    names = [row["name"] for row in rows]
    assert ("Unassigned" if by == "agent" else "No team") == names[-1]


async def test_daily_series_backlog_breaches_and_compliance(client: AsyncClient, agents: RoleAgents,
                                                            desk: Seeded) -> None:
    now, start = desk.now, day_start(desk.now, DAYS)
    days = (await get(client, agents, "series", days=DAYS))["days"]
    assert len(days) == DAYS and days[-1]["day"] == now.date().isoformat()
    for index, point in enumerate(days):
        begin, end = start + timedelta(days=index), start + timedelta(days=index + 1)
        assert point["backlog"] == sum(t.created_at < end and not (t.solved_at and t.solved_at < end)
                                       for t in desk.tickets), point
        assert point["created"] == sum(begin <= t.created_at < end for t in desk.tickets)
        assert point["solved"] == sum(t.solved_at is not None and begin <= t.solved_at < end for t in desk.tickets)
        decided = [c for c in decided_between(desk.clocks, begin, now) if c.decided_at < end]
        breaches = [c for c in decided if not c.met]
        assert (point["measured"], point["breaches"]) == (len(decided), len(breaches))
        assert point["compliance_percent"] == percent(len(decided) - len(breaches), len(decided))
    assert days[-1]["backlog"] == sum(t.status != "solved" for t in desk.tickets)
    assert sum(point["breaches"] for point in days) > 0


@pytest.mark.parametrize("state", ["at_risk", "breached"])
async def test_ticket_lists_most_urgent_first(client: AsyncClient, agents: RoleAgents, desk: Seeded,
                                              state: str) -> None:
    expected = risk(desk, desk.clocks)[state]
    answer = await get(client, agents, "tickets", state=state, limit=5)
    assert answer["total"] == len(expected)
    assert [t["id"] for t in answer["tickets"]] == [ticket_id for _, ticket_id in expected[:5]]
    assert answer["tickets"][0]["number"] == f"T-{expected[0][1] + 1000}"


async def test_every_table_downloads_as_csv_matching_the_json(client: AsyncClient, agents: RoleAgents,
                                                              desk: Seeded) -> None:
    for path, params, rows_of in (
        ("breakdown", {"by": "team"}, lambda body: body),
        ("breakdown", {"by": "agent"}, lambda body: body),
        ("series", {}, lambda body: body["days"]),
        ("tickets", {"state": "breached", "limit": 500}, lambda body: body["tickets"]),
        ("tickets", {"state": "at_risk", "limit": 500}, lambda body: body["tickets"]),
    ):
        rows = rows_of(await get(client, agents, path, **params))
        response = await client.get(f"/api/dashboard/{path}.csv", headers=agents.lead.headers, params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"].startswith("attachment;")
        parsed = list(csv.DictReader(io.StringIO(response.text)))
        assert len(parsed) == len(rows) > 0, path
        for row, line in zip(rows, parsed, strict=True):
            for column, cell in line.items():
                value = row[column]
                if column == "due_at":  # ISO 8601 both, "Z" in JSON and "+00:00" in CSV
                    assert datetime.fromisoformat(cell) == datetime.fromisoformat(value)
                else:
                    assert cell == ("" if value is None else str(value)), (path, column)


async def test_agents_are_refused_and_admins_allowed(client: AsyncClient, agents: RoleAgents, desk: Seeded) -> None:
    for path in ("summary", "breakdown", "series", "tickets", "breakdown.csv", "series.csv", "tickets.csv"):
        refused = await client.get(f"/api/dashboard/{path}", headers=agents.agent.headers)
        assert refused.status_code == 403, path
        assert refused.json()["error"] == "permission_denied"
        assert (await client.get(f"/api/dashboard/{path}", headers=agents.admin.headers)).status_code == 200, path


@pytest.mark.parametrize(("path", "params", "field"), [
    ("summary", {"days": 0}, "days"),
    ("series", {"days": 400}, "days"),
    ("breakdown", {"by": "mailbox"}, "by"),
    ("tickets", {"state": "late"}, "state"),
    ("tickets", {"limit": 0}, "limit"),
])
async def test_bad_input_names_the_field(client: AsyncClient, agents: RoleAgents, path: str, params: dict,
                                         field: str) -> None:
    response = await client.get(f"/api/dashboard/{path}", headers=agents.lead.headers, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
