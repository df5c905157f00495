"""Who may open /ws: a logged-in agent on the app's own origin (or with an API token)."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.live.support import LiveServer, log_in, open_socket, receive


async def _close_code(socket) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await receive(socket)
    return closed.value.rcvd.code


async def test_without_a_session_the_socket_is_closed_with_4401(live: LiveServer) -> None:
    async with open_socket(live.base_url) as socket:
        assert await _close_code(socket) == 4401
    async with open_socket(live.base_url, cookie="not-a-session") as socket:
        assert await _close_code(socket) == 4401
    async with open_socket(live.base_url, headers={"Authorization": "Bearer hd_unknown"}) as socket:
        assert await _close_code(socket) == 4401


async def test_another_origin_is_refused_before_the_handshake_completes(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        for origin in ("https://evil.example", f"http://localhost:{live.port}", "null"):
            with pytest.raises(InvalidStatus) as refused:
                async with open_socket(live.base_url, cookie=agent.session, origin=origin):
                    pass
            assert refused.value.response.status_code == 403
        async with agent.socket() as socket:  # the same session from the app's own page works
            assert (await receive(socket))["type"] == "welcome"
    finally:
        await agent.aclose()


async def test_an_api_token_works_without_origin(live: LiveServer, agents) -> None:
    async with open_socket(live.base_url, origin=None, headers=agents.lead.headers) as socket:
        welcome = await receive(socket)
    assert welcome["type"] == "welcome" and welcome["agent_id"] == agents.lead.id
    assert welcome["seq"] >= 0 and welcome["epoch"] == live.hub.epoch


async def test_a_malformed_since_is_closed_with_4400(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket("epoch=x&since=minus-one") as socket:
            assert await _close_code(socket) == 4400
    finally:
        await agent.aclose()
