"""SLA calendars and policies (admin-managed), per-ticket clocks, escalations and the report."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import numpy as np
from piccolo.query.mixins import OnConflictAction

import helpdesk.audit.service as audit_service
from helpdesk.actors import SYSTEM, Actor
from helpdesk.auth.tables import Agent, Team
from helpdesk.db import is_postgres, read_concurrently, reading, transaction_cache, unit_of_work
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Event, publish_on_commit
from helpdesk.schemas import provided_fields
from helpdesk.sla import bulk, store
from helpdesk.sla import policy as rules
from helpdesk.sla.calendar import BusinessCalendar, public_holidays
from helpdesk.sla.snapshots import Needs, Selection, as_datetime, load_columns, load_snapshots
from helpdesk.sla.schemas import (
    CalendarCreate,
    CalendarRead,
    CalendarUpdate,
    ClockRead,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
)
from helpdesk.sla.tables import Calendar, Policy, SlaClock, SlaEscalation
from helpdesk.templates import render
from helpdesk.tickets import service as tickets
from helpdesk.tickets.status import OPEN_STATUSES, PRIORITIES, PRIORITY_RANK
from helpdesk.tickets.tables import Message, Ticket, TicketTag

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- calendars


def _calendar_read(row: dict[str, Any]) -> CalendarRead:
    return CalendarRead(id=row["id"], name=row["name"], tz=row["tz"], always_open=row["always_open"],
                        weekly=row["weekly"], holidays=row["holidays"], holiday_country=row["holiday_country"],
                        holiday_subdiv=row["holiday_subdiv"])


def business_calendar(row: dict[str, Any], *, years: range) -> BusinessCalendar:
    """The pure calendar for a stored one; public holidays are expanded for ``years``."""
    holidays = {date.fromisoformat(day) for day in row["holidays"]}
    if row["holiday_country"]:
        holidays |= public_holidays(row["holiday_country"], years, row["holiday_subdiv"])
    if row["always_open"]:
        return BusinessCalendar(tz=row["tz"], weekly=BusinessCalendar.always(row["tz"]).weekly,
                                holidays=frozenset(holidays))
    hours = {int(day): [tuple(interval) for interval in intervals] for day, intervals in row["weekly"].items()}
    return BusinessCalendar.weekly_hours(row["tz"], hours, holidays=holidays)


def _check_calendar(values: dict[str, Any]) -> None:
    try:
        ZoneInfo(values["tz"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {values['tz']!r}", field="tz") from None
    if not values["always_open"] and not any(values["weekly"].values()):
        raise ValidationFailed("the schedule is empty: give opening hours or always_open", field="weekly")
    try:
        business_calendar({**values, "holidays": [str(d) for d in values["holidays"]]}, years=range(2000, 2001))
    except (ValueError, NotImplementedError, KeyError) as error:
        field = "holiday_country" if values.get("holiday_country") and "ountry" in str(error) else "weekly"
        raise ValidationFailed(str(error), field=field) from None


async def list_calendars() -> list[CalendarRead]:
    return [_calendar_read(row) for row in await Calendar.select().output(load_json=True).order_by(Calendar.id).run()]


async def _calendar_row(calendar_id: int) -> dict[str, Any]:
    row = await Calendar.select().output(load_json=True).where(Calendar.id == calendar_id).first().run()
    if row is None:
        raise NotFound(f"calendar {calendar_id} does not exist", field="calendar_id")
    return row


async def get_calendar(calendar_id: int) -> CalendarRead:
    return _calendar_read(await _calendar_row(calendar_id))


def _calendar_values(fields: dict[str, Any]) -> dict[str, Any]:
    values = dict(fields)
    if "holidays" in values:
        values["holidays"] = sorted({str(day) for day in values["holidays"]})
    if "weekly" in values:
        values["weekly"] = {day: [list(interval) for interval in intervals] for day, intervals in values["weekly"].items()}
    return values


async def create_calendar(actor: Actor, data: CalendarCreate, *, now: datetime) -> CalendarRead:
    actor.require("admin")
    values = _calendar_values(msgspec.structs.asdict(data))
    _check_calendar(values)
    async with unit_of_work():
        if await Calendar.exists().where(Calendar.name == data.name).run():
            raise Conflict(f"a calendar named {data.name!r} exists", field="name")
        [row] = await Calendar.insert(Calendar(**values, created_at=now, updated_at=now)).run()
        await audit_service.record(actor, "sla_calendar.created", "sla_calendar", row["id"],
                                   audit_service.changes_between({}, values), at=now)
    return await get_calendar(row["id"])


async def update_calendar(actor: Actor, calendar_id: int, data: CalendarUpdate, *, now: datetime) -> CalendarRead:
    actor.require("admin")
    fields = _calendar_values(provided_fields(data))
    async with unit_of_work():
        before = await _calendar_row(calendar_id)
        merged = {**before, **fields}
        _check_calendar(merged)
        await Calendar.update({**{getattr(Calendar, k): v for k, v in fields.items()}, Calendar.updated_at: now}).where(
            Calendar.id == calendar_id).run()
        await audit_service.record(actor, "sla_calendar.updated", "sla_calendar", calendar_id,
                                   audit_service.changes_between(before, fields), at=now)
        publish_on_commit(Event("sla_calendar", "updated", calendar_id))
    return await get_calendar(calendar_id)


# ---------------------------------------------------------------- policies


def _policy_read(row: dict[str, Any]) -> PolicyRead:
    return PolicyRead(id=row["id"], name=row["name"], position=row["position"], enabled=row["enabled"],
                      conditions=row["conditions"], targets=row["targets"], calendar_id=row["calendar"],
                      pause_statuses=row["pause_statuses"], warn_percent=row["warn_percent"],
                      warn_minutes_before=row["warn_minutes_before"], escalations=row["escalations"])


async def list_policies() -> list[PolicyRead]:
    rows = await Policy.select().output(load_json=True).order_by(Policy.position, Policy.id).run()
    return [_policy_read(row) for row in rows]


async def get_policy(policy_id: int) -> PolicyRead:
    row = await Policy.select().output(load_json=True).where(Policy.id == policy_id).first().run()
    if row is None:
        raise NotFound(f"policy {policy_id} does not exist", field="policy_id")
    return _policy_read(row)


async def _check_policy(values: dict[str, Any]) -> None:
    await _calendar_row(values["calendar_id"])
    if not any(values["targets"].values()):
        raise ValidationFailed("a policy needs at least one target", field="targets")
    conditions = values["conditions"]
    for team_id in conditions.get("team_ids", []):
        if not await Team.exists().where(Team.id == team_id).run():
            raise ValidationFailed(f"team {team_id} does not exist: the policy would match nothing",
                                   field="conditions.team_ids")
    for escalation in values["escalations"]:
        for action in escalation["actions"]:
            if action["type"] == "add_tag" and not action.get("tag"):
                raise ValidationFailed("add_tag needs a tag", field="escalations.actions.tag")
            if action["type"] == "reassign" and not (action.get("team_id") or action.get("agent_id")):
                raise ValidationFailed("reassign needs team_id or agent_id", field="escalations.actions.team_id")


def _policy_values(fields: dict[str, Any]) -> dict[str, Any]:
    values = {key: msgspec.to_builtins(value) for key, value in fields.items()}
    if "calendar_id" in values:
        values["calendar"] = values.pop("calendar_id")
    return values


async def create_policy(actor: Actor, data: PolicyCreate, *, now: datetime) -> PolicyRead:
    actor.require("admin")
    values = msgspec.to_builtins(data)
    await _check_policy(values)
    async with unit_of_work():
        if await Policy.exists().where(Policy.name == data.name).run():
            raise Conflict(f"a policy named {data.name!r} exists", field="name")
        [row] = await Policy.insert(Policy(**_policy_values(values), created_at=now, updated_at=now)).run()
        await audit_service.record(actor, "sla_policy.created", "sla_policy", row["id"],
                                   audit_service.changes_between({}, values), at=now)
        publish_on_commit(Event("sla_policy", "created", row["id"]))
    return await get_policy(row["id"])


async def update_policy(actor: Actor, policy_id: int, data: PolicyUpdate, *, now: datetime) -> PolicyRead:
    actor.require("admin")
    fields = {key: msgspec.to_builtins(value) for key, value in provided_fields(data).items()}
    async with unit_of_work():
        before = msgspec.structs.asdict(await get_policy(policy_id))
        await _check_policy({**before, **fields})
        values = _policy_values(fields)
        await Policy.update({**{getattr(Policy, k): v for k, v in values.items()}, Policy.updated_at: now}).where(
            Policy.id == policy_id).run()
        await audit_service.record(actor, "sla_policy.updated", "sla_policy", policy_id,
                                   audit_service.changes_between(before, fields), at=now)
        publish_on_commit(Event("sla_policy", "updated", policy_id))
    return await get_policy(policy_id)


async def delete_policy(actor: Actor, policy_id: int, *, now: datetime) -> None:
    actor.require("admin")
    async with unit_of_work():
        before = await get_policy(policy_id)
        await Policy.delete().where(Policy.id == policy_id).run()
        # sla_clock has no foreign key to do this (see SlaClock); the next tick recomputes these clocks.
        await SlaClock.update({SlaClock.policy: None}).where(SlaClock.policy == policy_id).run()
        await audit_service.record(actor, "sla_policy.deleted", "sla_policy", policy_id,
                                   {"name": [before.name, None]}, at=now)


def _rule(row: PolicyRead) -> rules.Policy:
    conditions = row.conditions
    return rules.Policy(
        id=row.id, name=row.name,
        conditions=rules.Conditions(
            priorities=frozenset(conditions.get("priorities", [])), tiers=frozenset(conditions.get("tiers", [])),
            team_ids=frozenset(conditions.get("team_ids", [])), mailbox_ids=frozenset(conditions.get("mailbox_ids", [])),
            tags=frozenset(conditions.get("tags", [])), channels=frozenset(conditions.get("channels", []))),
        targets=row.targets, pause_statuses=frozenset(row.pause_statuses), warn_percent=row.warn_percent,
        warn_minutes_before=row.warn_minutes_before,
        escalations=tuple(rules.Escalation(level=e["level"], actions=tuple(e["actions"])) for e in row.escalations),
    )


class PolicySet:
    """Enabled policies and their calendars, loaded once per recompute round."""

    def __init__(self, policies: list[PolicyRead], calendars: dict[int, dict[str, Any]], *, now: datetime):
        self.rules = [_rule(policy) for policy in policies if policy.enabled]
        self.needs = Needs(tags=any(rule.conditions.tags for rule in self.rules),
                           mailbox=any(rule.conditions.mailbox_ids for rule in self.rules))
        self._calendar_of = {policy.id: policy.calendar_id for policy in policies}
        # Public holidays around now: SLA targets end within a year or two.
        years = range(now.year - 1, now.year + 3)
        self._calendars = {cid: business_calendar(row, years=years) for cid, row in calendars.items()}
        self.calendar_names = {cid: row["name"] for cid, row in calendars.items()}
        self._timelines = bulk.CalendarTimelines(self._calendars)

    @classmethod
    async def load(cls, *, now: datetime) -> PolicySet:
        """The current rules; the built set (calendars with their public holidays) is reused while
        the stored policies and calendars are the same (two small queries)."""
        policies = await list_policies()
        calendars = {row["id"]: row for row in await Calendar.select().output(load_json=True).run()}
        # The rows themselves, not ids and update times: those repeat when a database is recreated.
        stamp = (now.year, msgspec.json.encode(policies), msgspec.json.encode(calendars))
        cached = _policy_set_cache.get("current")
        if cached and cached[0] == stamp:
            return cached[1]
        loaded = cls(policies, calendars, now=now)
        _policy_set_cache["current"] = (stamp, loaded)
        return loaded

    def calendar_for(self, policy: rules.Policy) -> tuple[int, BusinessCalendar]:
        calendar_id = self._calendar_of[policy.id]
        return calendar_id, self._calendars[calendar_id]

    def compute(self, tickets: bulk.Tickets, fired: bulk.Fired, now: datetime) -> bulk.Clocks:
        """The batch's clocks as stored; the few the batch arithmetic leaves (a due time beyond
        any timeline) come from the reference, ``policy.evaluate``."""
        clocks, left = bulk.compute(self.rules, self._calendar_of, self._timelines, tickets, fired, bulk.to_us(now))
        if not len(left):
            return clocks
        index = {ticket_id: position for position, ticket_id in enumerate(tickets.ids.tolist())}
        by_reference = []
        for ticket_id in left.tolist():
            ticket = bulk.snapshot_of(tickets, index[ticket_id])
            policy = rules.choose_policy(self.rules, ticket)
            assert policy is not None  # only tickets with clocks are left
            by_reference.append(bulk.reference_clocks(policy, self.calendar_for(policy)[1], ticket,
                                                      fired.for_ticket(ticket_id), now))
        return bulk.concatenate([clocks.where(~np.isin(clocks.ticket, left)), *by_reference])


_policy_set_cache: dict[str, tuple[tuple, PolicySet]] = {}


# ---------------------------------------------------------------- clocks


@dataclass(frozen=True)
class Evaluation:
    """A ticket's clocks at an instant under the policy that matched it (None: no policy applies),
    with the escalation levels that had fired when it was computed (target → levels)."""

    ticket_id: int
    policy: rules.Policy | None
    calendar_id: int | None
    clocks: list[rules.ClockState]
    fired: dict[str, set[str]] = field(default_factory=dict)


async def snapshot(ticket_id: int, *, mailbox_id: int | None = None) -> rules.TicketSnapshot:
    """The ticket as the policies see it; ``mailbox_id`` for a ticket whose mail is not linked yet."""
    found = await load_snapshots([ticket_id], mailbox_ids={ticket_id: mailbox_id} if mailbox_id else None)
    if ticket_id not in found:
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    return found[ticket_id]


def evaluate(policies: PolicySet, ticket: rules.TicketSnapshot, now: datetime,
             fired: dict[str, set[str]] | None = None) -> Evaluation:
    policy = rules.choose_policy(policies.rules, ticket)
    if policy is None:
        return Evaluation(ticket.id, None, None, [], fired or {})
    calendar_id, calendar = policies.calendar_for(policy)
    return Evaluation(ticket.id, policy, calendar_id, rules.evaluate(policy, calendar, ticket, now), fired or {})


def _explain(clock: rules.ClockState, policy: rules.Policy, calendar_name: str) -> dict[str, Any]:
    return {
        "policy": policy.name,
        "calendar": calendar_name,
        "target_minutes": clock.target_minutes,
        "paused": [[a.isoformat(), b.isoformat()] for a, b in clock.paused],
        "windows": [[a.isoformat(), b.isoformat()] for a, b in clock.windows[:rules.EXPLAINED_WINDOWS]],
        "how": (f"{clock.target_minutes} business minutes from {clock.started_at.isoformat()} in {calendar_name}, "
                f"not counting {len(clock.paused)} paused interval(s)"
                + (f", end at {clock.due_at.isoformat()}" if clock.due_at else "; paused now, so no due time")),
    }


@dataclass(frozen=True)
class Recomputed:
    """How many tickets a recompute read, and those whose stored clocks it changed."""

    tickets: int
    changed: set[int]


async def recompute_many(
    ticket_ids: Sequence[int], policies: PolicySet, *, now: datetime, mailbox_ids: dict[int, int] | None = None,
    announce: bool = False,
) -> Recomputed:
    """Recompute a batch of tickets' clocks and store what changed.

    With ``announce``, each ticket whose clocks changed gets an ``sla`` event, so open views
    refetch its due times (a full recompute at start-up stays quiet instead of flooding them).
    """
    return await _recompute(Selection.of(ticket_ids), policies, now=now, mailbox_ids=mailbox_ids, announce=announce)


async def recompute_open(policies: PolicySet, *, now: datetime) -> Recomputed:
    """Recompute every open ticket's clocks (at start-up, or when the rules changed): each table
    is read once for all of them, and only changed clocks are written, in chunks."""
    return await _recompute(Selection.open_tickets(), policies, now=now)


async def _recompute(selection: Selection, policies: PolicySet, *, now: datetime,
                     mailbox_ids: dict[int, int] | None = None, announce: bool = False) -> Recomputed:
    """A handful of statements for the whole selection: the tickets as columns, the stored
    clocks' digests and fired levels, upserts of the changed clocks and one delete. Outside a
    transaction the reads do not share a snapshot (on PostgreSQL they run at once, see
    ``read_concurrently``): a ticket changed meanwhile is recomputed by the runner's next tick.
    The writes take transactions of their own, so SQLite's single writer is held for the
    writing only."""
    tickets, stored = await read_concurrently(
        partial(load_columns, selection, needs=policies.needs, mailbox_ids=mailbox_ids),
        partial(store.load, selection))
    clocks = policies.compute(tickets, stored.fired, now)
    changed = await store.save(stored, clocks, now=bulk.to_us(now))
    if announce and changed:
        async with unit_of_work():  # the caller's, or one that only publishes after the writes committed
            for ticket_id in sorted(changed):
                publish_on_commit(Event("sla", "recomputed", ticket_id))
    return Recomputed(len(tickets), changed)


async def evaluate_many(ticket_ids: Sequence[int], policies: PolicySet, *, now: datetime) -> dict[int, Evaluation]:
    """The reference's clocks of a few tickets with their fired levels (to decide escalations)."""
    async with reading():
        snapshots = await load_snapshots(ticket_ids, needs=policies.needs)
        stored = await store.load(Selection.of(ticket_ids))
    return {ticket_id: evaluate(policies, ticket, now, stored.fired.for_ticket(ticket_id))
            for ticket_id, ticket in snapshots.items()}


