"""One agent per role, each with an API token, for calling the API as that role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from helpdesk.actors import SYSTEM, Actor
from helpdesk.auth import service as auth
from helpdesk.auth.schemas import AgentCreate, TokenCreate

PASSWORD = "correct horse battery"


@dataclass
class RoleAgent:
    id: int
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def actor(self) -> Actor:
        return Actor(kind="agent", agent_id=self.id, role=self.role)


@dataclass
class RoleAgents:
    admin: RoleAgent
    lead: RoleAgent
    agent: RoleAgent

    def by_role(self, role: str) -> RoleAgent:
        return getattr(self, role)


async def make_agent(role: str, now: datetime, *, password: str | None = None, email: str | None = None) -> RoleAgent:
    email = email or f"{role}@example.com"
    agent = await auth.create_agent(SYSTEM, AgentCreate(name=role.title(), email=email, role=role, password=password), now=now)
    token = await auth.create_token(SYSTEM, TokenCreate(name=f"{role} token", agent_id=agent.id), now=now)
    return RoleAgent(id=agent.id, email=email, role=role, token=token.secret)


async def make_role_agents(now: datetime) -> RoleAgents:
    return RoleAgents(
        admin=await make_agent("admin", now),
        lead=await make_agent("lead", now),
        agent=await make_agent("agent", now),
    )
