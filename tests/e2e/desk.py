"""The data the browser tests work on, written through the domain services and the real intake."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage

from helpdesk import db
from helpdesk.activities import service as activities
from helpdesk.activities.schemas import ActivityCreate
from helpdesk.actors import SYSTEM
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import AgentCreate, AgentRead, TeamCreate
from helpdesk.customers import service as customers
from helpdesk.customers.schemas import AccountCreate, ContactCreate, PurchaseCreate
from helpdesk.inbox.ingest import (
    IMPORT_SOURCE,
    ingest_stored,
    parse_received,
    store_received,
)
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import TicketCreate, TicketRead, TicketUpdate

PASSWORD = "correct horse battery"
# A 1×1 PNG, sent as the inline (cid:) image of the HTML mail.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
INLINE_IMAGE_CID = "screenshot@acme.example"

# What a hostile customer might send. The server sanitises it; the frame must hold even if it did not.
HOSTILE_HTML = f"""
<p>The printer is <b>on fire</b>.</p>
<img src="x" onerror="alert('img onerror'); top.pwned = 1">
<script>alert('script'); top.pwned = 1</script>
<p><img src="cid:{INLINE_IMAGE_CID}" alt="screenshot"></p>
<img src="https://tracker.example/pixel.gif">
<svg xmlns="http://www.w3.org/2000/svg" onload="alert('svg onload'); top.pwned = 1"><script>alert('svg script'); top.pwned = 1</script></svg>
<a href="javascript:alert('link'); top.pwned = 1">a javascript link</a>
<div style="background-image: url('https://evil.example/style-bg.png')">styled</div>
<style>@import url("https://evil.example/import.css"); body {{ background: url("https://evil.example/body.png"); }}</style>
"""
HOSTILE_TEXT = "The printer is on fire.\n[image: logo] https://tracker.example/logo.png\n"
# Stored as it is, bypassing the sanitiser: only the sandboxed frame stands between it and the app.
UNSANITISED_HTML = (
    "<p>Unsanitised frame test</p>"
    "<img src=x onerror=\"alert('raw img'); top.pwned = 1\">"
    "<script>alert('raw script'); top.pwned = 1</script>"
    "<a href=\"javascript:alert('raw link')\">a javascript link</a>"
    "<svg onload=\"alert('raw svg'); top.pwned = 1\"><script>alert('raw svg script'); top.pwned = 1</script></svg>"
    "<style>@import url('https://evil.example/raw.css'); div { background: url('https://evil.example/raw-bg.png') }</style>"
    "<div style=\"background-image: url('https://evil.example/raw-inline.png')\">styled</div>"
)
# Every remote fetch the attacks above try goes to this host; the browser must never ask it.
EVIL_HOST = "evil.example"


@dataclass
class Desk:
    password: str
    agent: AgentRead  # Alex, the agent the tests log in as
    colleague: AgentRead  # Sam, for presence and concurrent edits
    account_id: int
    ann_id: int  # the buyer who wrote the HTML mail
    fire: TicketRead  # Ann's mail, assigned to Alex
    invoice: TicketRead  # Bo's ticket, unassigned
    solved: TicketRead

    @property
    def counts(self) -> dict[str, str]:
        return {"mine": "1", "unassigned": "1", "open": "2", "pending": "0", "solved": "1"}


def hostile_mail(sender: str, subject: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@helpdesk.example"
    mail["Subject"] = subject
    mail["Message-ID"] = "<fire-1@acme.example>"
    mail.set_content(HOSTILE_TEXT)
    mail.add_alternative(HOSTILE_HTML, subtype="html")
    html_part = mail.get_payload()[1]
    html_part.add_related(PIXEL_PNG, "image", "png", cid=f"<{INLINE_IMAGE_CID}>", filename="screenshot.png")
    return mail.as_bytes()


def plain_mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@helpdesk.example"
    mail["Subject"] = subject
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


async def deliver(raw: bytes, now: datetime) -> None:
    """Through the same intake as IMAP mail: store raw, then ingest."""
    received = parse_received(raw)
    [stored] = await store_received(IMPORT_SOURCE, [received], now=now)
    assert await ingest_stored(stored.inbound_id, received, now=now) == "processed"


async def seed_desk(now: datetime) -> Desk:
    agent = await auth.create_agent(
        SYSTEM, AgentCreate(name="Alex Agent", email="alex@example.com", role="agent", password=PASSWORD), now=now
    )
    colleague = await auth.create_agent(
        SYSTEM, AgentCreate(name="Sam Support", email="sam@example.com", role="agent", password=PASSWORD), now=now
    )
    await auth.create_team(SYSTEM, TeamCreate(name="Support", member_ids=[agent.id, colleague.id]), now=now)

    account = await customers.create_account(
        SYSTEM, AccountCreate(name="Acme Corporation", tier="premium", domains=["acme.example"]), now=now
    )
    ann = await customers.create_contact(
        SYSTEM, ContactCreate(name="Ann Lee", emails=["ann@acme.example"], account_id=account.id, role="buyer"), now=now
    )
    bo = await customers.create_contact(
        SYSTEM,
        ContactCreate(name="Bo Chen", emails=["bo@acme.example"], account_id=account.id, role="decision_maker"),
        now=now,
    )
    await customers.create_contact(
        SYSTEM, ContactCreate(name="Cy Park", emails=["cy@acme.example"], account_id=account.id, role="user"), now=now
    )
    for order, product, amount in (("SO-1001", "Pro plan", "1200.00"), ("SO-1002", "Extra seats", "99.50")):
        await customers.create_purchase(
            SYSTEM,
            PurchaseCreate(account_id=account.id, contact_id=ann.id, order_number=order, sku=order.lower(),
                           product=product, amount=Decimal(amount), currency="EUR", ordered_at=now - timedelta(days=30)),
            now=now,
        )

    await deliver(hostile_mail("Ann Lee <ann@acme.example>", "Printer on fire"), now)
    [fire] = (await tickets.list_tickets(SYSTEM, tickets.TicketQuery(text="Printer on fire"))).items
    fire = await tickets.update_ticket(SYSTEM, fire.id, TicketUpdate(version=fire.version, assignee_id=agent.id), now=now)
    async with db.unit_of_work():
        await tickets.do_insert_message(
            fire.id, kind="customer", now=now, text="Unsanitised frame test", safe_html=UNSANITISED_HTML,
            author_contact_id=ann.id, from_name="Ann Lee", from_address="ann@acme.example", thread_reason="api",
        )
    fire = await tickets.get_ticket(fire.id)

    invoice = (await tickets.create_ticket(
        SYSTEM, TicketCreate(subject="Invoice shows the wrong VAT", requester_id=bo.id, text="Please fix the VAT."), now=now
    )).ticket
    solved = (await tickets.create_ticket(
        SYSTEM, TicketCreate(subject="Password reset worked", requester_id=bo.id, text="All good now."), now=now
    )).ticket
    solved = await tickets.update_ticket(SYSTEM, solved.id, TicketUpdate(version=solved.version, status="solved"), now=now)

    await activities.create_activity(
        SYSTEM, ActivityCreate(kind="call", subject="Renewal call", body="Happy with the Pro plan.", contact_id=ann.id,
                               account_id=account.id), now=now,
    )
    return Desk(password=PASSWORD, agent=agent, colleague=colleague, account_id=account.id, ann_id=ann.id,
                fire=fire, invoice=invoice, solved=solved)
