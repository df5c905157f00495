"""The SLA engine end to end on frozen time: clocks, explanations, escalations exactly once, reports."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient

from helpdesk.actors import SYSTEM
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import TeamCreate
from helpdesk.clock import FrozenClock
from helpdesk.inbox import service as inbox
from helpdesk.inbox.ingest import IMPORT_SOURCE, ingest_stored, parse_received, store_received
from helpdesk.inbox.schemas import MailboxCreate
from helpdesk.outbox.service import deliver_due
from helpdesk.sla import bulk
from helpdesk.sla import service as sla
from helpdesk.sla.runner import SlaRunner
from helpdesk.sla.schemas import CalendarCreate, PolicyCreate
from helpdesk.sla.tables import SlaEscalation
from helpdesk.tickets import service as tickets
from helpdesk.tickets.schemas import MessageCreate
from tests.support import database
from tests.support.agents import RoleAgents
from tests.support.clock import ShiftableClock
from tests.support.smtp import SmtpServer

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_1630 = datetime(2026, 11, 27, 16, 30, tzinfo=BERLIN)  # a Friday
MONDAY = datetime(2026, 11, 30, tzinfo=BERLIN)

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture
def smtp() -> SmtpServer:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
async def office(agents: RoleAgents, smtp: SmtpServer, monkeypatch):
    """Office hours in Berlin, a 1-hour first response for normal tickets, and a sending mailbox."""
    monkeypatch.setenv("UNUSED_IMAP_PASSWORD", "x")
    await inbox.create_mailbox(SYSTEM, MailboxCreate(
        name="support", addresses=["support@helpdesk.example"], imap_host="127.0.0.1", imap_port=1,
        imap_security="none", imap_username="support", password_env="UNUSED_IMAP_PASSWORD", smtp_host="127.0.0.1",
        smtp_port=smtp.port, smtp_security="none", from_address="support@helpdesk.example"), now=FRIDAY_1630)
    team = await auth.create_team(SYSTEM, TeamCreate(name="Support", lead_id=agents.lead.id), now=FRIDAY_1630)
    calendar = await sla.create_calendar(SYSTEM, CalendarCreate(
        name="Berlin office", tz="Europe/Berlin",
        weekly={str(day): [("09:00", "12:00"), ("13:00", "17:00")] for day in range(5)}), now=FRIDAY_1630)
    policy = await sla.create_policy(SYSTEM, msgspec_policy(calendar.id), now=FRIDAY_1630)
    return team, calendar, policy


def msgspec_policy(calendar_id: int) -> PolicyCreate:
    import msgspec

    return msgspec.convert({
        "name": "Standard", "calendar_id": calendar_id, "warn_percent": 50,
        "targets": {priority: {"first_response": 60, "resolution": 480} for priority in ("normal", "high")},
        "escalations": [
            {"level": "warning", "actions": [{"type": "notify"}]},
            {"level": "breach", "actions": [{"type": "auto_reply"}, {"type": "add_tag", "tag": "sla-breach"},
                                            {"type": "raise_priority"}]},
        ],
    }, PolicyCreate)


async def mail_in(now: datetime, team_id: int | None = None) -> int:
    message = EmailMessage()
    message["From"] = "Ann Lee <ann@acme.example>"
    message["To"] = "support@helpdesk.example"
    message["Subject"] = "Printer broken"
    message["Message-ID"] = make_msgid(domain="acme.example")
    message.set_content("Help!")
    received = parse_received(message.as_bytes())
    [stored] = await store_received(IMPORT_SOURCE, [received], now=now)
    await ingest_stored(stored.inbound_id, received, now=now)
    ticket = (await tickets.list_tickets(SYSTEM, tickets.TicketQuery(), limit=1)).items[0]
    if team_id:
        await tickets.update_ticket(SYSTEM, ticket.id, _assign(ticket.version, team_id), now=now)
    return ticket.id


def _assign(version: int, team_id: int):
    from helpdesk.tickets.schemas import TicketUpdate

    return TicketUpdate(version=version, team_id=team_id)


async def test_due_time_in_business_hours_with_an_explanation(client: AsyncClient, agents: RoleAgents, office,
                                                             clock: ShiftableClock) -> None:
    ticket_id = await mail_in(FRIDAY_1630)
    clock.move_to(FRIDAY_1630 + timedelta(minutes=1))  # the SLA tab computes clocks as of the app's now
    clocks = (await client.get(f"/api/tickets/{ticket_id}/sla", headers=agents.agent.headers)).json()
    first = next(c for c in clocks if c["target"] == "first_response")
    # 30 minutes on Friday until 17:00, the remaining 30 on Monday from 09:00.
    assert datetime.fromisoformat(first["due_at"]) == MONDAY.replace(hour=9, minute=30)
    assert datetime.fromisoformat(first["warn_at"]) == FRIDAY_1630.replace(hour=17, minute=0)
    assert first["policy"] == "Standard" and first["state"] == "running"
    explanation = first["explanation"]
    assert explanation["calendar"] == "Berlin office" and explanation["target_minutes"] == 60
    assert [datetime.fromisoformat(a) for a, _ in explanation["windows"]][:2] == [
        FRIDAY_1630, MONDAY.replace(hour=9)]


async def test_warning_and_breach_fire_once_at_the_right_instants(office, smtp: SmtpServer, agents: RoleAgents) -> None:
    team, _, _ = office
    ticket_id = await mail_in(FRIDAY_1630, team_id=team.id)
    clock = FrozenClock(FRIDAY_1630 + timedelta(minutes=29))
    runner, second_runner = SlaRunner(clock), SlaRunner(clock)
    await runner.tick()
    assert await SlaEscalation.count().run() == 0

    clock.set(FRIDAY_1630.replace(hour=17, minute=0))  # 50 % of the hour is used
    await asyncio.gather(runner.tick(), second_runner.tick())
    assert [row["level"] for row in await SlaEscalation.select(SlaEscalation.level).run()] == ["warning"]
    notification = [m for m in (await tickets.get_ticket_detail(ticket_id)).messages if m.kind == "notification"]
    assert len(notification) == 1 and notification[0].to == [agents.lead.email]

    clock.set(MONDAY.replace(hour=9, minute=29))
    await runner.tick()
    assert await SlaEscalation.count().run() == 1
    clock.set(MONDAY.replace(hour=9, minute=30))
    await asyncio.gather(runner.tick(), second_runner.tick(), runner.tick())
    levels = sorted(row["level"] for row in await SlaEscalation.select(SlaEscalation.level).run())
    assert levels == ["breach", "warning"]
    detail = await tickets.get_ticket_detail(ticket_id)
    assert "sla-breach" in detail.ticket.tags and detail.ticket.priority == "high"
    auto_replies = [m for m in detail.messages if m.kind == "auto_reply" and m.thread_reason == "sla"]
    assert len(auto_replies) == 1 and auto_replies[0].delivery_state == "queued"
    await deliver_due(now=clock.now())
    await deliver_due(now=clock.now())
    sla_mails = [r for r in smtp.received if r.recipients == ["ann@acme.example"] and "Auto-Submitted" in r.message]
    assert len([r for r in sla_mails if "not forgotten" in r.message.get_content()]) == 1


async def test_a_reply_before_the_due_time_stops_the_clock(office, smtp: SmtpServer, agents: RoleAgents) -> None:
    ticket_id = await mail_in(FRIDAY_1630)
    replied = MONDAY.replace(hour=9, minute=10)
    await tickets.add_message(agents.agent.actor, ticket_id, MessageCreate(kind="reply", text="On it"), now=replied)
    await deliver_due(now=replied)
    clock = FrozenClock(MONDAY.replace(hour=11))
    await SlaRunner(clock).tick()
    [first] = [c for c in await sla.ticket_clocks(ticket_id, now=clock.now()) if c.target == "first_response"]
    assert first.state == "met" and first.stopped_at is not None
    assert first.elapsed_minutes == 40  # 30 on Friday + 10 on Monday
    assert await SlaEscalation.count().where(SlaEscalation.level == "breach").run() == 0


async def test_pending_pauses_the_resolution_clock(office, agents: RoleAgents) -> None:
    from helpdesk.tickets.schemas import TicketUpdate

    ticket_id = await mail_in(MONDAY.replace(hour=9))
    ticket = await tickets.get_ticket(ticket_id)
    await tickets.update_ticket(agents.agent.actor, ticket_id, TicketUpdate(version=ticket.version, status="pending"),
                                now=MONDAY.replace(hour=10))
    clock = FrozenClock(MONDAY.replace(hour=15))
    await SlaRunner(clock).tick()
    [resolution] = [c for c in await sla.ticket_clocks(ticket_id, now=clock.now()) if c.target == "resolution"]
    assert resolution.state == "paused" and resolution.due_at is None and resolution.elapsed_minutes == 60
    ticket = await tickets.get_ticket(ticket_id)
    await tickets.update_ticket(agents.agent.actor, ticket_id, TicketUpdate(version=ticket.version, status="open"),
                                now=MONDAY.replace(hour=15))
    await SlaRunner(clock).tick()
    [resolution] = [c for c in await sla.ticket_clocks(ticket_id, now=clock.now()) if c.target == "resolution"]
    # 8 business hours: 1 used before the pause, 7 more from Monday 15:00 → Tuesday 15:00 (lunch excluded).
    assert datetime.fromisoformat(resolution.due_at.isoformat()) == MONDAY.replace(day=1, month=12, hour=15)


async def test_report_counts_compliance_and_percentiles(client: AsyncClient, office, agents: RoleAgents) -> None:
    first = await mail_in(MONDAY.replace(hour=9))
    second = await mail_in(MONDAY.replace(hour=9))
    await tickets.add_message(agents.agent.actor, first, MessageCreate(kind="reply", text="a"),
                              now=MONDAY.replace(hour=9, minute=20))
    await tickets.add_message(agents.agent.actor, second, MessageCreate(kind="reply", text="b"),
                              now=MONDAY.replace(hour=11, minute=0))
    await deliver_due(now=MONDAY.replace(hour=9, minute=20))
    clock = FrozenClock(MONDAY.replace(hour=12))
    await SlaRunner(clock).tick()
    response = await client.get("/api/reports/sla", headers=agents.lead.headers, params={
        "start": MONDAY.isoformat(), "end": (MONDAY + timedelta(days=1)).isoformat(), "group_by": "policy"})
    assert response.status_code == 200, response.text
    report = response.json()
    [row] = report["rows"]
    assert row["measured"] >= 2 and row["met"] >= 1
    assert (await client.get("/api/reports/sla", headers=agents.agent.headers, params={
        "start": MONDAY.isoformat(), "end": MONDAY.isoformat()})).status_code == 403


async def _escalate_on_breach(policy_id: int, actions: list[dict]) -> None:
    import msgspec

    from helpdesk.sla.schemas import PolicyUpdate

    await sla.update_policy(SYSTEM, policy_id, msgspec.convert(
        {"escalations": [{"level": "breach", "actions": actions}]}, PolicyUpdate), now=FRIDAY_1630)


async def test_a_breach_reassigns_to_a_team_and_an_agent_once(office, agents: RoleAgents) -> None:
    team, _, policy = office
    escalation_team = await auth.create_team(SYSTEM, TeamCreate(name="Escalations", lead_id=agents.lead.id),
                                             now=FRIDAY_1630)
    await _escalate_on_breach(policy.id, [{"type": "reassign", "team_id": escalation_team.id,
                                           "agent_id": agents.lead.id}])
    ticket_id = await mail_in(FRIDAY_1630, team_id=team.id)
    clock = FrozenClock(MONDAY.replace(hour=9, minute=29))
    runner = SlaRunner(clock)
    await runner.tick()
    before = await tickets.get_ticket(ticket_id)
    assert before.team_id == team.id and before.assignee_id is None

    clock.set(MONDAY.replace(hour=9, minute=30))  # the first response is due now
    await asyncio.gather(runner.tick(), SlaRunner(clock).tick())
    after = await tickets.get_ticket(ticket_id)
    assert (after.team_id, after.assignee_id) == (escalation_team.id, agents.lead.id)
    assert after.version == before.version + 1  # reassigned exactly once
    # Someone takes it back; the breach already fired, so later ticks leave the assignment alone.
    from helpdesk.tickets.schemas import TicketUpdate

    await tickets.update_ticket(agents.lead.actor, ticket_id, TicketUpdate(version=after.version, team_id=team.id),
                                now=clock.now())
    clock.set(MONDAY.replace(hour=10))
    await runner.tick()
    assert (await tickets.get_ticket(ticket_id)).team_id == team.id
    assert [row["level"] for row in await SlaEscalation.select(SlaEscalation.level).run()] == ["breach"]


async def test_a_breach_can_reassign_to_a_team_only(office, agents: RoleAgents) -> None:
    team, _, policy = office
    await _escalate_on_breach(policy.id, [{"type": "reassign", "team_id": team.id}])
    ticket_id = await mail_in(FRIDAY_1630)
    ticket = await tickets.get_ticket(ticket_id)
    await tickets.update_ticket(agents.agent.actor, ticket_id, _assign(ticket.version, team.id), now=FRIDAY_1630)
    from helpdesk.tickets.schemas import TicketUpdate

    ticket = await tickets.get_ticket(ticket_id)
    await tickets.update_ticket(agents.agent.actor, ticket_id,
                                TicketUpdate(version=ticket.version, assignee_id=agents.agent.id), now=FRIDAY_1630)
    await SlaRunner(FrozenClock(MONDAY.replace(hour=9, minute=30))).tick()
    after = await tickets.get_ticket(ticket_id)
    assert (after.team_id, after.assignee_id) == (team.id, agents.agent.id)  # the assignee stays
    assert await SlaEscalation.count().where(SlaEscalation.level == "breach").run() == 1


async def test_status_changes_by_replies_and_mail_pause_and_resume_the_clock(office, agents: RoleAgents) -> None:
    """Status changes made by an agent's reply or a customer's mail count, not only explicit updates."""
    from helpdesk.tickets.schemas import TicketUpdate

    ticket_id = await mail_in(MONDAY.replace(hour=9))
    await tickets.add_message(agents.agent.actor, ticket_id, MessageCreate(kind="reply", text="Which model?"),
                              now=MONDAY.replace(hour=9, minute=30))  # new → open
    ticket = await tickets.get_ticket(ticket_id)
    await tickets.update_ticket(agents.agent.actor, ticket_id, TicketUpdate(version=ticket.version, status="pending"),
                                now=MONDAY.replace(hour=10))
    reply = EmailMessage()
    reply["From"] = "Ann Lee <ann@acme.example>"
    reply["To"] = "support@helpdesk.example"
    reply["Subject"] = f"Re: [#{ticket.number}] Printer broken"
    reply["Message-ID"] = make_msgid(domain="acme.example")
    reply.set_content("The LaserJet 4.")
    received = parse_received(reply.as_bytes())
    [stored] = await store_received(IMPORT_SOURCE, [received], now=MONDAY.replace(hour=14))
    await ingest_stored(stored.inbound_id, received, now=MONDAY.replace(hour=14))  # pending → open
    assert (await tickets.get_ticket(ticket_id)).status == "open"

    await SlaRunner(FrozenClock(MONDAY.replace(hour=15))).tick()
    [resolution] = [c for c in await sla.ticket_clocks(ticket_id, now=MONDAY.replace(hour=15)) if c.target == "resolution"]
    # 9-10 counted, 10-14 pending, 14-15 counted again (lunch inside the pause).
    assert resolution.state == "running" and resolution.elapsed_minutes == 120
    assert [(status, at.hour) for at, status in (await sla.snapshot(ticket_id)).status_changes] == [
        ("open", 8), ("pending", 9), ("open", 13)]  # in UTC: Berlin is UTC+1 in November


async def test_a_recompute_rewrites_only_clocks_that_changed(office, agents: RoleAgents) -> None:
    from helpdesk.sla.tables import SlaClock
    from helpdesk.tickets.schemas import TicketUpdate

    running = await mail_in(MONDAY.replace(hour=9))
    answered = await mail_in(MONDAY.replace(hour=9))
    await tickets.add_message(agents.agent.actor, answered, MessageCreate(kind="reply", text="Done"),
                              now=MONDAY.replace(hour=9, minute=10))
    await deliver_due(now=MONDAY.replace(hour=9, minute=10))
    await SlaRunner(FrozenClock(MONDAY.replace(hour=10))).tick()
    # A fresh runner recomputes every open ticket; a running clock's stored row does not age.
    await SlaRunner(FrozenClock(MONDAY.replace(hour=11))).tick()

    async def computed(ticket_id: int) -> dict[str, datetime]:
        rows = await SlaClock.select(SlaClock.target, SlaClock.computed_at).where(SlaClock.ticket == ticket_id).run()
        return {row["target"]: row["computed_at"] for row in rows}

    # Written when the mail opened the ticket at 9:00, and at 10:00 when the answered first response
    # was met and the running one's warning fired (its next check moved); not at 11:00.
    assert await computed(answered) == {"first_response": MONDAY.replace(hour=10), "resolution": MONDAY.replace(hour=9)}
    assert await computed(running) == {"first_response": MONDAY.replace(hour=10), "resolution": MONDAY.replace(hour=9)}
    ticket = await tickets.get_ticket(running)
    await tickets.update_ticket(agents.agent.actor, running, TicketUpdate(version=ticket.version, status="pending"),
                                now=MONDAY.replace(hour=11, minute=30))
    await SlaRunner(FrozenClock(MONDAY.replace(hour=12))).tick()
    assert await computed(running) == {"first_response": MONDAY.replace(hour=12), "resolution": MONDAY.replace(hour=12)}
    assert await computed(answered) == {"first_response": MONDAY.replace(hour=10), "resolution": MONDAY.replace(hour=9)}


async def test_an_incremental_tick_announces_tickets_whose_clocks_changed(office, agents: RoleAgents) -> None:
    from helpdesk import events
    from helpdesk.tickets.schemas import TicketUpdate

    ticket_id = await mail_in(MONDAY.replace(hour=9))
    clock = FrozenClock(MONDAY.replace(hour=9, minute=5))
    runner = SlaRunner(clock)
    heard: list[events.Event] = []

    async def hear(event: events.Event) -> None:
        heard.append(event)

    unsubscribe = events.get_bus().subscribe(hear)
    try:
        await runner.tick()  # the start-up recompute stays quiet
        assert [e for e in heard if e.type == "sla"] == []
        ticket = await tickets.get_ticket(ticket_id)
        await tickets.update_ticket(agents.agent.actor, ticket_id, TicketUpdate(version=ticket.version,
                                                                                status="pending"), now=clock.now())
        clock.set(MONDAY.replace(hour=9, minute=10))
        await runner.tick()
    finally:
        unsubscribe()
    assert [(e.op, e.id) for e in heard if e.type == "sla"] == [("recomputed", ticket_id)]


@pytest.mark.skipif(database.ENGINE != "postgres", reason="COPY is how PostgreSQL takes large batches")
async def test_many_clocks_written_through_copy_are_the_rows_a_small_batch_writes(office, agents: RoleAgents,
                                                                                   monkeypatch) -> None:
    """PostgreSQL writes large batches through COPY into a temporary table, small ones as arrays."""
    from helpdesk.sla import store
    from helpdesk.sla.tables import SlaClock

    ids = [await mail_in(MONDAY.replace(hour=9, minute=minute)) for minute in range(3)]
    await tickets.add_message(agents.agent.actor, ids[0], MessageCreate(kind="reply", text="On it"),
                              now=MONDAY.replace(hour=9, minute=30))
    await deliver_due(now=MONDAY.replace(hour=9, minute=30))
    policies = await sla.PolicySet.load(now=MONDAY.replace(hour=10))

    async def stored_rows() -> list[dict]:
        columns = [column for column in SlaClock.all_columns() if column._meta.name not in ("id", "computed_at")]
        return await SlaClock.select(*columns).where(
            SlaClock.ticket.is_in(ids)).order_by(SlaClock.ticket, SlaClock.target).run()

    await sla.recompute_many(ids, policies, now=MONDAY.replace(hour=10))
    by_arrays = await stored_rows()
    await SlaClock.delete().where(SlaClock.ticket.is_in(ids)).run()
    monkeypatch.setattr(store, "_PG_COPY_FROM", 1)
    await sla.recompute_many(ids, policies, now=MONDAY.replace(hour=10))
    assert await stored_rows() == by_arrays and len(by_arrays) == 6
    assert [row["state"] for row in by_arrays if row["ticket"] == ids[0]] == ["met", "running"]


async def test_clocks_another_writer_stored_meanwhile_are_updated_in_place(office, agents: RoleAgents,
                                                                          monkeypatch) -> None:
    """A recompute inserts the clocks it read no row for; when another writer (intake, another
    instance) stored one in between, the insert gives way to an update of that row."""
    from helpdesk.sla import store
    from helpdesk.sla.tables import SlaClock

    ticket_id = await mail_in(MONDAY.replace(hour=9))  # intake stores the ticket's first clocks
    stored_by_intake = {row["target"]: row["id"] for row in await SlaClock.select(
        SlaClock.target, SlaClock.id).where(SlaClock.ticket == ticket_id).run()}
    assert stored_by_intake

    async def read_before_intake_wrote(selection):
        return store.Stored.nothing()

    attempts: list[str] = []
    insert = store._insert

    async def counted_insert(columns, *, now, on_conflict):
        attempts.append("upsert" if on_conflict else "insert")
        await insert(columns, now=now, on_conflict=on_conflict)

    monkeypatch.setattr(store, "load", read_before_intake_wrote)
    monkeypatch.setattr(store, "_insert", counted_insert)
    policies = await sla.PolicySet.load(now=MONDAY.replace(hour=10))
    await sla.recompute_many([ticket_id], policies, now=MONDAY.replace(hour=10))
    assert attempts == ["insert", "upsert"]  # the insert met the stored row and was undone
    rows = await SlaClock.select(SlaClock.target, SlaClock.id, SlaClock.computed_at).where(
        SlaClock.ticket == ticket_id).run()
    assert sorted(row["target"] for row in rows) == ["first_response", "resolution"]
    assert all(row["computed_at"] == MONDAY.replace(hour=10) for row in rows)
    assert {row["target"]: row["id"] for row in rows if row["target"] in stored_by_intake} == stored_by_intake


async def test_a_deleted_policy_leaves_its_clocks_to_the_next_tick(office, agents: RoleAgents) -> None:
    from helpdesk.sla.tables import SlaClock

    _, _, policy = office
    ticket_id = await mail_in(MONDAY.replace(hour=9))
    await SlaRunner(FrozenClock(MONDAY.replace(hour=9, minute=5))).tick()
    await sla.delete_policy(agents.admin.actor, policy.id, now=MONDAY.replace(hour=9, minute=10))
    # No foreign key does this for the derived rows: the service clears them.
    policies_of_clocks = await SlaClock.select(SlaClock.policy).where(SlaClock.ticket == ticket_id).run()
    assert policies_of_clocks and all(row["policy"] is None for row in policies_of_clocks)
    await SlaRunner(FrozenClock(MONDAY.replace(hour=9, minute=15))).tick()  # no policy applies any more
    assert await SlaClock.count().where(SlaClock.ticket == ticket_id).run() == 0


async def test_clocks_written_in_many_chunks_are_the_rows_one_chunk_writes(office, agents: RoleAgents) -> None:
    """Chunks are separate transactions (two at once on PostgreSQL); together they write what one does."""
    from helpdesk.sla import store
    from helpdesk.sla.snapshots import Selection, load_columns
    from helpdesk.sla.tables import SlaClock

    ids = [await mail_in(MONDAY.replace(hour=9, minute=minute)) for minute in range(5)]
    now = MONDAY.replace(hour=10)
    policies = await sla.PolicySet.load(now=now)

    async def written_with(chunk: int) -> list[dict]:
        await SlaClock.delete().where(SlaClock.ticket.is_in(ids)).run()
        stored = await store.load(Selection.of(ids))
        clocks = policies.compute(await load_columns(Selection.of(ids), needs=policies.needs), stored.fired, now)
        assert await store.save(stored, clocks, now=bulk.to_us(now), chunk=chunk) == set(ids)
        columns = [column for column in SlaClock.all_columns() if column._meta.name != "id"]
        return await SlaClock.select(*columns).where(SlaClock.ticket.is_in(ids)).order_by(
            SlaClock.ticket, SlaClock.target).run()

    in_one = await written_with(chunk=20_000)
    assert len(in_one) == 10 and await written_with(chunk=1) == in_one
