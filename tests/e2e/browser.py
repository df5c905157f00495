"""Driving Debian's Chromium: launch flags, what a page did, and logging in through the UI."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Dialog, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


class PageWatch:
    """What a page did that a test may want to assert never happened."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []


async def new_page(context: BrowserContext, watch: PageWatch) -> Page:
    page = await context.new_page()
    page.set_default_timeout(10_000)

    async def dismiss(dialog: Dialog) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    return page


async def log_in(page: Page, email: str, password: str) -> Page:
    await page.goto("/")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector("[data-testid=current-agent]")
    return page
