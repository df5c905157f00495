"""Every route, called by each role and by nobody: allowed roles succeed, others get 403, anonymous 401."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar

from helpdesk.activities import service as activities
from helpdesk.activities.schemas import ActivityCreate
from helpdesk.actors import SYSTEM
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import AgentCreate, TeamCreate, TokenCreate
from helpdesk.customers import service as customers
from helpdesk.customers.schemas import (
    AccountCreate,
    ContactCreate,
    CustomFieldCreate,
    PurchaseCreate,
)
from helpdesk.inbox import service as inbox
from helpdesk.inbox.ingest import (
    IMPORT_SOURCE,
    Received,
    ingest_stored,
    parse_received,
    store_received,
)
from helpdesk.inbox.schemas import MailboxCreate
from helpdesk.inbox.tables import InboundMail
from helpdesk.queues import service as saved_filters
from helpdesk.queues.schemas import SavedFilterCreate, TicketFilters
from helpdesk.sla import service as sla
from helpdesk.sla.schemas import CalendarCreate, PolicyCreate
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import AttachmentUpload, MessageCreate, TicketCreate
from tests.support.agents import RoleAgents
from tests.support.postgres import free_port

ROLES = ("agent", "lead", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {placeholders} filled from the seeded objects
    minimum: str  # the least role allowed
    body: dict[str, Any] | None = None


ROUTES = [
    Route("GET", "/api/auth/me", "agent"),
    Route("GET", "/api/auth/session", "agent"),
    Route("POST", "/api/auth/logout", "agent"),
    Route("GET", "/api/agents", "agent"),
    Route("GET", "/api/agents/{agent}", "agent"),
    Route("POST", "/api/agents", "admin", {"name": "New", "email": "new@example.com"}),
    Route("PATCH", "/api/agents/{agent}", "admin", {"name": "Renamed"}),
    Route("GET", "/api/teams", "agent"),
    Route("GET", "/api/teams/{team}", "agent"),
    Route("POST", "/api/teams", "admin", {"name": "Escalations"}),
    Route("PATCH", "/api/teams/{team}", "admin", {"name": "Tier 2"}),
    Route("DELETE", "/api/teams/{team}", "admin"),
    Route("GET", "/api/tokens", "admin"),
    Route("POST", "/api/tokens", "admin", {"name": "CI", "agent_id": "{agent}"}),
    Route("DELETE", "/api/tokens/{token}", "admin"),
    Route("GET", "/api/accounts", "agent"),
    Route("POST", "/api/accounts", "agent", {"name": "Hooli", "domains": ["hooli.example"]}),
    Route("GET", "/api/accounts/{account}", "agent"),
    Route("PATCH", "/api/accounts/{account}", "agent", {"tier": "premium"}),
    Route("DELETE", "/api/accounts/{account}", "admin"),
    Route("GET", "/api/accounts/{account}/overview", "agent"),
    Route("GET", "/api/contacts", "agent"),
    Route("POST", "/api/contacts", "agent", {"name": "Kim", "emails": ["kim@hooli.example"]}),
    Route("GET", "/api/contacts/{contact}", "agent"),
    Route("PATCH", "/api/contacts/{contact}", "agent", {"role": "buyer"}),
    Route("DELETE", "/api/contacts/{contact}", "admin"),
    Route("GET", "/api/contacts/{contact}/overview", "agent"),
    Route("GET", "/api/purchases", "agent"),
    Route("POST", "/api/purchases", "agent", {"account_id": "{account}", "order_number": "SO-9", "sku": "X",
                                              "product": "X", "amount": "10.00", "currency": "EUR",
                                              "ordered_at": "2026-01-01T10:00:00Z"}),
    Route("GET", "/api/purchases/{purchase}", "agent"),
    Route("PATCH", "/api/purchases/{purchase}", "agent", {"status": "refunded"}),
    Route("DELETE", "/api/purchases/{purchase}", "admin"),
    Route("GET", "/api/custom-fields", "agent"),
    Route("GET", "/api/custom-fields/{field}", "agent"),
    Route("POST", "/api/custom-fields", "admin", {"object_type": "ticket", "key": "order", "label": "Order",
                                                  "field_type": "text"}),
    Route("PATCH", "/api/custom-fields/{field}", "admin", {"label": "Plan name"}),
    Route("DELETE", "/api/custom-fields/{field}", "admin"),
    Route("GET", "/api/activities", "agent"),
    Route("POST", "/api/activities", "agent", {"kind": "call", "subject": "Called", "contact_id": "{contact}"}),
    Route("GET", "/api/activities/{activity}", "agent"),
    Route("PATCH", "/api/activities/{activity}", "agent", {"body": "more"}),
    # Deleting someone else's activity takes an admin (the seeded one has no author).
    Route("DELETE", "/api/activities/{activity}", "admin"),
    Route("GET", "/api/tickets", "agent"),
    Route("POST", "/api/tickets", "agent", {"subject": "Help", "requester_id": "{contact}", "text": "hi"}),
    Route("GET", "/api/tickets/{ticket}", "agent"),
    Route("PATCH", "/api/tickets/{ticket}", "agent", {"version": "{ticket_version}", "priority": "high"}),
    Route("POST", "/api/tickets/{ticket}/assign", "agent", {"version": "{ticket_version}", "assignee_id": "{agent}"}),
    Route("POST", "/api/tickets/{ticket}/messages", "agent", {"kind": "note", "text": "internal"}),
    Route("GET", "/api/attachments/{attachment}", "agent"),
    Route("GET", "/api/reports/backlog", "lead"),
    Route("GET", "/api/exports/tickets", "admin"),
    Route("GET", "/api/audit/account/{account}", "admin"),
    Route("GET", "/api/mailboxes", "admin"),
    Route("POST", "/api/mailboxes", "admin", {"name": "sales", "addresses": ["sales@helpdesk.example"],
                                              "imap_host": "imap.example.com", "imap_username": "sales",
                                              "password_env": "SALES_IMAP_PASSWORD"}),
    Route("GET", "/api/mailboxes/{mailbox}", "admin"),
    Route("PATCH", "/api/mailboxes/{mailbox}", "admin", {"enabled": False}),
    Route("DELETE", "/api/mailboxes/{mailbox}", "admin"),
    Route("POST", "/api/mailboxes/{mailbox}/test", "admin"),
    Route("GET", "/api/inbound-mails", "admin"),
    Route("GET", "/api/inbound-mails/{inbound}", "admin"),
    Route("GET", "/api/inbound-mails/{inbound}/raw", "admin"),
    Route("POST", "/api/inbound-mails/{inbound}/retry", "admin"),
    Route("GET", "/api/sla/calendars", "agent"),
    Route("GET", "/api/sla/calendars/{calendar}", "agent"),
    Route("POST", "/api/sla/calendars", "admin", {"name": "24/7", "always_open": True}),
    Route("PATCH", "/api/sla/calendars/{calendar}", "admin", {"tz": "Europe/Berlin"}),
    Route("GET", "/api/sla/policies", "agent"),
    Route("GET", "/api/sla/policies/{policy}", "agent"),
    Route("POST", "/api/sla/policies", "admin", {"name": "VIP", "calendar_id": "{calendar}",
                                                 "targets": {"urgent": {"first_response": 15}}}),
    Route("PATCH", "/api/sla/policies/{policy}", "admin", {"position": 5}),
    Route("DELETE", "/api/sla/policies/{policy}", "admin"),
    Route("GET", "/api/tickets/{ticket}/sla", "agent"),
    Route("GET", "/api/tickets/count?status=new", "agent"),
    Route("GET", "/api/saved-filters", "agent"),
    Route("POST", "/api/saved-filters", "agent", {"name": "Urgent", "filters": {"priority": "urgent"}}),
    Route("GET", "/api/saved-filters/{saved}", "agent"),
    Route("PATCH", "/api/saved-filters/{saved}", "agent", {"name": "Renamed"}),
    Route("DELETE", "/api/saved-filters/{saved}", "agent"),
    Route("GET", "/api/sla/due?ticket_id={ticket}", "agent"),
    Route("GET", "/api/sla/breaching", "agent"),
    Route("GET", "/api/messages/{message}/with-remote-images", "agent"),
    Route("GET", "/api/reports/sla?start=2026-01-01T00:00:00Z&end=2027-01-01T00:00:00Z", "lead"),
    Route("GET", "/api/dashboard/summary", "lead"),
    Route("GET", "/api/dashboard/breakdown?by=team", "lead"),
    Route("GET", "/api/dashboard/breakdown.csv?by=agent", "lead"),
    Route("GET", "/api/dashboard/series?days=7", "lead"),
    Route("GET", "/api/dashboard/series.csv?days=7", "lead"),
    Route("GET", "/api/dashboard/tickets?state=breached", "lead"),
    Route("GET", "/api/dashboard/tickets.csv?state=at_risk", "lead"),
]


async def _seed(now: datetime) -> dict[str, int]:
    agent = await auth.create_agent(SYSTEM, AgentCreate(name="Other", email="other@example.com"), now=now)
    team = await auth.create_team(SYSTEM, TeamCreate(name="Support", member_ids=[agent.id]), now=now)
    token = await auth.create_token(SYSTEM, TokenCreate(name="spare", agent_id=agent.id), now=now)
    account = await customers.create_account(SYSTEM, AccountCreate(name="Acme", domains=["acme.example"]), now=now)
    contact = await customers.create_contact(
        SYSTEM, ContactCreate(name="Ann", emails=["ann@acme.example"], account_id=account.id), now=now
    )
    purchase = await customers.create_purchase(SYSTEM, PurchaseCreate(
        account_id=account.id, order_number="SO-1", sku="HD", product="Helpdesk", amount=Decimal("100.00"), currency="USD",
        ordered_at=now), now=now)
    field = await customers.create_custom_field(
        SYSTEM, CustomFieldCreate(object_type="account", key="plan", label="Plan", field_type="text"), now=now
    )
    activity = await activities.create_activity(
        SYSTEM, ActivityCreate(kind="note", subject="Met", account_id=account.id), now=now
    )
    ticket = (await tickets.create_ticket(SYSTEM, TicketCreate(subject="Broken", requester_id=contact.id), now=now)).ticket
    message = await tickets.add_message(SYSTEM, ticket.id, MessageCreate(kind="note", text="see file", attachments=[
        AttachmentUpload(filename="log.txt", content_type="text/plain", content_base64=base64.b64encode(b"log").decode())
    ]), now=now)
    current = await tickets.get_ticket(ticket.id)
    mailbox = await inbox.create_mailbox(SYSTEM, MailboxCreate(
        name="support", addresses=["support@helpdesk.example"], imap_host="127.0.0.1", imap_port=free_port(),
        imap_security="none", imap_username="support", password_env="SUPPORT_IMAP_PASSWORD"), now=now)
    calendar = await sla.create_calendar(SYSTEM, CalendarCreate(name="Office", tz="UTC", weekly={
        "0": [("09:00", "17:00")]}), now=now)
    policy = await sla.create_policy(SYSTEM, PolicyCreate(name="Default", calendar_id=calendar.id,
                                                          targets={"normal": {"first_response": 60}}), now=now)
    html_mail = parse_received(b"From: Ann <ann@acme.example>\r\nSubject: Logo\r\nMessage-ID: <logo@acme.example>\r\n"
                               b"Content-Type: text/html\r\n\r\n<p>Logo: <img src=\"https://cdn.example/l.png\"></p>")
    [mailed] = await store_received(IMPORT_SOURCE, [html_mail], now=now)
    await ingest_stored(mailed.inbound_id, html_mail, now=now)
    mailed_message = await InboundMail.select(InboundMail.message).where(InboundMail.id == mailed.inbound_id).first().run()
    failed = parse_received(b"Subject: poison\r\n\r\nbody")
    [stored] = await store_received(IMPORT_SOURCE, [failed], now=now)
    await ingest_stored(stored.inbound_id, Received(raw=failed.raw, parse_error="parse failed: test"), now=now)
    return {
        "agent": agent.id, "team": team.id, "token": token.token.id, "account": account.id, "contact": contact.id,
        "purchase": purchase.id, "field": field.id, "activity": activity.id, "ticket": ticket.id,
        "ticket_version": current.version, "attachment": message.attachments[0].id, "mailbox": mailbox.id,
        "inbound": stored.inbound_id, "calendar": calendar.id, "policy": policy.id,
        "message": mailed_message["message"],
    }


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    return value


# The one API route that answers without a login (tested in test_auth.py).
PUBLIC_LOGIN = ("POST", "/api/auth/login")


def _route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
async def test_route_is_guarded_by_role(client: AsyncClient, agents: RoleAgents, clock, route: Route, role: str) -> None:
    ids = await _seed(clock.now())
    # Saved filters are private to their agent (others get 404): each role calls on its own.
    owner = agents.agent if role == "anonymous" else agents.by_role(role)
    saved = await saved_filters.create_saved_filter(owner.actor, SavedFilterCreate(
        name="Mine", filters=TicketFilters(assignee="me")), now=clock.now())
    ids["saved"] = saved.id
    headers = {} if role == "anonymous" else agents.by_role(role).headers
    response = await client.request(
        route.method, route.path.format(**ids), json=_fill(route.body, ids), headers=headers
    )
    if role == "anonymous":
        assert response.status_code == 401, response.text
    elif RANK[role] >= RANK[route.minimum]:
        assert 200 <= response.status_code < 300, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "permission_denied"


def test_every_api_route_is_in_the_matrix(app: Litestar) -> None:
    served = {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if route.path.startswith("/api") and method not in ("HEAD", "OPTIONS")
    }
    listed = {(route.method, _template(route.path)) for route in ROUTES}
    assert served == listed | {PUBLIC_LOGIN}


def _template(path: str) -> str:
    """/api/tickets/{ticket} → the app's path template /api/tickets/{ticket_id:int}."""
    names = {"agent": "agent_id", "team": "team_id", "token": "token_id", "account": "account_id",
             "contact": "contact_id", "purchase": "purchase_id", "field": "field_id", "activity": "activity_id",
             "ticket": "ticket_id", "attachment": "attachment_id", "mailbox": "mailbox_id",
             "inbound": "inbound_id", "calendar": "calendar_id", "policy": "policy_id", "saved": "filter_id",
             "message": "message_id"}
    for short, full in names.items():
        path = path.replace("{" + short + "}", "{" + full + ":int}")
    path = path.split("?")[0]
    return path.replace("/api/exports/tickets", "/api/exports/{kind:str}").replace(
        "/api/audit/account/{account_id:int}", "/api/audit/{object_type:str}/{object_id:int}"
    )


async def test_openapi_lists_the_resources_with_operation_ids(client: AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for resource in ("tickets", "accounts", "contacts", "purchases", "activities", "agents", "teams", "custom-fields"):
        assert f"/api/{resource}" in schema["paths"]
    operation_ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids)) >= len(ROUTES)


