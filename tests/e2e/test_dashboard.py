"""The SLA dashboard in a real browser: a breach appears live, every table downloads as CSV,
and agents are refused. Screenshots go to test-artifacts/."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import msgspec
from playwright.async_api import Page, expect

from helpdesk.actors import SYSTEM
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import AgentCreate
from helpdesk.sla import service as sla
from helpdesk.sla.runner import SlaRunner
from helpdesk.sla.schemas import CalendarCreate, PolicyCreate
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import NewRequester, TicketCreate
from tests.e2e.browser import PageWatch, log_in
from tests.e2e.desk import PASSWORD, Desk
from tests.integration.dashboard.seeding import seed
from tests.support.clock import ShiftableClock


async def lead_page(page: Page, now, *, email: str = "lena@example.com") -> Page:
    await auth.create_agent(SYSTEM, AgentCreate(name="Lena Lead", email=email, role="lead", password=PASSWORD), now=now)
    await log_in(page, email, PASSWORD)
    await page.click("[data-testid=dashboard-link]")
    await expect(page.locator("[data-testid=tile-backlog] strong")).to_be_visible()
    return page


async def one_hour_first_response(now) -> None:
    calendar = await sla.create_calendar(SYSTEM, CalendarCreate(name="Around the clock", always_open=True), now=now)
    await sla.create_policy(SYSTEM, msgspec.convert({
        "name": "One hour", "calendar_id": calendar.id,
        "targets": {p: {"first_response": 60} for p in ("low", "normal", "high", "urgent")},
        "escalations": [{"level": "breach", "actions": [{"type": "add_tag", "tag": "sla-breach"}]}],
    }, PolicyCreate), now=now)


async def test_a_breach_appears_live_on_an_open_dashboard(page: Page, desk: Desk, clock: ShiftableClock,
                                                          watch: PageWatch, artifacts: Path) -> None:
    await one_hour_first_response(clock.now())
    created = await tickets.create_ticket(SYSTEM, TicketCreate(
        subject="Checkout page returns 500", requester=NewRequester(name="Dee Diaz", email="dee@shop.example"),
        text="Customers cannot pay."), now=clock.now())
    ticket = created.ticket
    runner = SlaRunner(clock)
    await runner.tick()  # the first-response clocks start: due in an hour, so at risk already

    page = await lead_page(page, clock.now())
    await expect(page.locator("[data-testid=live-status]")).to_have_text("Live")
    at_risk = page.locator(f"[data-testid=list-at-risk] tr[data-ticket-id='{ticket.id}']")
    await expect(at_risk).to_contain_text(ticket.number)
    await expect(page.locator("[data-testid=tile-breached] strong")).to_have_text("0")
    at_risk_before = int(await page.locator("[data-testid=tile-at-risk] strong").inner_text())

    clock.advance(timedelta(minutes=61))
    await runner.tick()  # fires the breach and publishes it; the page has not been touched

    breached = page.locator(f"[data-testid=list-breached] tr[data-ticket-id='{ticket.id}']")
    await expect(breached).to_contain_text("Checkout page returns 500")
    await expect(at_risk).to_have_count(0)
    await expect(page.locator("[data-testid=tile-breached] strong")).to_have_text(str(at_risk_before))
    await expect(page.locator("[data-testid=tile-at-risk] strong")).to_have_text("0")
    await page.screenshot(path=str(artifacts / "dashboard-live-breach.png"), full_page=True)

    await breached.locator("a").click()  # the list links to the ticket
    await expect(page.locator("[data-testid=ticket-number]")).to_have_text(ticket.number)
    assert watch.errors == []


async def test_a_busy_desk_with_charts_and_csv_downloads(page: Page, clean_db: None, clock: ShiftableClock,
                                                         watch: PageWatch, artifacts: Path) -> None:
    now = clock.now()
    agent_ids = [(await auth.create_agent(SYSTEM, AgentCreate(name=name, email=f"{name.split()[0].lower()}@example.com"),
                                          now=now)).id for name in ("Alex Agent", "Sam Support", "Kim Billing")]
    seeded = await seed(agent_ids, now, tickets=240, seed_value=11, on_time=0.85)
    page = await lead_page(page, now)

    open_tickets = sum(t.status != "solved" for t in seeded.tickets)
    await expect(page.locator("[data-testid=tile-backlog] strong")).to_have_text(str(open_tickets))
    for chart in ("chart-backlog", "chart-breaches", "chart-compliance"):
        await expect(page.locator(f"[data-testid={chart}] canvas")).to_have_count(1)
    await expect(page.locator("[data-testid=table-teams] tbody tr")).to_have_count(3)  # two teams and "No team"
    await expect(page.locator("[data-testid=table-agents] tbody tr")).to_have_count(4)  # three agents, unassigned
    await page.screenshot(path=str(artifacts / "dashboard.png"))  # the first screenful, as in the README

    async with page.expect_download() as download_info:
        await page.locator("[data-testid=table-teams] a.csv").click()
    download = await download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text())))
    assert download.suggested_filename == "sla-by-team.csv"
    assert [row["name"] for row in rows] == ["Billing", "Support", "No team"]
    assert sum(int(row["open"]) for row in rows) == open_tickets

    await page.select_option("select[name=team]", label="Billing")
    billing_open = sum(t.status != "solved" and t.team == seeded.team_ids[1] for t in seeded.tickets)
    await expect(page.locator("[data-testid=tile-backlog] strong")).to_have_text(str(billing_open))
    await expect(page.locator("[data-testid=table-teams] tbody tr")).to_have_count(1)
    assert watch.errors == []


async def test_agents_are_told_the_dashboard_is_for_leads(agent_page: Page) -> None:
    await expect(agent_page.locator("[data-testid=dashboard-link]")).to_have_count(0)
    await agent_page.goto("/#/dashboard")
    await expect(agent_page.locator("[data-testid=dashboard-refused]")).to_contain_text("for team leads and admins")
    await expect(agent_page.locator("[data-testid=tile-backlog]")).to_have_count(0)