async def ticket_clocks(ticket_id: int, *, now: datetime) -> list[ClockRead]:
    """The ticket's clocks as of now, each with how its due time came out."""
    await tickets.get_ticket(ticket_id)
    policies = await PolicySet.load(now=now)
    evaluation = evaluate(policies, await snapshot(ticket_id), now)
    policy = evaluation.policy
    if policy is None or evaluation.calendar_id is None:
        return []
    calendar_name = policies.calendar_names[evaluation.calendar_id]
    return [ClockRead(target=clock.target, state=clock.state, policy_id=policy.id, policy=policy.name,
                      started_at=clock.started_at, due_at=clock.due_at, warn_at=clock.warn_at,
                      stopped_at=clock.stopped_at, target_minutes=clock.target_minutes,
                      elapsed_minutes=round(clock.elapsed.total_seconds() / 60, 2),
                      explanation=_explain(clock, policy, calendar_name))
            for clock in evaluation.clocks]


async def first_response_due(ticket_id: int, *, now: datetime, mailbox_id: int | None = None) -> datetime | None:
    """Start the clocks of a ticket opened in the current unit of work and return its promised
    first-response time (for the acknowledgement).

    Such a ticket has no replies, status changes, clocks or fired levels yet, so only its row
    (and its tags, if a policy looks at tags) is read, and the rules once per transaction:
    intake opens many tickets in one.
    """
    policies = await _policies_of_this_transaction(now)
    found = await Ticket.raw(
        "SELECT t.priority, t.status, t.channel, t.created_at, t.team, a.tier FROM ticket t "
        "LEFT JOIN account a ON a.id = t.account WHERE t.id = {}", ticket_id).run()
    if not found:
        raise NotFound(f"ticket {ticket_id} does not exist", field="ticket_id")
    [row] = found
    tags = frozenset(tag["tag"] for tag in await TicketTag.select(TicketTag.tag).where(
        TicketTag.ticket == ticket_id).run()) if policies.needs.tags else frozenset()
    ticket = rules.TicketSnapshot(
        id=ticket_id, priority=row["priority"], status=row["status"], channel=row["channel"],
        created_at=as_datetime(row["created_at"]), tier=row["tier"], team_id=row["team"], mailbox_id=mailbox_id,
        tags=tags)
    evaluation = evaluate(policies, ticket, now)
    if evaluation.policy is None:
        return None
    clocks = bulk.from_states(ticket_id, evaluation.policy, evaluation.clocks, {})
    await store.save(store.Stored.nothing(), clocks, now=bulk.to_us(now))
    return next((clock.due_at for clock in evaluation.clocks if clock.target == "first_response"), None)


