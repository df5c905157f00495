"""The agent workspace in a real browser: login, queues, the ticket view, the customer 360,
safe display of customer HTML, search, live updates and the headers the pages carry."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from helpdesk.actors import Actor
from helpdesk.app import CONTENT_SECURITY_POLICY
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import TicketUpdate
from tests.e2e.browser import PageWatch
from tests.e2e.desk import EVIL_HOST, Desk, deliver, plain_mail
from tests.support.clock import ShiftableClock


def message_cards(page: Page):
    return page.locator("article.message")


async def open_ticket(page: Page, ticket_id: int) -> None:
    await page.goto(f"/#/tickets/{ticket_id}")
    await expect(page.locator("[data-testid=ticket-number]")).to_be_visible()


async def test_login_lands_on_my_queue_with_counts(agent_page: Page, desk: Desk) -> None:
    page = agent_page
    await expect(page.locator("[data-testid=current-agent]")).to_have_text("Alex Agent")
    await expect(page.locator("h1")).to_have_text("My open")
    for queue, count in desk.counts.items():
        await expect(page.locator(f"[data-testid=count-{queue}]")).to_have_text(count)
    rows = page.locator(".ticket-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(desk.fire.number)
    await expect(rows.first).to_contain_text("Ann Lee")
    await expect(rows.first).to_contain_text("Acme Corporation")

    await page.click("[data-queue=open]")
    await expect(page.locator("h1")).to_have_text("All open")
    await expect(page.locator(".ticket-table tbody tr")).to_have_count(2)


async def test_wrong_password_is_refused_on_the_login_screen(page: Page, desk: Desk) -> None:
    await page.goto("/")
    await page.fill("input[name=email]", desk.agent.email)
    await page.fill("input[name=password]", "not the password")
    await page.click("button[type=submit]")
    await expect(page.locator(".login [role=alert]")).to_be_visible()
    await expect(page.locator("[data-testid=current-agent]")).to_have_count(0)


async def test_reply_with_attachment_appears_in_the_conversation(
    agent_page: Page, desk: Desk, artifacts: Path, watch: PageWatch
) -> None:
    page = agent_page
    await page.click(f"text={desk.fire.number}")
    await expect(page.locator("[data-testid=ticket-number]")).to_have_text(desk.fire.number)
    await expect(message_cards(page)).to_have_count(2)
    first = message_cards(page).first
    await expect(first).to_have_attribute("data-kind", "customer")
    await first.locator("summary", has_text="Threading").click()
    await expect(first.locator("[data-testid=thread-reason]")).to_contain_text("new")

    await page.fill("textarea[name=body]", "We are on it: please unplug the printer.")
    await page.set_input_files(
        ".composer input[type=file]", files=[{"name": "steps.txt", "mimeType": "text/plain", "buffer": b"1. unplug"}]
    )
    await page.click("button:has-text('Send reply')")

    reply = message_cards(page).filter(has_text="please unplug the printer")
    await expect(reply).to_have_count(1)
    await expect(reply).to_have_attribute("data-kind", "reply")
    link = reply.locator("[data-testid=attachment-link]")
    await expect(link).to_have_text("steps.txt")
    assert (await link.get_attribute("href") or "").startswith("/api/attachments/")
    await expect(page.locator("textarea[name=body]")).to_have_value("")

    mail = page.frame_locator("[data-testid=message-frame] >> nth=0")
    await expect(mail.locator("b")).to_have_text("on fire")
    await page.screenshot(path=str(artifacts / "ticket-view.png"), full_page=True)
    assert watch.errors == []


async def test_internal_note_is_marked_as_note(agent_page: Page, desk: Desk) -> None:
    page = agent_page
    await open_ticket(page, desk.invoice.id)
    await page.click("text=Internal note")
    await page.fill("textarea[name=body]", "Checked the VAT table, it is wrong.")
    await page.click("button:has-text('Add note')")
    note = message_cards(page).filter(has_text="Checked the VAT table")
    await expect(note).to_have_attribute("data-kind", "note")
    await expect(note).to_contain_text("Internal note")


async def test_customer_360_shows_account_contacts_with_roles_and_purchases(agent_page: Page, desk: Desk) -> None:
    page = agent_page
    await open_ticket(page, desk.fire.id)
    panel = page.locator("[data-testid=customer-panel]")
    await expect(panel.locator("h2")).to_have_text("Ann Lee")
    await expect(panel.locator("[data-testid=account]")).to_contain_text("Acme Corporation")
    await expect(panel.locator("[data-testid=account]")).to_contain_text("Premium")
    contacts = panel.locator("[data-testid=contacts] li")
    await expect(contacts).to_have_count(3)
    await expect(contacts.filter(has_text="Bo Chen")).to_contain_text("Decision maker")
    await expect(contacts.filter(has_text="Ann Lee")).to_contain_text("Buyer")
    await expect(contacts.filter(has_text="Cy Park")).to_contain_text("User")
    purchases = panel.locator("[data-testid=purchases] tr")
    await expect(purchases).to_have_count(2)
    await expect(purchases.filter(has_text="Pro plan")).to_contain_text("SO-1001")
    await expect(panel.locator("[data-testid=timeline]")).to_contain_text("Renewal call")

    await panel.locator("label", has_text="Meeting").click()
    await panel.locator("input[name=activity-subject]").fill("On-site visit about the printer")
    await panel.locator("button", has_text="Log activity").click()
    await expect(panel.locator("[data-testid=timeline] li").first).to_contain_text("On-site visit about the printer")


async def test_customer_html_renders_in_a_sandbox_without_running_script(
    agent_page: Page, desk: Desk, watch: PageWatch
) -> None:
    page = agent_page
    # The attacks' remote URLs all point at EVIL_HOST: each attempt must be stopped by the CSP
    # inside the browser (failure "csp"), never sent (the host does not resolve, so a sent request
    # would fail with a network error instead).
    evil_requests: list[str] = []
    stopped_by_csp: list[str] = []
    page.on("request", lambda request: evil_requests.append(request.url) if EVIL_HOST in request.url else None)
    page.on("requestfailed", lambda request: stopped_by_csp.append(request.url)
            if EVIL_HOST in request.url and request.failure == "csp" else None)
    await open_ticket(page, desk.fire.id)
    frames = page.locator("[data-testid=message-frame]")
    await expect(frames).to_have_count(2)  # the sanitised mail and the unsanitised copy
    for index in range(2):
        sandbox = await frames.nth(index).get_attribute("sandbox")
        assert sandbox is not None and "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox

    mail = page.frame_locator("[data-testid=message-frame] >> nth=0")
    await expect(mail.locator("b")).to_have_text("on fire")
    # The inline cid: image arrives as a data: URL; the remote tracker never reaches the page.
    await expect(mail.locator("img")).to_have_count(1)
    assert (await mail.locator("img").get_attribute("src") or "").startswith("data:image/png;base64,")
    await expect(page.locator("[data-testid=remote-content-note]")).to_be_visible()

    raw = page.frame_locator("[data-testid=message-frame] >> nth=1")
    await expect(raw.locator("p")).to_have_text("Unsanitised frame test")
    await raw.locator("a").click()  # a javascript: link must do nothing either
    await page.wait_for_timeout(500)  # give any script that could run the time to run

    assert watch.dialogs == []
    assert sorted(evil_requests) == sorted(stopped_by_csp)  # no style, import or background image went out
    assert await page.evaluate("() => window.pwned") is None
    assert "pwned" not in await page.title()


async def test_global_search_finds_a_ticket_by_number(agent_page: Page, desk: Desk) -> None:
    page = agent_page
    await page.fill("input[name=q]", desk.invoice.number)
    await page.press("input[name=q]", "Enter")
    await expect(page.locator("h1")).to_have_text(f"Search: {desk.invoice.number}")
    rows = page.locator(".ticket-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Invoice shows the wrong VAT")
    await rows.first.locator("td.number a").click()
    await expect(page.locator(".ticket-header h1")).to_have_text("Invoice shows the wrong VAT")

    await page.fill("input[name=q]", "Ann Lee")
    await page.press("input[name=q]", "Enter")
    await expect(page.locator(".ticket-table tbody tr")).to_have_count(1)
    await expect(page.locator(".ticket-table tbody tr").first).to_contain_text(desk.fire.number)


async def test_property_conflict_shows_fresh_values_and_asks_again(
    agent_page: Page, desk: Desk, clock: ShiftableClock
) -> None:
    page = agent_page
    await open_ticket(page, desk.invoice.id)
    await page.select_option("select[name=priority]", "urgent")
    # Someone else changes the ticket after Alex started editing (the live update must not wipe the edit).
    colleague = Actor(kind="agent", agent_id=desk.colleague.id, role="agent")
    current = await tickets.get_ticket(desk.invoice.id)
    await tickets.update_ticket(colleague, current.id, TicketUpdate(version=current.version, status="pending"),
                                now=clock.now())
    await page.click(".properties button:has-text('Save')")

    conflict = page.locator("[data-testid=properties-conflict]")
    await expect(conflict).to_contain_text("Priority → Urgent")
    await expect(page.locator(".ticket-summary .status")).to_have_text("Pending")
    await conflict.locator("button", has_text="Apply my change").click()
    await expect(conflict).to_have_count(0)
    await expect(page.locator(".ticket-summary .priority")).to_have_text("Urgent")
    saved = await tickets.get_ticket(desk.invoice.id)
    assert (saved.status, saved.priority) == ("pending", "urgent")


async def test_live_updates_presence_and_the_stale_reply_guard(
    agent_page: Page, colleague_page: Page, desk: Desk, clock: ShiftableClock
) -> None:
    page = agent_page
    await expect(page.locator("[data-testid=live-status]")).to_have_text("Live")
    await open_ticket(page, desk.fire.id)
    await open_ticket(colleague_page, desk.fire.id)
    await expect(page.locator(".ticket-header [data-testid=presence]")).to_contain_text("Sam Support is viewing")

    await page.fill("textarea[name=body]", "The technician comes tomorrow.")
    await expect(colleague_page.locator(".ticket-header [data-testid=presence]")).to_contain_text(
        "Alex Agent is replying"
    )

    # The customer writes again while Alex is typing: it shows up live, and sending asks first.
    await deliver(plain_mail("Ann Lee <ann@acme.example>", "Re: Printer on fire", "Now it smokes too!",
                             in_reply_to="<fire-1@acme.example>"), clock.now())
    await expect(message_cards(page).filter(has_text="Now it smokes too!")).to_have_count(1)
    await page.click("button:has-text('Send reply')")
    warning = page.locator("[data-testid=stale-reply-warning]")
    await expect(warning).to_contain_text("A new message arrived while you were writing (from Ann Lee)")
    await expect(message_cards(page).filter(has_text="The technician comes tomorrow.")).to_have_count(0)
    await warning.locator("button", has_text="Send anyway").click()
    await expect(message_cards(page).filter(has_text="The technician comes tomorrow.")).to_have_count(1)
    # The colleague's screen got the reply without reloading.
    await expect(message_cards(colleague_page).filter(has_text="The technician comes tomorrow.")).to_have_count(1)


async def test_pages_carry_the_content_security_policy(page: Page, base_url: str, desk: Desk) -> None:
    response = await page.goto("/")
    assert response is not None and response.ok
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    async with httpx.AsyncClient(base_url=base_url) as http:
        script = (await http.get("/")).text.split('src="', 1)[1].split('"', 1)[0]
        asset = await http.get(script)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
        # The API description loads Swagger UI from a CDN, so it must not get the app's policy.
        schema = await http.get("/schema/swagger")
        assert "content-security-policy" not in schema.headers
        # Nothing but the static files is public.
        assert (await http.get("/api/tickets")).status_code == 401


async def test_without_the_live_socket_the_workspace_still_works(page: Page, desk: Desk, clock: ShiftableClock) -> None:
    # Every /ws handshake is refused, as when the endpoint is missing or a proxy drops upgrades.
    async def refuse(socket) -> None:
        await socket.close(code=4000, reason="refused by the test")

    await page.route_web_socket("**/ws*", refuse)
    await page.goto("/")
    await page.fill("input[name=email]", desk.agent.email)
    await page.fill("input[name=password]", desk.password)
    await page.click("button[type=submit]")
    await expect(page.locator("[data-testid=live-status]")).to_contain_text("Offline")
    await expect(page.locator("[data-testid=count-open]")).to_have_text("2")
    await open_ticket(page, desk.fire.id)
    await page.fill("textarea[name=body]", "Sent while live updates are down.")

    # Without live updates the server's version check is the stale-reply guard.
    await deliver(plain_mail("Ann Lee <ann@acme.example>", "Re: Printer on fire", "Still burning.",
                             in_reply_to="<fire-1@acme.example>"), clock.now())
    await page.click("button:has-text('Send reply')")
    await expect(page.locator("[data-testid=stale-reply-warning]")).to_contain_text("from Ann Lee")
    await expect(message_cards(page).filter(has_text="Still burning.")).to_have_count(1)
    await page.click("button:has-text('Send anyway')")
    await expect(message_cards(page).filter(has_text="Sent while live updates are down.")).to_have_count(1)
