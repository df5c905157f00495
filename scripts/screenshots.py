"""The README's screenshot of the ticket view with the customer 360 panel, taken from the product itself.

    make frontend && .venv/bin/python scripts/screenshots.py [--out docs/screenshots/ticket-view.png]

Serves ``helpdesk serve --demo`` (the demo data set: accounts, contacts with roles, purchases,
activities, tickets with conversations) from a throwaway data directory on a free loopback port,
picks the open ticket with the longest conversation whose requester belongs to an account, logs
in through the login screen in Debian's Chromium (Playwright, as tests/e2e does) and saves a
full-page screenshot of that ticket (1400×900 viewport) once the conversation and the customer panel
have loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright, expect

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api import free_port, stop_server, wait_until_serving  # noqa: E402
from helpdesk.demo import DEMO_ADMIN_EMAIL  # noqa: E402
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

VIEWPORT = {"width": 1400, "height": 900}


def serve_demo(data_dir: Path, password: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HELPDESK_DATA_DIR": str(data_dir), "HELPDESK_PORT": str(port),
           "HELPDESK_DEMO_PASSWORD": password, "HELPDESK_BACKGROUND_TASKS": "false", "HELPDESK_LOG_LEVEL": "WARNING"}
    env.pop("HELPDESK_DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "helpdesk", "serve", "--demo"], env=env, cwd=str(ROOT),
                               stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, base)
    return process, base


def pick_ticket(base: str, password: str) -> int:
    """The open ticket with the most messages (customer mail, replies, notes) from an account's contact."""
    with httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
        http.post("/api/auth/login", json={"email": DEMO_ADMIN_EMAIL, "password": password}).raise_for_status()
        listed = http.get("/api/tickets", params={"status": "open", "limit": 50}).raise_for_status().json()
        best, most = None, 0
        for ticket in listed["items"]:
            if ticket["account"] is None:
                continue
            messages = len(http.get(f"/api/tickets/{ticket['id']}").raise_for_status().json()["messages"])
            if messages > most:
                best, most = ticket["id"], messages
    if best is None:
        raise RuntimeError("the demo data has no open ticket from an account's contact")
    return best


async def shoot(base: str, password: str, ticket_id: int, out: Path) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(base_url=base, viewport=VIEWPORT)
            page = await context.new_page()
            await log_in(page, password)
            await page.goto(f"/#/tickets/{ticket_id}")
            await expect(page.locator("[data-testid=ticket-number]")).to_be_visible()
            await expect(page.locator("article.message").first).to_be_visible()
            panel = page.locator("[data-testid=customer-panel]")
            for part in ("account", "contacts", "purchases", "timeline"):
                await expect(panel.locator(f"[data-testid={part}]")).to_be_visible()
            await page.wait_for_load_state("networkidle")
            out.parent.mkdir(parents=True, exist_ok=True)
            # The whole page: the customer panel (with its timeline of activities) runs below the fold.
            await page.screenshot(path=str(out), full_page=True)
        finally:
            await browser.close()


async def log_in(page: Page, password: str) -> None:
    await page.goto("/")
    await page.fill("input[name=email]", DEMO_ADMIN_EMAIL)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector("[data-testid=current-agent]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "ticket-view.png")
    args = parser.parse_args(argv)
    if not (ROOT / "helpdesk" / "static" / "index.html").is_file():
        print("the agent app is not built: run `make frontend` first", file=sys.stderr)
        return 2
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="helpdesk-screenshots-") as data_dir:
        server, base = serve_demo(Path(data_dir), password)
        try:
            ticket_id = pick_ticket(base, password)
            asyncio.run(shoot(base, password, ticket_id, args.out))
        finally:
            stop_server(server)
    print(f"saved {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} (ticket {ticket_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
