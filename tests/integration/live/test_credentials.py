"""Ending a credential is announced on the bus, so every instance's hub closes the sockets that
used it at once; the periodic re-check only bounds how long an expired session's socket lives."""

from __future__ import annotations

from helpdesk import events
from helpdesk.auth import service as auth_service
from helpdesk.events import Event
from tests.integration.live.support import LiveServer, log_in, wait_until

ENDINGS = {("session", "ended"), ("api_token", "revoked")}


async def test_logout_and_token_revocation_are_announced_to_the_hubs(live: LiveServer, clock) -> None:
    heard: list[Event] = []

    async def hear(event: Event) -> None:
        if (event.type, event.op) in ENDINGS:
            heard.append(event)

    unsubscribe = events.get_bus().subscribe(hear)
    admin = await log_in(live.base_url, "boss@example.com", role="admin", now=clock.now())
    try:
        found = await auth_service.authenticate_session(admin.session, now=clock.now())
        assert found is not None
        session_id = found[0].session_id
        created = await admin.write("POST", "/api/tokens", {"name": "ci", "agent_id": admin.agent_id})
        token_id = created.json()["token"]["id"]

        await admin.write("DELETE", f"/api/tokens/{token_id}")
        await admin.write("DELETE", f"/api/tokens/{token_id}")  # already revoked: nothing new to announce
        await admin.write("POST", "/api/auth/logout")
        await wait_until(lambda: len(heard) >= 2, what="both endings on the bus")
        assert [(e.type, e.op, e.id) for e in heard] == [
            ("api_token", "revoked", token_id),
            ("session", "ended", session_id),
        ]
    finally:
        unsubscribe()
        await admin.aclose()