async def _policies_of_this_transaction(now: datetime) -> PolicySet:
    cache = transaction_cache()
    if cache is None:
        return await PolicySet.load(now=now)
    if ("sla.policies", now.year) not in cache:
        cache[("sla.policies", now.year)] = await PolicySet.load(now=now)
    return cache[("sla.policies", now.year)]


# ---------------------------------------------------------------- escalations


def has_due_levels(evaluation: Evaluation | None, now: datetime) -> bool:
    """Whether a level is due that had not fired when the evaluation was made."""
    if evaluation is None or evaluation.policy is None:
        return False
    return any(escalation.level not in evaluation.fired.get(clock.target, ())
               for clock in evaluation.clocks for escalation in rules.due_levels(evaluation.policy, clock, now))


async def escalate(
    ticket_id: int, policies: PolicySet, *, now: datetime, evaluation: Evaluation | None = None
) -> list[str]:
    """Fire the escalation levels that are due, each exactly once (one transaction). Returns fired levels.

    ``evaluation`` is the ticket's clocks as just recomputed by the caller; without it they are
    computed here. Either way they are not computed again after firing: the stored clocks'
    next check moves past what fired, and actions that change the ticket (priority, team)
    make it a changed ticket that the next tick recomputes.
    """
    fired_now: list[str] = []
    async with unit_of_work():
        if is_postgres():
            # Claim the ticket's clocks: another instance busy with them is skipped, not waited for.
            claimed = await SlaClock.raw(
                "SELECT id FROM sla_clock WHERE ticket = {} FOR UPDATE SKIP LOCKED", ticket_id).run()
            if not claimed:
                return []
        if evaluation is None:
            found = await load_snapshots([ticket_id], needs=policies.needs)
            if ticket_id not in found:
                return []
            evaluation = evaluate(policies, found[ticket_id], now)
        policy = evaluation.policy
        if policy is None:
            return []
        stored = await store.load(Selection.of([ticket_id]))
        fired = stored.fired.for_ticket(ticket_id)
        for clock in evaluation.clocks:
            for escalation in rules.due_levels(policy, clock, now):
                if escalation.level in fired.get(clock.target, ()):
                    continue
                # The unique key (ticket, target, level) makes a second firing — another
                # instance, a retry after a crash — a no-op.
                taken = await SlaEscalation.insert(SlaEscalation(
                    ticket=ticket_id, target=clock.target, level=escalation.level, fired_at=now,
                    actions=json.dumps(list(escalation.actions)),
                )).on_conflict(action=OnConflictAction.do_nothing).returning(SlaEscalation.id).run()
                fired.setdefault(clock.target, set()).add(escalation.level)
                if not taken:
                    continue
                for action in escalation.actions:
                    await _act(action, ticket_id, clock, escalation.level, now=now)
                await audit_service.record(SYSTEM, "sla.escalated", "ticket", ticket_id,
                                           {"sla": [None, f"{clock.target} {escalation.level}"]}, at=now)
                publish_on_commit(Event("sla", escalation.level, ticket_id, data={"target": clock.target}))
                fired_now.append(f"{clock.target}:{escalation.level}")
        # The same clocks stored again: their next check moves past what fired.
        await store.save(stored, bulk.from_states(ticket_id, policy, evaluation.clocks, fired), now=bulk.to_us(now))
    return fired_now


