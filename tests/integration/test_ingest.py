"""The intake pipeline on real databases: customers linked, threads explained, machine mail handled."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from httpx import AsyncClient

from helpdesk.actors import SYSTEM
from helpdesk.customers import service as customers
from helpdesk.customers.schemas import AccountCreate
from helpdesk.inbox import ingest as intake
from helpdesk.inbox.ingest import IMPORT_SOURCE, ingest_stored, parse_received, store_received
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import MessageCreate
from tests.support.agents import RoleAgents

pytestmark = pytest.mark.usefixtures("clean_db")


def build(sender: str = "Ann Lee <ann@acme.example>", subject: str = "Printer broken", body: str = "It is broken.",
          **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = headers.pop("to", "support@helpdesk.example")
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="acme.example"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


async def deliver(raw: bytes, clock) -> tuple[str, int]:
    received = parse_received(raw)
    [stored] = await store_received(IMPORT_SOURCE, [received], now=clock.now())
    return await ingest_stored(stored.inbound_id, received, now=clock.now()), stored.inbound_id


async def inbound(client: AsyncClient, agents: RoleAgents, inbound_id: int) -> dict:
    return (await client.get(f"/api/inbound-mails/{inbound_id}", headers=agents.admin.headers)).json()


async def test_new_mail_links_contact_and_account_by_domain(client: AsyncClient, agents: RoleAgents, clock) -> None:
    account = await customers.create_account(SYSTEM, AccountCreate(name="Acme", domains=["acme.example"]), now=clock.now())
    state, inbound_id = await deliver(build(cc="Bo <bo@acme.example>, support@helpdesk.example"), clock)
    assert state == "processed"
    record = await inbound(client, agents, inbound_id)
    detail = (await client.get(f"/api/tickets/{record['ticket_id']}", headers=agents.agent.headers)).json()
    assert detail["ticket"]["requester"]["name"] == "Ann Lee"
    assert detail["ticket"]["requester"]["email"] == "ann@acme.example"
    assert detail["ticket"]["account"]["id"] == account.id
    assert detail["ticket"]["channel"] == "email"
    assert sorted(detail["participants"]) == ["ann@acme.example", "bo@acme.example", "support@helpdesk.example"]
    [message] = detail["messages"]
    assert message["kind"] == "customer" and message["thread_reason"] == "new"


async def test_freemail_senders_never_join_an_account(client: AsyncClient, agents: RoleAgents, clock) -> None:
    await customers.create_account(SYSTEM, AccountCreate(name="Acme", domains=["acme.example"]), now=clock.now())
    await deliver(build(sender="Joe <Joe@Gmail.com>"), clock)
    contact = (await customers.list_contacts(email="joe@gmail.com")).items[0]
    assert contact.account_id is None and contact.emails == ["joe@gmail.com"]


async def test_replies_thread_by_headers_and_token_with_reasons(client: AsyncClient, agents: RoleAgents, clock) -> None:
    first = build(message_id="<first@acme.example>")
    _, first_id = await deliver(first, clock)
    ticket_id = (await inbound(client, agents, first_id))["ticket_id"]
    number = f"T-{ticket_id + 1000}"

    _, by_header = await deliver(build(subject="Re: Printer broken", in_reply_to="<first@acme.example>"), clock)
    _, by_reference = await deliver(build(subject="more", references="<x@y> <first@acme.example>"), clock)
    _, by_token = await deliver(build(sender="ANN@acme.example", subject=f"Re: [#{number}] Printer"), clock)
    _, stranger = await deliver(build(sender="eve@evil.example", subject=f"[#{number}] give me access"), clock)

    for record_id, reason in ((by_header, "in_reply_to"), (by_reference, "references"), (by_token, "subject_token")):
        record = await inbound(client, agents, record_id)
        assert (record["ticket_id"], record["thread_reason"]) == (ticket_id, reason)
    foreign = await inbound(client, agents, stranger)
    assert foreign["ticket_id"] != ticket_id and foreign["thread_reason"] == "token_from_non_participant"
    detail = (await client.get(f"/api/tickets/{ticket_id}", headers=agents.agent.headers)).json()
    assert [m["thread_reason"] for m in detail["messages"]] == ["new", "in_reply_to", "references", "subject_token", "link"]
    assert detail["messages"][-1]["kind"] == "system"
    assert detail["messages"][1]["thread_ref"] == "first@acme.example"


async def test_replies_to_our_reply_reopen_the_ticket(client: AsyncClient, agents: RoleAgents, clock) -> None:
    _, first_id = await deliver(build(), clock)
    ticket_id = (await inbound(client, agents, first_id))["ticket_id"]
    reply = await tickets.add_message(agents.agent.actor, ticket_id, MessageCreate(kind="reply", text="Try again"),
                                      now=clock.now())
    ticket = await tickets.get_ticket(ticket_id)
    await tickets.update_ticket(agents.agent.actor, ticket_id, _update(ticket.version, "pending"), now=clock.now())
    state, _ = await deliver(build(subject="Re: Printer broken", in_reply_to=f"<{reply.message_id}>"), clock)
    assert state == "processed"
    assert (await tickets.get_ticket(ticket_id)).status == "open"


def _update(version: int, status: str):
    from helpdesk.tickets.schemas import TicketUpdate

    return TicketUpdate(version=version, status=status)


async def test_machine_mail_joins_its_ticket_but_never_opens_one(client: AsyncClient, agents: RoleAgents, clock) -> None:
    state, record_id = await deliver(build(sender="Ann <ann@acme.example>", subject="Out of office",
                                           auto_submitted="auto-replied"), clock)
    assert state == "ignored"
    assert (await inbound(client, agents, record_id))["thread_reason"] == "auto_reply_without_ticket"
    assert (await tickets.list_tickets(SYSTEM, tickets.TicketQuery())).items == []

    _, first_id = await deliver(build(message_id="<orig@acme.example>"), clock)
    ticket_id = (await inbound(client, agents, first_id))["ticket_id"]
    ticket = await tickets.get_ticket(ticket_id)
    await tickets.update_ticket(agents.agent.actor, ticket_id, _update(ticket.version, "pending"), now=clock.now())
    state, _ = await deliver(build(subject="Automatic reply: Printer", in_reply_to="<orig@acme.example>",
                                   x_autoreply="yes"), clock)
    assert state == "processed"
    after = await tickets.get_ticket_detail(ticket_id)
    assert after.messages[-1].auto_generated == "auto_reply"
    assert after.ticket.status == "pending"  # an auto-reply does not put the ticket back in our court


async def test_a_bounce_marks_our_reply_bounced(client: AsyncClient, agents: RoleAgents, clock) -> None:
    _, first_id = await deliver(build(), clock)
    ticket_id = (await inbound(client, agents, first_id))["ticket_id"]
    reply = await tickets.add_message(agents.agent.actor, ticket_id, MessageCreate(kind="reply", text="Hi"),
                                      now=clock.now())
    report = EmailMessage()
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.acme.example>"
    report["To"] = "support@helpdesk.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = make_msgid(domain="mx.acme.example")
    report.set_content("Your message could not be delivered.")
    original = EmailMessage()
    original["Message-ID"] = f"<{reply.message_id}>"
    original["Subject"] = "Re: Printer broken"
    report.add_attachment(original, disposition="inline")
    report.replace_header("Content-Type", report["Content-Type"].replace("multipart/mixed", "multipart/report") +
                          '; report-type="delivery-status"')
    state, _ = await deliver(report.as_bytes(), clock)
    assert state == "processed"
    detail = await tickets.get_ticket_detail(ticket_id)
    bounced = next(m for m in detail.messages if m.id == reply.id)
    assert bounced.delivery_state == "bounced"
    assert detail.messages[-1].auto_generated == "bounce"


async def test_our_own_mail_is_never_customer_mail(clock) -> None:
    state, _ = await deliver(build(x_helpdesk_loop=intake.LOOP_HEADER_VALUE), clock)
    assert state == "ignored"


async def test_a_second_delivery_is_a_no_op(clock) -> None:
    raw = build(message_id="<once@acme.example>")
    await deliver(raw, clock)
    again = parse_received(raw)
    [stored] = await store_received(IMPORT_SOURCE, [again], now=clock.now())
    assert not stored.created and stored.state == "processed"
    assert len((await tickets.list_tickets(SYSTEM, tickets.TicketQuery())).items) == 1


async def test_a_failing_mail_is_kept_and_retried(client: AsyncClient, agents: RoleAgents, clock, monkeypatch) -> None:
    raw = build(subject="poison")
    original = intake.ingest

    async def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(intake, "ingest", broken)
    state, record_id = await deliver(raw, clock)
    assert state == "failed"
    record = await inbound(client, agents, record_id)
    assert record["error"] == "RuntimeError: database hiccup" and record["attempts"] == 1
    assert record["next_attempt_at"] is not None
    failed = (await client.get("/api/inbound-mails", params={"state": "failed"}, headers=agents.admin.headers)).json()
    assert [item["id"] for item in failed["items"]] == [record_id]
    download = await client.get(f"/api/inbound-mails/{record_id}/raw", headers=agents.admin.headers)
    assert download.content == raw and download.headers["content-type"].startswith("message/rfc822")

    monkeypatch.setattr(intake, "ingest", original)
    retried = await client.post(f"/api/inbound-mails/{record_id}/retry", headers=agents.admin.headers)
    assert retried.status_code == 200 and retried.json()["state"] == "processed"
    assert retried.json()["ticket_id"] is not None
    again = await client.post(f"/api/inbound-mails/{record_id}/retry", headers=agents.admin.headers)
    assert again.status_code == 409


async def test_too_large_mail_is_quarantined_not_lost(client: AsyncClient, agents: RoleAgents, clock, monkeypatch) -> None:
    from helpdesk.inbox import parse

    raw = build(body="x" * 5000)
    received = intake.Received(raw=raw, parsed=parse.parse_message(raw, max_bytes=1000))
    [stored] = await store_received(IMPORT_SOURCE, [received], now=clock.now())
    assert await ingest_stored(stored.inbound_id, received, now=clock.now()) == "quarantined"
    record = await inbound(client, agents, stored.inbound_id)
    assert record["state"] == "quarantined" and "too large" in record["error"]
    assert (await client.get(f"/api/inbound-mails/{stored.inbound_id}/raw", headers=agents.admin.headers)).content == raw


async def test_required_contact_fields_do_not_block_new_senders(client: AsyncClient, agents: RoleAgents, clock) -> None:
    created = await client.post("/api/custom-fields", headers=agents.admin.headers, json={
        "object_type": "contact", "key": "customer_number", "label": "Customer number", "field_type": "text",
        "required": True})
    assert created.status_code == 201
    state, _ = await deliver(build(sender="New Person <new@person.example>"), clock)
    assert state == "processed"
    by_api = await client.post("/api/tickets", headers=agents.agent.headers, json={
        "subject": "Phone call", "requester": {"name": "Caller", "email": "caller@person.example"}})
    assert by_api.status_code == 201
    manual = await client.post("/api/contacts", headers=agents.agent.headers, json={
        "name": "Typed In", "emails": ["typed@person.example"]})
    assert manual.status_code == 422 and manual.json()["field"] == "custom_fields.customer_number"
