"""Which events an agent's socket receives: the one place a per-team rule will go."""

from __future__ import annotations

from helpdesk.actors import Actor
from helpdesk.events import Event


def may_receive(actor: Actor, event: Event) -> bool:
    """For now every active agent may see every ticket, so every event goes to everyone.

    The actor is re-read from the database every few seconds (and on ``agent`` events), so
    its role and teams here are current. A per-team rule needs the ticket's team on ticket,
    message and presence events (e.g. ``event.data["team_id"]``); ids alone cannot decide.
    """
    return actor.agent_id is not None