async def _act(action: dict[str, Any], ticket_id: int, clock: rules.ClockState, level: str, *, now: datetime) -> None:
    kind = action["type"]
    ticket = await tickets.get_ticket(ticket_id)
    if kind == "reassign":
        values: dict[Any, Any] = {}
        if action.get("team_id"):
            values[Ticket.team] = action["team_id"]
        if action.get("agent_id"):
            values[Ticket.assignee] = action["agent_id"]
        await tickets.do_bump_ticket(ticket, values, now=now)
    elif kind == "raise_priority":
        current = PRIORITY_RANK[ticket.priority]
        target = action.get("priority") or PRIORITIES[min(current, len(PRIORITIES) - 1)]
        if PRIORITY_RANK[target] > current:
            await tickets.do_bump_ticket(ticket, {Ticket.priority: target, Ticket.priority_rank: PRIORITY_RANK[target]},
                                         now=now)
    elif kind == "add_tag":
        await TicketTag.insert(TicketTag(ticket=ticket_id, tag=action["tag"].lower())).on_conflict(
            action=OnConflictAction.do_nothing).run()
        await tickets.do_bump_ticket(ticket, {}, now=now)
    elif kind == "notify":
        await _notify_lead(ticket, clock, level, now=now)
    elif kind == "auto_reply" and ticket.requester and ticket.requester.email:
        body = render(action.get("template") or DEFAULT_SLA_REPLY, {
            "ticket_number": ticket.number, "subject": ticket.subject, "customer_name": ticket.requester.name,
            "level": level, "target": clock.target.replace("_", " ")})
        await tickets.do_insert_message(ticket_id, kind="auto_reply", now=now, text=body, to=[ticket.requester.email],
                                        subject=f"[#{ticket.number}] {ticket.subject}", delivery_state="queued",
                                        message_id=tickets.new_message_id(now), thread_reason="sla")


