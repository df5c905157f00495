"""Agents, teams, API tokens and login sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import msgspec

import helpdesk.audit.service as audit_service
from helpdesk.actors import SYSTEM, Actor
from helpdesk.audit.service import changes_between
from helpdesk.auth.passwords import hash_password, verify_password
from helpdesk.auth.schemas import (
    AgentCreate,
    AgentRead,
    AgentUpdate,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from helpdesk.auth.tables import Agent, AgentSession, ApiToken, Team, TeamMember
from helpdesk.db import unit_of_work
from helpdesk.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from helpdesk.events import Event, publish_on_commit
from helpdesk.schemas import provided_fields

TOKEN_PREFIX = "hd_"
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# ---------------------------------------------------------------- agents


async def _team_ids_by_agent(agent_ids: list[int]) -> dict[int, list[int]]:
    if not agent_ids:
        return {}
    rows = await TeamMember.select(TeamMember.agent, TeamMember.team).where(TeamMember.agent.is_in(agent_ids)).run()
    by_agent: dict[int, list[int]] = {agent_id: [] for agent_id in agent_ids}
    for row in rows:
        by_agent[row["agent"]].append(row["team"])
    return {agent_id: sorted(teams) for agent_id, teams in by_agent.items()}


def _agent_read(row: dict[str, Any], team_ids: list[int]) -> AgentRead:
    return AgentRead(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        active=row["active"],
        team_ids=team_ids,
        created_at=row["created_at"],
    )


_AGENT_COLUMNS = (Agent.id, Agent.name, Agent.email, Agent.role, Agent.active, Agent.created_at)


async def list_agents() -> list[AgentRead]:
    rows = await Agent.select(*_AGENT_COLUMNS).order_by(Agent.name).run()
    teams = await _team_ids_by_agent([row["id"] for row in rows])
    return [_agent_read(row, teams[row["id"]]) for row in rows]


async def get_agent(agent_id: int) -> AgentRead:
    row = await Agent.select(*_AGENT_COLUMNS).where(Agent.id == agent_id).first().run()
    if row is None:
        raise NotFound(f"agent {agent_id} does not exist", field="agent_id")
    teams = await _team_ids_by_agent([agent_id])
    return _agent_read(row, teams[agent_id])


async def check_agent_exists(agent_id: int | None, *, field: str) -> None:
    if agent_id is not None and not await Agent.exists().where(Agent.id == agent_id).run():
        raise ValidationFailed(f"agent {agent_id} does not exist", field=field)


async def check_team_exists(team_id: int | None, *, field: str) -> None:
    if team_id is not None and not await Team.exists().where(Team.id == team_id).run():
        raise ValidationFailed(f"team {team_id} does not exist", field=field)


async def _check_email_free(email: str, *, except_id: int | None = None) -> None:
    query = Agent.exists().where(Agent.email == email)
    if except_id is not None:
        query = query.where(Agent.id != except_id)
    if await query.run():
        raise Conflict(f"an agent with email {email} already exists", field="email")


async def _set_memberships(agent_id: int, team_ids: list[int]) -> None:
    for team_id in team_ids:
        await check_team_exists(team_id, field="team_ids")
    await TeamMember.delete().where(TeamMember.agent == agent_id).run()
    if team_ids:
        await TeamMember.insert(*[TeamMember(team=t, agent=agent_id) for t in sorted(set(team_ids))]).run()


async def create_agent(actor: Actor, data: AgentCreate, *, now: datetime) -> AgentRead:
    actor.require("admin")
    email = data.email.strip().lower()
    async with unit_of_work():
        await _check_email_free(email)
        [row] = await Agent.insert(
            Agent(
                name=data.name.strip(),
                email=email,
                role=data.role,
                password_hash=hash_password(data.password) if data.password else None,
                created_at=now,
                updated_at=now,
            )
        ).run()
        agent_id = row["id"]
        await _set_memberships(agent_id, data.team_ids)
        await audit_service.record(
            actor, "agent.created", "agent", agent_id, {"email": [None, email], "role": [None, data.role]}, at=now
        )
        publish_on_commit(Event("agent", "created", agent_id))
    return await get_agent(agent_id)


async def update_agent(actor: Actor, agent_id: int, data: AgentUpdate, *, now: datetime) -> AgentRead:
    actor.require("admin")
    fields = provided_fields(data)
    async with unit_of_work():
        before = await get_agent(agent_id)
        values: dict[Any, Any] = {}
        if "email" in fields:
            fields["email"] = fields["email"].strip().lower()
            await _check_email_free(fields["email"], except_id=agent_id)
        for name in ("name", "email", "role", "active"):
            if name in fields:
                values[getattr(Agent, name)] = fields[name]
        if "password" in fields:
            values[Agent.password_hash] = hash_password(fields.pop("password"))
            fields["password"] = "changed"
        if values:
            values[Agent.updated_at] = now
            await Agent.update(values).where(Agent.id == agent_id).run()
        if "team_ids" in fields:
            fields["team_ids"] = sorted(set(fields["team_ids"]))
            await _set_memberships(agent_id, fields["team_ids"])
        if fields.get("active") is False or "password" in fields:
            # A deactivated agent, or one whose password changed, must log in again.
            await AgentSession.delete().where(AgentSession.agent == agent_id).run()
        changes = changes_between(msgspec.structs.asdict(before), fields)
        await audit_service.record(actor, "agent.updated", "agent", agent_id, changes, at=now)
        publish_on_commit(Event("agent", "updated", agent_id))
    return await get_agent(agent_id)


# ---------------------------------------------------------------- teams


async def _team_read(team_id: int) -> TeamRead:
    row = await Team.select(Team.id, Team.name, Team.lead).where(Team.id == team_id).first().run()
    if row is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    members = await TeamMember.select(TeamMember.agent).where(TeamMember.team == team_id).run()
    return TeamRead(id=row["id"], name=row["name"], lead_id=row["lead"], member_ids=sorted(m["agent"] for m in members))


async def list_teams() -> list[TeamRead]:
    rows = await Team.select(Team.id).order_by(Team.name).run()
    return [await _team_read(row["id"]) for row in rows]


async def get_team(team_id: int) -> TeamRead:
    return await _team_read(team_id)


async def _check_team_name_free(name: str, *, except_id: int | None = None) -> None:
    query = Team.exists().where(Team.name == name)
    if except_id is not None:
        query = query.where(Team.id != except_id)
    if await query.run():
        raise Conflict(f"a team named {name!r} already exists", field="name")


async def _set_members(team_id: int, member_ids: list[int]) -> None:
    for agent_id in member_ids:
        await check_agent_exists(agent_id, field="member_ids")
    await TeamMember.delete().where(TeamMember.team == team_id).run()
    if member_ids:
        await TeamMember.insert(*[TeamMember(team=team_id, agent=a) for a in sorted(set(member_ids))]).run()


async def create_team(actor: Actor, data: TeamCreate, *, now: datetime) -> TeamRead:
    actor.require("admin")
    async with unit_of_work():
        await _check_team_name_free(data.name)
        await check_agent_exists(data.lead_id, field="lead_id")
        [row] = await Team.insert(Team(name=data.name, lead=data.lead_id, created_at=now)).run()
        await _set_members(row["id"], data.member_ids)
        await audit_service.record(actor, "team.created", "team", row["id"], {"name": [None, data.name]}, at=now)
        publish_on_commit(Event("team", "created", row["id"]))
    return await _team_read(row["id"])


async def update_team(actor: Actor, team_id: int, data: TeamUpdate, *, now: datetime) -> TeamRead:
    actor.require("admin")
    fields = provided_fields(data)
    async with unit_of_work():
        before = await _team_read(team_id)
        values: dict[Any, Any] = {}
        if "name" in fields:
            await _check_team_name_free(fields["name"], except_id=team_id)
            values[Team.name] = fields["name"]
        if "lead_id" in fields:
            await check_agent_exists(fields["lead_id"], field="lead_id")
            values[Team.lead] = fields["lead_id"]
        if values:
            await Team.update(values).where(Team.id == team_id).run()
        if "member_ids" in fields:
            fields["member_ids"] = sorted(set(fields["member_ids"]))
            await _set_members(team_id, fields["member_ids"])
        changes = changes_between(msgspec.structs.asdict(before), fields)
        await audit_service.record(actor, "team.updated", "team", team_id, changes, at=now)
        publish_on_commit(Event("team", "updated", team_id))
    return await _team_read(team_id)


async def delete_team(actor: Actor, team_id: int, *, now: datetime) -> None:
    actor.require("admin")
    async with unit_of_work():
        before = await _team_read(team_id)
        await Team.delete().where(Team.id == team_id).run()
        await audit_service.record(actor, "team.deleted", "team", team_id, {"name": [before.name, None]}, at=now)
        publish_on_commit(Event("team", "deleted", team_id))


# ---------------------------------------------------------------- API tokens


def _token_read(row: dict[str, Any]) -> TokenRead:
    return TokenRead(
        id=row["id"],
        name=row["name"],
        agent_id=row["agent"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


async def list_tokens(actor: Actor) -> list[TokenRead]:
    actor.require("admin")
    rows = await ApiToken.select().order_by(ApiToken.id).run()
    return [_token_read(row) for row in rows]


async def create_token(actor: Actor, data: TokenCreate, *, now: datetime) -> TokenCreated:
    actor.require("admin")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with unit_of_work():
        await check_agent_exists(data.agent_id, field="agent_id")
        [row] = await ApiToken.insert(
            ApiToken(agent=data.agent_id, name=data.name, token_hash=_digest(secret), prefix=secret[:10], created_at=now)
        ).run()
        await audit_service.record(actor, "token.created", "api_token", row["id"], {"name": [None, data.name]}, at=now)
    stored = await ApiToken.select().where(ApiToken.id == row["id"]).first().run()
    return TokenCreated(token=_token_read(stored), secret=secret)


async def revoke_token(actor: Actor, token_id: int, *, now: datetime) -> TokenRead:
    actor.require("admin")
    async with unit_of_work():
        row = await ApiToken.select().where(ApiToken.id == token_id).first().run()
        if row is None:
            raise NotFound(f"token {token_id} does not exist", field="token_id")
        if row["revoked_at"] is None:
            await ApiToken.update({ApiToken.revoked_at: now}).where(ApiToken.id == token_id).run()
            await audit_service.record(actor, "token.revoked", "api_token", token_id, {"revoked_at": [None, now.isoformat()]}, at=now)
            publish_on_commit(Event("api_token", "revoked", token_id))  # its live sockets close now
    return _token_read(await ApiToken.select().where(ApiToken.id == token_id).first().run())


# ---------------------------------------------------------------- sessions and authentication


async def _actor_for_agent(agent_id: int, **extra: Any) -> Actor | None:
    agent = await Agent.select(Agent.id, Agent.role, Agent.active).where(Agent.id == agent_id).first().run()
    if agent is None or not agent["active"]:
        return None
    teams = await _team_ids_by_agent([agent_id])
    return Actor(kind=extra.pop("kind"), agent_id=agent_id, role=agent["role"], team_ids=frozenset(teams[agent_id]), **extra)


async def login(email: str, password: str, *, now: datetime, ttl: timedelta) -> tuple[str, str, AgentRead]:
    """Check the credentials and open a session: (session secret, CSRF token, agent)."""
    row = await Agent.select(Agent.id, Agent.password_hash, Agent.active).where(
        Agent.email == email.strip().lower()
    ).first().run()
    password_ok = verify_password(row["password_hash"] if row else None, password)
    if row is None or not password_ok or not row["active"]:
        raise NotAuthenticated("wrong email or password", field="password")
    secret = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    async with unit_of_work():
        await AgentSession.delete().where(AgentSession.expires_at < now).run()
        await AgentSession.insert(
            AgentSession(agent=row["id"], token_hash=_digest(secret), csrf_token=csrf_token, created_at=now,
                         expires_at=now + ttl)
        ).run()
    return secret, csrf_token, await get_agent(row["id"])


async def logout(session_secret: str) -> None:
    async with unit_of_work():
        session = await AgentSession.select(AgentSession.id).where(
            AgentSession.token_hash == _digest(session_secret)).first().run()
        if session is None:
            return
        await AgentSession.delete().where(AgentSession.id == session["id"]).run()
        # Live sockets opened with this session close now rather than at their next periodic check.
        publish_on_commit(Event("session", "ended", session["id"]))


async def authenticate_session(session_secret: str, *, now: datetime) -> tuple[Actor, str] | None:
    """The actor behind a session cookie and the session's CSRF token, or None."""
    session = await AgentSession.select().where(AgentSession.token_hash == _digest(session_secret)).first().run()
    if session is None or session["expires_at"] <= now:
        return None
    actor = await _actor_for_agent(session["agent"], kind="agent", session_id=session["id"])
    return (actor, session["csrf_token"]) if actor else None


async def authenticate_token(secret: str, *, now: datetime) -> Actor | None:
    token = await ApiToken.select().where(ApiToken.token_hash == _digest(secret)).first().run()
    if token is None or token["revoked_at"] is not None:
        return None
    # Recording last use is advisory: once a minute is enough, and spares every read a write.
    if token["last_used_at"] is None or now - token["last_used_at"] > TOKEN_USE_RESOLUTION:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == token["id"]).run()
    return await _actor_for_agent(token["agent"], kind="token", token_id=token["id"])


async def ensure_admin(email: str, password: str, *, name: str, now: datetime) -> tuple[AgentRead, bool]:
    """Create an admin, or reset the password of an existing one; (agent, created)."""
    email = email.strip().lower()
    existing = await Agent.select(Agent.id).where(Agent.email == email).first().run()

    if existing:
        agent = await update_agent(SYSTEM, existing["id"], AgentUpdate(password=password, role="admin", active=True), now=now)
        return agent, False
    return await create_agent(SYSTEM, AgentCreate(name=name, email=email, role="admin", password=password), now=now), True
