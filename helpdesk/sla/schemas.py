from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from helpdesk.schemas import Strict

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
WallTime = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]
Weekly = dict[Annotated[str, msgspec.Meta(pattern=r"^[0-6]$")], list[tuple[WallTime, WallTime]]]
Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Target = Literal["first_response", "next_response", "resolution"]
Priority = Literal["low", "normal", "high", "urgent"]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=525_600)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class CalendarRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    tz: str
    always_open: bool
    weekly: dict[str, list[list[str]]]
    holidays: list[str]
    holiday_country: str | None
    holiday_subdiv: str | None


class CalendarCreate(Strict, kw_only=True):
    name: Name
    tz: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UTC"
    always_open: bool = False
    weekly: Weekly = {}
    holidays: list[date] = []
    holiday_country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] | None = None
    holiday_subdiv: Annotated[str, msgspec.Meta(max_length=10)] | None = None


class CalendarUpdate(Strict, kw_only=True):
    name: Name | Unset = UNSET
    tz: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | Unset = UNSET
    always_open: bool | Unset = UNSET
    weekly: Weekly | Unset = UNSET
    holidays: list[date] | Unset = UNSET
    holiday_country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] | None | Unset = UNSET
    holiday_subdiv: Annotated[str, msgspec.Meta(max_length=10)] | None | Unset = UNSET


class Conditions(Strict, kw_only=True):
    priorities: list[Priority] = []
    tiers: list[Literal["standard", "premium", "enterprise"]] = []
    team_ids: list[int] = []
    mailbox_ids: list[int] = []
    tags: list[str] = []
    channels: list[Literal["email", "web", "api", "phone"]] = []


class Action(Strict, kw_only=True):
    type: Literal["notify", "reassign", "raise_priority", "add_tag", "auto_reply"]
    team_id: int | None = None  # reassign
    agent_id: int | None = None  # reassign
    priority: Priority | None = None  # raise_priority (default: one step up)
    tag: Annotated[str, msgspec.Meta(min_length=1, max_length=60)] | None = None  # add_tag
    template: Annotated[str, msgspec.Meta(max_length=20_000)] | None = None  # auto_reply body


class EscalationRule(Strict, kw_only=True):
    level: Annotated[str, msgspec.Meta(pattern=r"^(warning|breach|breach\+\d{1,5})$")]
    actions: list[Action]


class PolicyRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    position: int
    enabled: bool
    conditions: dict[str, Any]
    targets: dict[str, dict[str, int]]
    calendar_id: int
    pause_statuses: list[str]
    warn_percent: int | None
    warn_minutes_before: int | None
    escalations: list[dict[str, Any]]


class PolicyCreate(Strict, kw_only=True):
    name: Name
    position: int = 0
    enabled: bool = True
    conditions: Conditions = msgspec.field(default_factory=Conditions)
    targets: dict[Priority, dict[Target, Minutes]]
    calendar_id: int
    pause_statuses: list[Status] = msgspec.field(default_factory=lambda: ["pending", "on_hold"])
    warn_percent: Annotated[int, msgspec.Meta(ge=1, le=99)] | None = 80
    warn_minutes_before: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    escalations: list[EscalationRule] = []


class PolicyUpdate(Strict, kw_only=True):
    name: Name | Unset = UNSET
    position: int | Unset = UNSET
    enabled: bool | Unset = UNSET
    conditions: Conditions | Unset = UNSET
    targets: dict[Priority, dict[Target, Minutes]] | Unset = UNSET
    calendar_id: int | Unset = UNSET
    pause_statuses: list[Status] | Unset = UNSET
    warn_percent: Annotated[int, msgspec.Meta(ge=1, le=99)] | None | Unset = UNSET
    warn_minutes_before: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None | Unset = UNSET
    escalations: list[EscalationRule] | Unset = UNSET


class ClockRead(msgspec.Struct, kw_only=True):
    target: str
    state: str
    policy_id: int | None
    policy: str | None
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    stopped_at: datetime | None
    target_minutes: int
    elapsed_minutes: float
    explanation: dict[str, Any]


class SlaReportRow(msgspec.Struct, kw_only=True):
    group: str
    group_id: int | None
    measured: int
    met: int
    breached: int
    compliance_percent: float | None
    first_response_p50_minutes: float | None
    first_response_p90_minutes: float | None
    resolution_p50_minutes: float | None
    resolution_p90_minutes: float | None


class SlaReport(msgspec.Struct, kw_only=True):
    period_start: datetime
    period_end: datetime
    group_by: str
    rows: list[SlaReportRow]
    at_risk_ticket_ids: list[int]
    breached_ticket_ids: list[int]
