"""Outgoing mail against real servers: Dovecot for intake, aiosmtpd for sending."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from httpx import AsyncClient

from helpdesk.actors import SYSTEM
from helpdesk.inbox import service as inbox
from helpdesk.inbox.imap import ImapSession
from helpdesk.inbox.poller import MailboxPoller
from helpdesk.inbox.schemas import MailboxCreate
from helpdesk.outbox.service import deliver_due
from helpdesk.tickets import service as tickets
from tests.support.agents import RoleAgents
from tests.support.database import ENGINE, TestDatabase
from tests.support.dovecot import Dovecot
from tests.support.smtp import SmtpServer

SUPPORT = "support@helpdesk.example"
CUSTOMER = "ann@acme.example"
HELPDESK = str(Path(sys.executable).parent / "helpdesk")


@pytest.fixture
def smtp(dovecot: Dovecot) -> Iterator[SmtpServer]:
    """An SMTP server that drops mail for our support address into its Dovecot mailbox."""
    inboxes: dict[str, str] = {}
    server = SmtpServer(deliver=lambda rcpt, raw: dovecot.append(inboxes[rcpt], raw) if rcpt in inboxes else None)
    server.inboxes = inboxes  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def support(clean_db, dovecot: Dovecot, smtp: SmtpServer, clock, monkeypatch):
    user = dovecot.new_user("support")
    smtp.inboxes[SUPPORT] = user.name
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", user.password)
    mailbox = await inbox.create_mailbox(SYSTEM, MailboxCreate(
        name="support", addresses=[SUPPORT], imap_host="127.0.0.1", imap_port=dovecot.port, imap_security="none",
        imap_username=user.name, password_env="SUPPORT_IMAP_PASSWORD", smtp_host="127.0.0.1", smtp_port=smtp.port,
        smtp_security="none", from_address=SUPPORT, from_name="Acme Support", ack_enabled=True,
        signature_template="-- \n{{ agent_name }}, {{ mailbox_name }}",
    ), now=clock.now())
    return mailbox, user


def customer_mail(subject: str = "Printer broken", sender: str = f"Ann Lee <{CUSTOMER}>", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="acme.example"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Hello, it is broken again.")
    return message.as_bytes()


async def poll(mailbox, dovecot: Dovecot, user, clock) -> None:
    poller = MailboxPoller(mailbox.id, "test", clock)
    with ImapSession(dovecot.endpoint(user.name)) as session:
        await poller.sync(session, session.state)


async def test_round_trip_acknowledgement_reply_and_customer_answer(
    client: AsyncClient, agents: RoleAgents, dovecot: Dovecot, smtp: SmtpServer, support, clock
) -> None:
    mailbox, user = support
    dovecot.append(user.name, customer_mail(message_id="<first@acme.example>"))
    await poll(mailbox, dovecot, user, clock)
    [ticket] = (await tickets.list_tickets(SYSTEM, tickets.TicketQuery())).items
    assert await deliver_due(now=clock.now()) == 1

    [ack] = smtp.received
    ack_mail = ack.message
    assert ack.recipients == [CUSTOMER]
    assert ack_mail["Auto-Submitted"] == "auto-replied" and ack_mail["X-Helpdesk-Loop"] == "helpdesk"
    assert ack_mail["In-Reply-To"] == "<first@acme.example>"
    assert f"[#{ticket.number}]" in ack_mail["Subject"] and ticket.number in ack_mail.get_content()

    reply = await client.post(f"/api/tickets/{ticket.id}/messages", headers=agents.agent.headers, json={
        "kind": "reply", "text": "Please restart it.", "html": "<p>Please <b>restart</b> it.</p>"})
    assert reply.json()["delivery_state"] == "queued"
    assert len(smtp.received) == 1  # nothing is sent inside the request
    await deliver_due(now=clock.now())
    sent = smtp.received[-1].message
    assert sent["Subject"] == f"Re: [#{ticket.number}] Printer broken"
    assert sent["Message-ID"] == f"<{reply.json()['message_id']}>"
    assert sent["In-Reply-To"] == "<first@acme.example>"
    assert "<first@acme.example>" in sent["References"]
    assert sent["Auto-Submitted"] is None and sent["X-Helpdesk-Loop"] == "helpdesk"
    assert sent.get_content_type() == "multipart/alternative"
    assert "Please restart it." in sent.get_body(("plain",)).get_content()
    assert "Agent, Acme Support" in sent.get_body(("plain",)).get_content()
    state = (await client.get(f"/api/tickets/{ticket.id}", headers=agents.agent.headers)).json()
    assert state["messages"][-1]["delivery_state"] == "sent"

    answer = customer_mail(subject=f"Re: {sent['Subject']}", in_reply_to=sent["Message-ID"],
                           references=f"{sent['References']} {sent['Message-ID']}")
    dovecot.append(user.name, answer)
    await poll(mailbox, dovecot, user, clock)
    detail = await tickets.get_ticket_detail(ticket.id)
    assert [m.kind for m in detail.messages] == ["customer", "auto_reply", "reply", "customer"]
    assert detail.messages[-1].thread_reason == "in_reply_to"
    assert len((await tickets.list_tickets(SYSTEM, tickets.TicketQuery())).items) == 1


async def test_a_down_smtp_server_keeps_the_reply_queued_until_it_is_back(
    client: AsyncClient, agents: RoleAgents, smtp: SmtpServer, support, clock
) -> None:
    ticket = (await client.post("/api/tickets", headers=agents.agent.headers, json={
        "subject": "Call me", "requester": {"name": "Ann", "email": CUSTOMER}})).json()["ticket"]
    smtp.stop()
    reply = (await client.post(f"/api/tickets/{ticket['id']}/messages", headers=agents.agent.headers,
                               json={"kind": "reply", "text": "Calling you now."})).json()
    await deliver_due(now=clock.now())
    [message] = [m for m in (await tickets.get_ticket_detail(ticket["id"])).messages if m.id == reply["id"]]
    assert message.delivery_state == "queued" and message.delivery_error
    smtp.start()
    assert await deliver_due(now=clock.now()) == 0  # backing off
    clock.advance(timedelta(minutes=2))
    assert await deliver_due(now=clock.now()) == 1
    [message] = [m for m in (await tickets.get_ticket_detail(ticket["id"])).messages if m.id == reply["id"]]
    assert message.delivery_state == "sent"
    assert [r.message["Message-ID"] for r in smtp.received] == [f"<{reply['message_id']}>"]


async def test_a_refused_recipient_fails_and_a_bounce_marks_bounced(
    client: AsyncClient, agents: RoleAgents, dovecot: Dovecot, smtp: SmtpServer, support, clock
) -> None:
    mailbox, user = support
    smtp.reject("gone@acme.example")
    gone = (await client.post("/api/tickets", headers=agents.agent.headers, json={
        "subject": "x", "requester": {"name": "Gone", "email": "gone@acme.example"}})).json()["ticket"]
    refused = (await client.post(f"/api/tickets/{gone['id']}/messages", headers=agents.agent.headers,
                                 json={"kind": "reply", "text": "hello"})).json()
    ticket = (await client.post("/api/tickets", headers=agents.agent.headers, json={
        "subject": "Printer", "requester": {"name": "Ann", "email": CUSTOMER}})).json()["ticket"]
    reply = (await client.post(f"/api/tickets/{ticket['id']}/messages", headers=agents.agent.headers,
                               json={"kind": "reply", "text": "Fixed"})).json()
    await deliver_due(now=clock.now())
    states = {m.id: m for m in (await tickets.get_ticket_detail(gone["id"])).messages}
    assert states[refused["id"]].delivery_state == "failed" and "550" in states[refused["id"]].delivery_error

    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.acme.example"
    bounce["To"] = SUPPORT
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = make_msgid(domain="mx.acme.example")
    bounce.set_content("The mail system could not deliver your message.")
    original = EmailMessage()
    original["Message-ID"] = f"<{reply['message_id']}>"
    bounce.add_attachment(original, disposition="inline")
    bounce.replace_header("Content-Type", bounce["Content-Type"].replace("multipart/mixed", "multipart/report")
                          + '; report-type="delivery-status"')
    dovecot.append(user.name, bounce.as_bytes())
    await poll(mailbox, dovecot, user, clock)
    [message] = [m for m in (await tickets.get_ticket_detail(ticket["id"])).messages if m.id == reply["id"]]
    assert message.delivery_state == "bounced"
    assert len(smtp.received) == 1  # the bounce got no acknowledgement


async def test_rfc3834_no_answers_to_machines_and_a_cap_per_sender(
    dovecot: Dovecot, smtp: SmtpServer, support, clock
) -> None:
    mailbox, user = support
    dovecot.append(user.name, customer_mail(sender="noreply@shop.example"))
    dovecot.append(user.name, customer_mail(sender="news@list.example", list_id="<news.list.example>"))
    dovecot.append(user.name, customer_mail(sender="bulk@promo.example", precedence="bulk"))
    dovecot.append(user.name, customer_mail(sender=SUPPORT))
    for number in range(7):
        dovecot.append(user.name, customer_mail(subject=f"Question {number}", sender="busy@acme.example"))
    await poll(mailbox, dovecot, user, clock)
    await deliver_due(now=clock.now())
    await deliver_due(now=clock.now())
    recipients = [r.recipients[0] for r in smtp.received]
    assert recipients == ["busy@acme.example"] * 5  # the default cap (5 an hour) holds; the others got none


async def test_two_helpdesks_answering_each_other_stop(
    test_database: TestDatabase, dovecot: Dovecot, smtp: SmtpServer, support, clock
) -> None:
    """Our instance acknowledges a mail from another helpdesk; that helpdesk must not answer back."""
    mailbox, user = support
    other_user = dovecot.new_user("other")
    other_address = "help@other-helpdesk.example"
    smtp.inboxes[other_address] = other_user.name
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    env.update(HELPDESK_DATA_DIR=tempfile.mkdtemp(prefix="helpdesk-other-"), OTHER_IMAP=other_user.password)
    if ENGINE == "postgres":
        env["HELPDESK_DATABASE_URL"] = test_database.new_postgres_database()
        subprocess.run([HELPDESK, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([HELPDESK, "mailbox", "add", "--name", "help", "--address", other_address,
                    "--imap-host", "127.0.0.1", "--imap-port", str(dovecot.port), "--imap-security", "none",
                    "--imap-username", other_user.name, "--password-env", "OTHER_IMAP",
                    "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port), "--smtp-security", "none",
                    "--from-address", other_address, "--ack", "true"], env=env, check=True, capture_output=True)
    other = subprocess.Popen([HELPDESK, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The other helpdesk writes to us (as if an agent there had); we acknowledge it.
        dovecot.append(user.name, customer_mail(sender=other_address, subject="Order 42"))
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            await poll(mailbox, dovecot, user, clock)
            await deliver_due(now=clock.now())
            await _sleep(0.5)
    finally:
        other.terminate()
        other.wait(timeout=30)
    assert [r.sender for r in smtp.received] == [SUPPORT]  # our acknowledgement, and no answer to it
    assert len(smtp.received) <= 2


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
