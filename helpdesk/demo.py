"""A realistic demo data set: accounts with domains, contacts with roles, purchases,
about 50 tickets with conversations and notes, activities, and SLA policies with the tickets'
clocks. Safe to run twice."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import msgspec

from helpdesk.activities import service as activities
from helpdesk.activities.schemas import ActivityCreate
from helpdesk.actors import SYSTEM, Actor
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import AgentCreate, TeamCreate
from helpdesk.customers import service as customers
from helpdesk.customers.schemas import AccountCreate, ContactCreate, PurchaseCreate
from helpdesk.db import unit_of_work
from helpdesk.outbox import service as outbox
from helpdesk.sla import service as sla
from helpdesk.sla.schemas import CalendarCreate, PolicyCreate
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import MessageCreate, TicketCreate, TicketUpdate
from helpdesk.tickets.status import PRIORITIES

DEMO_ADMIN_EMAIL = "admin@example.com"
MARKER_DOMAIN = "acme.example"

ACCOUNTS = [
    ("Acme Corporation", "enterprise", "acme.example"),
    ("Globex Ltd", "premium", "globex.example"),
    ("Initech", "standard", "initech.example"),
    ("Umbrella Health", "enterprise", "umbrella.example"),
    ("Stark Solar", "premium", "starksolar.example"),
    ("Wayne Logistics", "standard", "waynelogistics.example"),
]
FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
               "Radia", "Guido", "Hedy", "Tim", "Katherine", "Donald", "Sophie", "Niklaus"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
              "Dijkstra", "Perlman", "van Rossum", "Lamarr", "Berners-Lee", "Johnson", "Knuth", "Wilson", "Wirth"]
ROLES = ["decision_maker", "buyer", "influencer", "user", "user", "other"]
PRODUCTS = [("HD-PRO-1Y", "Helpdesk Pro (1 year)", Decimal("1188.00")), ("HD-SEAT", "Extra agent seat", Decimal("29.00")),
            ("HD-SLA", "SLA add-on", Decimal("249.00")), ("HD-ONB", "Onboarding package", Decimal("1500.00")),
            ("HD-STOR", "Storage 100 GB", Decimal("12.50"))]
SUBJECTS = [
    "Cannot log in after password reset", "Invoice {n} shows the wrong VAT", "Export to CSV times out",
    "Feature request: dark mode", "Webhook deliveries failing since yesterday", "How do I add another agent seat?",
    "Refund for duplicate charge", "SLA report numbers look off", "Emails arrive with broken umlauts",
    "API token stopped working", "Need a copy of our contract", "Attachments over 10 MB are rejected",
    "Mobile app crashes on start", "Please update our billing address", "Two-factor codes not arriving",
]
CUSTOMER_LINES = [
    "Hi team,\n\nsince this morning {issue}. Could you have a look? It is blocking our support staff.\n\nThanks,\n{name}",
    "Hello,\n\nwe noticed that {issue}. Is this a known problem?\n\nBest regards,\n{name}",
    "Good afternoon,\n\n{issue} — this happens for all our agents. Any workaround?\n\n{name}",
]
AGENT_REPLIES = [
    "Hi {first},\n\nthanks for the report. I have reproduced it and passed it to our engineers; "
    "I will update you as soon as I hear back.\n\nBest,\n{agent}",
    "Hello {first},\n\nthis is fixed now. Could you try again and let us know?\n\nKind regards,\n{agent}",
    "Hi {first},\n\ncould you send us a screenshot and the time it happened? That helps us find the logs.\n\n{agent}",
]
NOTES = ["Customer is on the enterprise plan; keep the account manager in the loop.",
         "Looks related to last week's deploy — linked to the engineering issue.",
         "Called the customer, they confirmed the workaround helps for now."]


@dataclass(frozen=True)
class DemoResult:
    created: bool
    admin_password: str | None  # set when the demo created the admin or reset its password


async def seed_demo(*, now: datetime, admin_password: str | None, seed: int = 42) -> DemoResult:
    """Create the demo data unless it exists; the admin password is generated when not given."""
    if (await customers.list_accounts(domain=MARKER_DOMAIN, limit=1)).items:
        if admin_password:
            await auth.ensure_admin(DEMO_ADMIN_EMAIL, admin_password, name="Demo Admin", now=now)
        return DemoResult(created=False, admin_password=admin_password)
    password = admin_password or secrets.token_urlsafe(12)
    rng = random.Random(seed)
    # One transaction: the demo appears whole or not at all.
    async with unit_of_work():
        await auth.ensure_admin(DEMO_ADMIN_EMAIL, password, name="Demo Admin", now=now)
        agent_ids = await _seed_agents(now)
        contact_ids = await _seed_customers(rng, now)
        ticket_ids = await _seed_tickets(rng, now, agent_ids, contact_ids)
        await _seed_sla(now)
        # Solved tickets too: the scheduler only recomputes open ones and tickets that change.
        await sla.recompute_many(ticket_ids, await sla.PolicySet.load(now=now), now=now)
    return DemoResult(created=True, admin_password=password)


async def _seed_agents(now: datetime) -> list[int]:
    people = [("Sam Support", "sam@example.com", "agent"), ("Lee Lead", "lee@example.com", "lead"),
              ("Alex Agent", "alex@example.com", "agent")]
    ids = []
    for name, email, role in people:
        agent = await auth.create_agent(SYSTEM, AgentCreate(name=name, email=email, role=role), now=now)
        ids.append(agent.id)
    await auth.create_team(SYSTEM, TeamCreate(name="Support", lead_id=ids[1], member_ids=ids), now=now)
    await auth.create_team(SYSTEM, TeamCreate(name="Billing", lead_id=ids[1], member_ids=ids[1:]), now=now)
    return ids


async def _seed_customers(rng: random.Random, now: datetime) -> list[int]:
    contact_ids: list[int] = []
    for index, (name, tier, domain) in enumerate(ACCOUNTS):
        account = await customers.create_account(SYSTEM, AccountCreate(name=name, tier=tier, domains=[domain]), now=now)
        members = []
        for position in range(rng.randint(3, 5)):
            first, last = FIRST_NAMES[(index * 3 + position) % len(FIRST_NAMES)], rng.choice(LAST_NAMES)
            contact = await customers.create_contact(
                SYSTEM,
                ContactCreate(name=f"{first} {last}", emails=[f"{first}.{last.replace(' ', '')}@{domain}".lower()],
                              phone=f"+1-555-{rng.randint(1000, 9999)}", account_id=account.id,
                              role=ROLES[position % len(ROLES)]),
                now=now,
            )
            members.append(contact.id)
        contact_ids.extend(members)
        for order in range(rng.randint(2, 5)):
            sku, product, price = rng.choice(PRODUCTS)
            quantity = rng.randint(1, 10)
            await customers.create_purchase(
                SYSTEM,
                PurchaseCreate(account_id=account.id, contact_id=rng.choice(members), order_number=f"SO-{index + 1}{order:03d}",
                               sku=sku, product=product, quantity=quantity, amount=price * quantity, currency="USD",
                               ordered_at=now - timedelta(days=rng.randint(5, 400)),
                               status=rng.choice(["paid", "paid", "paid", "refunded", "pending"])),
                now=now,
            )
        await activities.create_activity(
            SYSTEM, ActivityCreate(kind="meeting", subject="Quarterly business review", account_id=account.id,
                                   occurred_at=now - timedelta(days=rng.randint(10, 60))), now=now)
    return contact_ids


async def _seed_tickets(rng: random.Random, now: datetime, agent_ids: list[int], contact_ids: list[int]) -> list[int]:
    ticket_ids = []
    for number in range(50):
        contact_id = rng.choice(contact_ids)
        contact = await customers.get_contact(contact_id)
        first = contact.name.split()[0]
        opened = now - timedelta(hours=rng.randint(1, 24 * 30))
        subject = rng.choice(SUBJECTS).format(n=f"INV-{rng.randint(1000, 9999)}")
        issue = subject[0].lower() + subject[1:]
        ticket = (await tickets.create_ticket(
            SYSTEM,
            TicketCreate(subject=subject, requester_id=contact_id, channel=rng.choice(["email", "email", "web", "phone"]),
                         priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
                         tags=rng.sample(["billing", "login", "bug", "vip", "feature", "api"], k=rng.randint(0, 2)),
                         text=rng.choice(CUSTOMER_LINES).format(issue=issue, name=contact.name)),
            now=opened,
        )).ticket
        agent_id = rng.choice(agent_ids)
        agent = Actor(kind="agent", agent_id=agent_id, role="agent")
        if rng.random() < 0.8:
            ticket = await tickets.update_ticket(
                agent, ticket.id, TicketUpdate(version=ticket.version, assignee_id=agent_id), now=min(now, opened + timedelta(minutes=5))
            )
        if rng.random() < 0.7:
            agent_name = (await auth.get_agent(agent_id)).name
            replied = min(now, opened + timedelta(minutes=rng.randint(10, 600)))
            reply = await tickets.add_message(agent, ticket.id, MessageCreate(
                kind="reply", text=rng.choice(AGENT_REPLIES).format(first=first, agent=agent_name)), now=replied)
            await outbox.mark_sent(reply.id, at=replied)  # the demo has no mail server; its replies went out
        if rng.random() < 0.4:
            await tickets.add_message(agent, ticket.id, MessageCreate(kind="note", text=rng.choice(NOTES)),
                                      now=min(now, opened + timedelta(minutes=rng.randint(30, 900))))
        final_status = rng.choice(["open", "open", "pending", "on_hold", "solved", "closed", None])
        if final_status:
            current = await tickets.get_ticket(ticket.id)
            await tickets.update_ticket(agent, ticket.id, TicketUpdate(version=current.version, status=final_status),
                                        now=min(now, opened + timedelta(hours=rng.randint(1, 48))))
        if rng.random() < 0.3:
            await activities.create_activity(agent, ActivityCreate(
                kind=rng.choice(["call", "email", "task"]), subject=f"Follow up on {ticket.number}",
                contact_id=contact_id, ticket_id=ticket.id, occurred_at=min(now, opened + timedelta(hours=2))), now=now)
        ticket_ids.append(ticket.id)
    return ticket_ids


async def _seed_sla(now: datetime) -> None:
    """Two calendars and two policies, so SLA badges, countdowns and the dashboard have something to show."""
    always = await sla.create_calendar(SYSTEM, CalendarCreate(name="Around the clock", always_open=True), now=now)
    office = await sla.create_calendar(SYSTEM, msgspec.convert({
        "name": "Office hours", "tz": "Europe/Berlin", "holiday_country": "DE",
        "weekly": {str(day): [["09:00", "12:30"], ["13:30", "18:00"]] for day in range(5)}}, CalendarCreate), now=now)
    breach_tag = [{"level": "breach", "actions": [{"type": "add_tag", "tag": "sla-breach"}]}]
    await sla.create_policy(SYSTEM, msgspec.convert({
        "name": "Enterprise", "position": 1, "calendar_id": always.id, "conditions": {"tiers": ["enterprise"]},
        "targets": {priority: {"first_response": 60, "next_response": 120, "resolution": 1440}
                    for priority in PRIORITIES},
        "escalations": breach_tag}, PolicyCreate), now=now)
    await sla.create_policy(SYSTEM, msgspec.convert({
        "name": "Standard", "position": 2, "calendar_id": office.id, "warn_percent": 75,
        "targets": {priority: {"first_response": 60 if priority == "urgent" else 240, "next_response": 480,
                               "resolution": 2400} for priority in PRIORITIES},
        "escalations": breach_tag}, PolicyCreate), now=now)
