"""Who is acting: an agent (through a session or an API token), or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from helpdesk.errors import PermissionDenied

ROLES = ("agent", "lead", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Actor:
    kind: str  # "agent", "token" or "system"
    agent_id: int | None = None
    role: str = "agent"
    team_ids: frozenset[int] = field(default_factory=frozenset)
    token_id: int | None = None
    session_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def has_role(self, minimum: str) -> bool:
        return self.is_system or _RANK[self.role] >= _RANK[minimum]

    def require(self, minimum: str) -> None:
        if not self.has_role(minimum):
            raise PermissionDenied(f"this needs the {minimum} role")


SYSTEM = Actor(kind="system", role="admin")
