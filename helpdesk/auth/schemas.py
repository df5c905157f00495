from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from helpdesk.schemas import Strict

Role = Literal["admin", "lead", "agent"]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1000)]


class LoginRequest(Strict, kw_only=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=1000)]


class AgentRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    email: str
    role: str
    active: bool
    team_ids: list[int]
    created_at: datetime


class LoginResponse(msgspec.Struct, kw_only=True):
    agent: AgentRead
    csrf_token: str


class SessionRead(msgspec.Struct, kw_only=True):
    agent: AgentRead
    csrf_token: str | None  # None for an API token: it needs no CSRF token


class AgentCreate(Strict, kw_only=True):
    name: Name
    email: Email
    role: Role = "agent"
    password: Password | None = None
    team_ids: list[int] = []


class AgentUpdate(Strict, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    team_ids: list[int] | msgspec.UnsetType = msgspec.UNSET


class TeamRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    lead_id: int | None
    member_ids: list[int]


class TeamCreate(Strict, kw_only=True):
    name: Name
    lead_id: int | None = None
    member_ids: list[int] = []


class TeamUpdate(Strict, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    lead_id: int | None | msgspec.UnsetType = msgspec.UNSET
    member_ids: list[int] | msgspec.UnsetType = msgspec.UNSET


class TokenCreate(Strict, kw_only=True):
    name: Name
    agent_id: int


class TokenRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    agent_id: int
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(msgspec.Struct, kw_only=True):
    token: TokenRead
    secret: str  # shown once; only its hash is stored
