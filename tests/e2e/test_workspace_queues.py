"""The agent workspace's queues and working aids in a real browser: exact counts, breaching soon,
saved filters, SLA countdowns, remote images on request, reloads, presence on connect, shortcuts."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import msgspec
from playwright.async_api import Page, Route, expect

from helpdesk.actors import SYSTEM
from helpdesk.sla import service as sla
from helpdesk.sla.runner import SlaRunner
from helpdesk.sla.schemas import CalendarCreate, PolicyCreate
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import TicketCreate
from tests.e2e.browser import PageWatch, log_in
from tests.e2e.desk import PIXEL_PNG, Desk
from tests.support.clock import ShiftableClock


async def open_ticket(page: Page, ticket_id: int) -> None:
    await page.goto(f"/#/tickets/{ticket_id}")
    await expect(page.locator("[data-testid=ticket-number]")).to_be_visible()


async def urgent_policy(clock: ShiftableClock) -> None:
    """24/7, warning at half the time: urgent tickets answer within 30 minutes, high ones within 130,
    normal ones within 8 hours; a breach tags the ticket."""
    now = clock.now()
    calendar = await sla.create_calendar(SYSTEM, CalendarCreate(name="24/7", always_open=True), now=now)
    await sla.create_policy(SYSTEM, msgspec.convert({
        "name": "Standard", "calendar_id": calendar.id, "warn_percent": 50,
        "targets": {"urgent": {"first_response": 30}, "high": {"first_response": 130},
                    "normal": {"first_response": 480}},
        "escalations": [{"level": "breach", "actions": [{"type": "add_tag", "tag": "sla-breach"}]}],
    }, PolicyCreate), now=now)


async def urgent_ticket(clock: ShiftableClock, desk: Desk, subject: str, priority: str = "urgent") -> int:
    created = await tickets.create_ticket(
        SYSTEM, TicketCreate(subject=subject, requester_id=desk.ann_id, priority=priority, text="Help!"), now=clock.now()
    )
    return created.ticket.id


async def test_queues_show_exact_counts_breaching_soon_and_saved_filters(
    agent_page: Page, desk: Desk, clock: ShiftableClock, artifacts: Path
) -> None:
    page = agent_page
    await urgent_policy(clock)
    # Opened 40 minutes ago: its 30-minute first response is overdue.
    clock.advance(timedelta(minutes=-40))
    await urgent_ticket(clock, desk, "Server room flooded")
    clock.advance(timedelta(minutes=40))
    await urgent_ticket(clock, desk, "Checkout down")
    await SlaRunner(clock).tick()

    # The two new tickets are unassigned and open: they join Unassigned and All open.
    for queue, count in {**desk.counts, "unassigned": "3", "open": "4", "breaching": "2"}.items():
        await expect(page.locator(f"[data-testid=count-{queue}]")).to_have_text(count)

    await page.click("[data-queue=breaching]")
    await expect(page.locator("h1")).to_have_text("Breaching soon")
    rows = page.locator(".ticket-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("Server room flooded")  # the longest overdue first
    await expect(rows.nth(0).locator("[data-testid=sla-countdown]")).to_have_attribute("data-level", "breached")
    await expect(rows.nth(0).locator("[data-testid=sla-countdown]")).to_contain_text("over")
    await expect(rows.nth(1)).to_contain_text("Checkout down")
    await expect(rows.nth(1).locator("[data-testid=sla-countdown]")).to_have_attribute("data-level", "ok")
    await expect(rows.nth(1).locator("[data-testid=sla-countdown]")).to_contain_text("m")
    await page.screenshot(path=str(artifacts / "queue-breaching-soon.png"), full_page=True)

    # Every list shows the countdown to each ticket's next due clock.
    await page.click("[data-queue=open]")
    await expect(page.locator(".ticket-table tbody tr")).to_have_count(4)
    await expect(page.locator(f"tr:has-text('Server room flooded') [data-testid=sla-countdown]")).to_have_class(
        "sla-countdown sla-breached")
    await page.screenshot(path=str(artifacts / "queue-all-open.png"), full_page=True)

    # Narrow the list, save it under a name: it becomes a queue of its own with its own count.
    await page.select_option("select[name=filter-priority]", "urgent")
    await expect(page.locator(".ticket-table tbody tr")).to_have_count(2)
    await page.click("[data-testid=save-filter]")
    await page.fill("input[name=filter-name]", "Urgent open")
    await page.press("input[name=filter-name]", "Enter")
    await expect(page.locator("h1")).to_have_text("Urgent open")
    saved = page.locator("[data-testid=saved-filters] a", has_text="Urgent open")
    await expect(saved.locator(".count")).to_have_text("2")

    # A new ticket: the counts follow live, without a reload or polling.
    await urgent_ticket(clock, desk, "Payments failing")
    await expect(saved.locator(".count")).to_have_text("3")
    await expect(page.locator("[data-testid=count-open]")).to_have_text("5")
    await expect(page.locator(".ticket-table tbody tr")).to_have_count(3)

    # Saved filters are kept on the server: a reload still lists it.
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Urgent open")
    await expect(page.locator("[data-testid=saved-filters] a", has_text="Urgent open")).to_be_visible()
    await page.screenshot(path=str(artifacts / "queue-saved-filter.png"), full_page=True)
    await page.click("[data-testid=delete-saved-filter]")
    await expect(page.locator("[data-testid=saved-filters]")).to_have_count(0)


async def test_a_ticket_that_starts_warning_enters_breaching_soon_without_any_event(
    page: Page, desk: Desk, clock: ShiftableClock
) -> None:
    await urgent_policy(clock)
    # High priority: due after 130 minutes, warning after 65. Opened so that it warns 5 s from now,
    # while its due time is still beyond the one-hour window.
    clock.advance(timedelta(minutes=-65, seconds=5))
    await urgent_ticket(clock, desk, "Slowly warming up", priority="high")
    clock.offset = timedelta()
    await SlaRunner(clock).tick()

    await log_in(page, desk.agent.email, desk.password)
    count = page.locator("[data-testid=count-breaching]")
    await expect(count).to_have_text("0")
    # Nothing is written and no event is sent: the app recounts at the time the server named.
    await expect(count).to_have_text("1", timeout=15_000)


async def test_the_ticket_view_counts_down_and_turns_red_on_a_live_breach(
    agent_page: Page, desk: Desk, clock: ShiftableClock, artifacts: Path
) -> None:
    page = agent_page
    await urgent_policy(clock)
    runner = SlaRunner(clock)
    ticket_id = await urgent_ticket(clock, desk, "Database down")
    await runner.tick()
    await open_ticket(page, ticket_id)
    badge = page.locator("[data-testid=sla-badges] [data-target=first_response] [data-testid=sla-countdown]")
    await expect(badge).to_have_attribute("data-level", "ok")
    await expect(badge).to_contain_text(re.compile(r"First response: 2[89]m"))  # 30 minutes, ticking down

    # Forty minutes later the scheduler fires the breach: the badge follows the `sla` event.
    clock.advance(timedelta(minutes=40))
    await runner.tick()
    first_response = page.locator("[data-testid=sla-badges] [data-target=first_response]")
    await expect(first_response).to_have_attribute("data-state", "breached")
    await expect(first_response).to_contain_text("First response")
    await expect(first_response.locator(".sla-breached")).to_have_count(1)
    # The breach's action (a tag) reached the open ticket too.
    await expect(page.locator(".properties .tags")).to_contain_text("sla-breach")
    await page.screenshot(path=str(artifacts / "ticket-view-sla.png"), full_page=True)


async def test_remote_images_load_only_after_the_agent_allows_them(
    agent_page: Page, desk: Desk, watch: PageWatch, artifacts: Path
) -> None:
    page = agent_page
    requested: list[str] = []

    async def tracker(route: Route) -> None:
        requested.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=PIXEL_PNG)

    await page.route("https://tracker.example/**", tracker)
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if "tracker.example" in request.url else None)

    await open_ticket(page, desk.fire.id)
    mail = page.frame_locator("[data-testid=message-frame] >> nth=0")
    await expect(mail.locator("b")).to_have_text("on fire")
    await page.wait_for_timeout(500)  # time for any image to be requested
    assert requested == [] and seen == []

    switch = page.locator("[data-testid=remote-images-switch]").first
    await expect(switch).to_have_text("Show remote images")
    await switch.click()
    shown = page.frame_locator("[data-remote-images=shown]")
    await expect(shown.locator("img[src='https://tracker.example/pixel.gif']")).to_have_count(1)
    await expect(shown.locator("b")).to_have_text("on fire")
    for _ in range(50):
        if requested:
            break
        await page.wait_for_timeout(100)
    assert requested == ["https://tracker.example/pixel.gif"]
    # Still nothing runs in there: the sanitiser dropped the handlers, the sandbox would stop them.
    await expect(shown.locator("img[src^='data:image/png']")).to_have_count(1)  # the inline cid: image
    await page.screenshot(path=str(artifacts / "ticket-view-remote-images.png"), full_page=True)

    await switch.click()
    await expect(page.locator("[data-remote-images=shown]")).to_have_count(0)
    assert watch.dialogs == [] and await page.evaluate("() => window.pwned") is None


async def test_a_reload_keeps_the_agent_logged_in(agent_page: Page, desk: Desk) -> None:
    page = agent_page
    await open_ticket(page, desk.invoice.id)
    await page.reload()
    await expect(page.locator("[data-testid=current-agent]")).to_have_text("Alex Agent")
    await expect(page.locator(".ticket-header h1")).to_have_text("Invoice shows the wrong VAT")
    await expect(page.locator("[data-testid=live-status]")).to_have_text("Live")
    # Writes still carry the CSRF token the reload got back from the session.
    await page.click("text=Internal note")
    await page.fill("textarea[name=body]", "Written after a reload.")
    await page.click("button:has-text('Add note')")
    await expect(page.locator("article.message").filter(has_text="Written after a reload.")).to_have_count(1)

    # A fresh browser without the cookie still gets the login screen.
    await page.context.clear_cookies()
    await page.reload()
    await expect(page.locator("input[name=email]")).to_be_visible()


async def test_a_tab_that_connects_sees_who_is_already_on_a_ticket(page: Page, second_page: Page, desk: Desk) -> None:
    colleague = await log_in(second_page, desk.colleague.email, desk.password)
    await open_ticket(colleague, desk.invoice.id)
    await expect(colleague.locator("[data-testid=live-status]")).to_have_text("Live")
    await colleague.wait_for_timeout(300)  # the server has taken note of the colleague's presence

    agent = await log_in(page, desk.agent.email, desk.password)
    await agent.click("[data-queue=open]")
    row = agent.locator(f"tr[data-ticket-number='{desk.invoice.number}']")
    # Nobody changes anything: what shows came with the connection.
    await expect(row.locator("[data-testid=presence]")).to_contain_text("SS")


async def test_keyboard_shortcuts_drive_the_list_and_the_ticket(agent_page: Page, desk: Desk, artifacts: Path) -> None:
    page = agent_page
    await page.click("[data-queue=open]")
    rows = page.locator(".ticket-table tbody tr")
    await expect(rows).to_have_count(2)

    await page.keyboard.press("?")
    help_dialog = page.locator("[data-testid=shortcut-help]")
    await expect(help_dialog).to_contain_text("Assign the ticket to me")
    await page.screenshot(path=str(artifacts / "shortcut-help.png"))
    await page.keyboard.press("Escape")
    await expect(help_dialog).to_have_count(0)

    await expect(rows.nth(0)).to_have_class("selected")
    await page.keyboard.press("j")
    await expect(rows.nth(1)).to_have_class("selected")
    await page.keyboard.press("k")
    await expect(rows.nth(0)).to_have_class("selected")
    await page.keyboard.press("j")
    target = await rows.nth(1).get_attribute("data-ticket-number")
    await page.keyboard.press("o")
    await expect(page.locator("[data-testid=ticket-number]")).to_have_text(target or "")

    await page.go_back()
    await expect(rows).to_have_count(2)
    await page.locator("h1").click()  # Enter on the focused queue link would follow the link
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-testid=ticket-number]")).to_be_visible()

    await open_ticket(page, desk.invoice.id)
    await page.keyboard.press("r")
    await expect(page.locator("textarea[name=body]")).to_be_focused()
    await expect(page.locator(".composer")).to_have_class("composer composer-reply")
    await page.keyboard.type("j and k typed here stay text")  # keys in a field are the field's
    await expect(page.locator("textarea[name=body]")).to_have_value("j and k typed here stay text")
    await page.keyboard.press("Escape")
    await page.keyboard.press("n")
    await expect(page.locator(".composer")).to_have_class("composer composer-note")
    await expect(page.locator("textarea[name=body]")).to_be_focused()
    await page.keyboard.press("Escape")

    await expect(page.locator("[data-testid=ticket-assignee]")).to_have_text("Unassigned")
    await page.keyboard.press("a")
    await expect(page.locator("[data-testid=ticket-assignee]")).to_have_text("Alex Agent")
    assert (await tickets.get_ticket(desk.invoice.id)).assignee_id == desk.agent.id

    await page.keyboard.press("/")
    await expect(page.locator("input[name=q]")).to_be_focused()