DEFAULT_SLA_REPLY = """Hello {{ customer_name }},

we have not forgotten your request {{ ticket_number }} ("{{ subject }}"). It is taking longer than
we promised; a colleague is on it now.
"""


async def _notify_lead(ticket: Any, clock: rules.ClockState, level: str, *, now: datetime) -> None:
    """A live event for agents (published by the caller) and a mail to the team lead, when there is one."""
    if ticket.team_id is None:
        return
    team = await Team.select(Team.lead).where(Team.id == ticket.team_id).first().run()
    lead = await Agent.select(Agent.email).where(Agent.id == team["lead"]).first().run() if team and team["lead"] else None
    if lead is None:
        return
    text = (f"SLA {level}: {clock.target.replace('_', ' ')} on {ticket.number} \"{ticket.subject}\" "
            f"is due {clock.due_at.isoformat() if clock.due_at else 'now'}.")
    await tickets.do_insert_message(ticket.id, kind="notification", now=now, text=text, to=[lead["email"]],
                                    subject=f"SLA {level}: {ticket.number}", delivery_state="queued",
                                    message_id=tickets.new_message_id(now), thread_reason="sla")


# ---------------------------------------------------------------- the runner's queries


async def due_ticket_ids(*, now: datetime, lookahead: timedelta, limit: int = 500) -> list[int]:
    """Tickets with a clock needing attention before now + lookahead (an index range scan)."""
    rows = await SlaClock.select(SlaClock.ticket).where(
        SlaClock.next_check_at.is_not_null() & (SlaClock.next_check_at <= now + lookahead)
    ).order_by(SlaClock.next_check_at).limit(limit).run()
    return list(dict.fromkeys(row["ticket"] for row in rows))


async def changed_ticket_ids(since: datetime, *, limit: int = 5000) -> list[int]:
    """Tickets changed, or with a reply delivered, since ``since`` (both index range scans)."""
    changed = await Ticket.select(Ticket.id).where(Ticket.updated_at > since).limit(limit).run()
    delivered = await Message.select(Message.ticket).where(Message.sent_at > since).limit(limit).run()
    return list(dict.fromkeys([row["id"] for row in changed] + [row["ticket"] for row in delivered]))
