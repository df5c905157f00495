"""Live updates from outside the browser: mail arriving in a real Dovecot, and changes made while
the tab's socket was down — both reach an open list without a reload."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, WebSocketRoute, expect

from helpdesk.actors import SYSTEM
from helpdesk.inbox.schemas import MailboxCreate
from helpdesk.inbox.service import create_mailbox
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import TicketCreate, TicketUpdate
from tests.e2e.browser import log_in
from tests.e2e.desk import Desk
from tests.integration.inbox.conftest import FAST, build_mail, running_worker
from tests.support.clock import ShiftableClock
from tests.support.dovecot import Dovecot


def list_rows(page: Page):
    return page.locator(".ticket-table tbody tr")


async def test_a_mail_appended_to_dovecot_appears_in_the_open_list(
    agent_page: Page, desk: Desk, dovecot: Dovecot, clock: ShiftableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = agent_page
    user = dovecot.new_user("live")
    monkeypatch.setenv("LIVE_IMAP_PASSWORD", user.password)
    await create_mailbox(SYSTEM, MailboxCreate(
        name="live", addresses=["live@helpdesk.example"], imap_host="127.0.0.1", imap_port=dovecot.port,
        imap_security="none", imap_username=user.name, password_env="LIVE_IMAP_PASSWORD"), now=clock.now())
    await page.click("[data-queue=open]")
    await expect(list_rows(page)).to_have_count(2)

    async with running_worker(clock, FAST):
        mail = build_mail("live", 1, to="live@helpdesk.example", subject="Coffee machine is leaking")
        await asyncio.to_thread(dovecot.append, user.name, mail)
        await expect(list_rows(page).filter(has_text="Coffee machine is leaking")).to_have_count(1, timeout=15_000)
    await expect(page.locator("[data-testid=count-open]")).to_have_text("3")


async def test_changes_made_while_the_socket_was_down_arrive_after_it_reconnects(
    page: Page, desk: Desk, clock: ShiftableClock
) -> None:
    # Every /ws connection goes through this proxy, so the test can cut the tab off and let it back.
    connected: list[WebSocketRoute] = []
    network_down = False

    async def proxy(socket: WebSocketRoute) -> None:
        if network_down:
            await socket.close(code=1001, reason="network down")
            return
        socket.connect_to_server()
        connected.append(socket)

    await page.route_web_socket("**/ws*", proxy)
    await log_in(page, desk.agent.email, desk.password)
    await page.click("[data-queue=open]")
    await expect(list_rows(page)).to_have_count(2)
    await expect(page.locator("[data-testid=live-status]")).to_have_text("Live")

    network_down = True
    for socket in connected:
        await socket.close(code=1001, reason="network dropped")
    await expect(page.locator("[data-testid=live-status]")).to_contain_text("Offline")

    # While the tab hears nothing: a new ticket, and a colleague's change to an existing one.
    await tickets.create_ticket(SYSTEM, TicketCreate(
        subject="Created while the tab was offline", requester_id=desk.ann_id, text="Hello?"), now=clock.now())
    fire = await tickets.get_ticket(desk.fire.id)
    await tickets.update_ticket(SYSTEM, fire.id, TicketUpdate(version=fire.version, priority="urgent"), now=clock.now())
    await page.wait_for_timeout(300)
    await expect(list_rows(page).filter(has_text="Created while the tab was offline")).to_have_count(0)

    network_down = False
    await expect(page.locator("[data-testid=live-status]")).to_have_text("Live", timeout=30_000)
    await expect(list_rows(page).filter(has_text="Created while the tab was offline")).to_have_count(1)
    await expect(list_rows(page).filter(has_text=fire.subject)).to_contain_text("Urgent")
    await expect(page.locator("[data-testid=count-open]")).to_have_text("3")


async def test_a_reply_in_one_tab_updates_a_colleagues_list(agent_page: Page, colleague_page: Page, desk: Desk) -> None:
    await colleague_page.click("[data-queue=open]")
    row = list_rows(colleague_page).filter(has_text=desk.fire.subject)
    await expect(row).to_contain_text("New")

    await agent_page.goto(f"/#/tickets/{desk.fire.id}")
    await agent_page.fill("textarea[name=body]", "We are on our way.")
    await agent_page.click("button:has-text('Send reply')")
    # A first reply opens a new ticket; the colleague's list shows it without a reload.
    await expect(row).to_contain_text("Open")
    await expect(row).not_to_contain_text("New")
