"""Who is viewing or replying to which ticket (pure, no I/O).

Marks are kept per connection, so two tabs of one agent count once and closing one tab
does not hide the other. Each mark remembers when it was last announced; marks nobody
re-announces (their instance crashed) expire.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = ("viewing", "replying")


@dataclass
class _Mark:
    agent_id: int
    state: str
    seen_at: float


class PresenceBoard:
    def __init__(self) -> None:
        self._marks: dict[int, dict[str, _Mark]] = {}  # ticket id → connection key → mark

    def apply(self, ticket_id: int, connection: str, agent_id: int, state: str | None, *, now: float) -> bool:
        """Record a connection's state on a ticket (None: it left); whether who-is-here changed."""
        if state is not None and state not in STATES:
            raise ValueError(f"unknown presence state {state!r}")
        before = self.on_ticket(ticket_id)
        marks = self._marks.setdefault(ticket_id, {})
        if state is None:
            marks.pop(connection, None)
        else:
            marks[connection] = _Mark(agent_id, state, now)
        if not marks:
            del self._marks[ticket_id]
        return self.on_ticket(ticket_id) != before

    def on_ticket(self, ticket_id: int) -> list[dict[str, int | str]]:
        """One entry per agent, ordered by agent id; replying in any tab beats viewing."""
        states: dict[int, str] = {}
        for mark in self._marks.get(ticket_id, {}).values():
            if states.get(mark.agent_id) != "replying":
                states[mark.agent_id] = mark.state
        return [{"agent_id": agent_id, "state": states[agent_id]} for agent_id in sorted(states)]

    def everyone(self) -> dict[int, list[dict[str, int | str]]]:
        """Who is on every ticket somebody is on: what a newly connected socket starts from."""
        return {ticket_id: self.on_ticket(ticket_id) for ticket_id in sorted(self._marks)}

    def expire(self, *, seen_before: float) -> list[int]:
        """Forget marks last announced before ``seen_before``; the tickets whose list changed."""
        changed = []
        for ticket_id in list(self._marks):
            before = self.on_ticket(ticket_id)
            marks = self._marks[ticket_id]
            for connection in [key for key, mark in marks.items() if mark.seen_at < seen_before]:
                del marks[connection]
            if not marks:
                del self._marks[ticket_id]
            if self.on_ticket(ticket_id) != before:
                changed.append(ticket_id)
        return changed
