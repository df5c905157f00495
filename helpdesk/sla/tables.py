from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from helpdesk.tickets.tables import Ticket


class Calendar(Table, tablename="sla_calendar"):
    name = Varchar(length=200, unique=True)
    tz = Varchar(length=64, default="UTC")
    always_open = Boolean(default=False)  # 24/7
    weekly = JSON(default={})  # {"0": [["09:00", "12:00"], ["13:00", "17:00"]], …}, 0 = Monday
    holidays = JSON(default=[])  # ISO dates
    holiday_country = Varchar(length=10, null=True, default=None)  # public holidays from the holidays package
    holiday_subdiv = Varchar(length=10, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Policy(Table, tablename="sla_policy"):
    name = Varchar(length=200, unique=True)
    position = Integer(default=0)  # the first matching policy in position order wins
    enabled = Boolean(default=True)
    conditions = JSON(default={})
    targets = JSON(default={})  # {priority: {target: minutes}}
    calendar = ForeignKey(Calendar, on_delete=OnDelete.restrict)
    pause_statuses = JSON(default=["pending", "on_hold"])
    warn_percent = Integer(null=True, default=80)
    warn_minutes_before = Integer(null=True, default=None)
    escalations = JSON(default=[])  # [{"level": "warning"|"breach"|"breach+N", "actions": [...]}]
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SlaClock(Table, tablename="sla_clock"):
    """One target's clock on one ticket, as last computed.

    Derived data, written in bulk: the database holds no foreign key constraints for ``ticket``
    and ``policy`` (migration 2026-12-08T00:30); they are declared here for Piccolo's joins.
    """

    ticket = ForeignKey(Ticket, on_delete=OnDelete.cascade)
    target = Varchar(length=20)
    policy = ForeignKey(Policy, null=True, on_delete=OnDelete.set_null)  # cleared by sla.service.delete_policy
    state = Varchar(length=10)  # running, paused, met, breached
    started_at = Timestamptz()
    due_at = Timestamptz(null=True, default=None)
    warn_at = Timestamptz(null=True, default=None)
    stopped_at = Timestamptz(null=True, default=None)
    target_minutes = Integer()
    # Business time used by a stopped or paused clock; a running one's grows, so it is computed when read.
    elapsed_seconds = Integer(default=0)
    next_check_at = Timestamptz(null=True, default=None)  # when the runner must look again
    computed_at = Timestamptz()
    # A digest of the values above but computed_at: a recompute rewrites only clocks whose digest changed.
    digest = BigInt(default=0)


class SlaEscalation(Table, tablename="sla_escalation"):
    """A fired escalation level; unique per ticket, target and level, so it fires exactly once."""

    ticket = ForeignKey(Ticket, on_delete=OnDelete.cascade)
    target = Varchar(length=20)
    level = Varchar(length=20)
    fired_at = Timestamptz()
    actions = Text(default="")
