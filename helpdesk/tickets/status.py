"""Ticket statuses, priorities and the allowed transitions between statuses (pure)."""

from __future__ import annotations

from helpdesk.errors import InvalidTransition

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
OPEN_STATUSES = ("new", "open", "pending", "on_hold")
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES, start=1)}
CHANNELS = ("email", "web", "api", "phone")

# Closed is final: a customer writing about a closed ticket starts a new one.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "on_hold", "solved", "closed"}),
    "open": frozenset({"pending", "on_hold", "solved", "closed"}),
    "pending": frozenset({"open", "on_hold", "solved", "closed"}),
    "on_hold": frozenset({"open", "pending", "solved", "closed"}),
    "solved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}


def check_transition(current: str, target: str) -> None:
    if target == current:
        return
    if target not in ALLOWED_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"a {current} ticket cannot become {target}", field="status")


def status_after_customer_message(current: str) -> str:
    """A customer writing again means the ball is back in our court."""
    return "open" if current in ("pending", "on_hold", "solved") else current


def status_after_agent_reply(current: str) -> str:
    return "open" if current == "new" else current
