"""The audit trail: every change records who did it and what moved, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.actors import Actor
from helpdesk.audit.tables import AuditEvent


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value differs, as {field: [before, after]}."""
    return {
        key: [_plain(before.get(key)), _plain(value)]
        for key, value in after.items()
        if before.get(key) != value
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value)
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


async def record(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int,
    changes: dict[str, list[Any]],
    *,
    at: datetime,
    pending: list[AuditEvent] | None = None,
) -> None:
    """Write an audit row now, or with ``pending`` append it there for the caller to write with
    the others of its transaction (``record_all``)."""
    row = entry(actor, action, object_type, object_id, changes, at=at)
    if pending is not None:
        pending.append(row)
    else:
        await AuditEvent.insert(row).run()


def entry(
    actor: Actor, action: str, object_type: str, object_id: int, changes: dict[str, list[Any]], *, at: datetime
) -> AuditEvent:
    """An audit row not yet written: for ``record_all``, when many are written in one transaction."""
    return AuditEvent(actor_type=actor.kind, actor_id=actor.agent_id, action=action, object_type=object_type,
                      object_id=object_id, changes=changes, created_at=at)


async def record_all(entries: list[AuditEvent]) -> None:
    """Write audit rows in one statement (inside the caller's unit of work)."""
    if entries:
        await AuditEvent.insert(*entries).run()


async def list_for(object_type: str, object_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
    return (
        await AuditEvent.select()
        .output(load_json=True)
        .where((AuditEvent.object_type == object_type) & (AuditEvent.object_id == object_id))
        .order_by(AuditEvent.id, ascending=False)
        .limit(limit)
        .run()
    )
