"""Who is viewing or replying to a ticket, as every agent's socket hears it."""

from __future__ import annotations

import json

from tests.integration.live.support import LiveServer, create_ticket, is_event, log_in, receive, receive_until


def _agents_on(message: dict) -> list[dict]:
    return message["event"]["data"]["agents"]


async def test_presence_is_broadcast_and_forgotten_when_the_socket_closes(live: LiveServer, clock) -> None:
    ann = await log_in(live.base_url, "ann@example.com", now=clock.now())
    bob = await log_in(live.base_url, "bob@example.com", now=clock.now())
    try:
        ticket_id = (await create_ticket(ann, "Shared ticket"))["id"]
        presence = is_event("presence", "changed", ticket_id)
        async with bob.socket() as bobs:
            await receive(bobs)
            await bobs.send(json.dumps({"type": "viewing", "ticket_id": ticket_id}))
            assert (await receive_until(bobs, lambda m: m["type"] == "presence"))[-1] == {
                "type": "presence", "ticket_id": ticket_id, "agents": []}  # nobody else was there
            assert _agents_on((await receive_until(bobs, presence))[-1]) == [{"agent_id": bob.agent_id, "state": "viewing"}]

            async with ann.socket() as anns:
                await receive(anns)
                await anns.send(json.dumps({"type": "viewing", "ticket_id": ticket_id}))
                snapshot = (await receive_until(anns, lambda m: m["type"] == "presence"))[-1]
                assert snapshot["agents"] == [{"agent_id": bob.agent_id, "state": "viewing"}]
                both = sorted([{"agent_id": ann.agent_id, "state": "viewing"}, {"agent_id": bob.agent_id, "state": "viewing"}],
                              key=lambda entry: entry["agent_id"])
                assert _agents_on((await receive_until(bobs, presence))[-1]) == both

                await anns.send(json.dumps({"type": "replying", "ticket_id": ticket_id}))
                replying = _agents_on((await receive_until(bobs, presence))[-1])
                assert {"agent_id": ann.agent_id, "state": "replying"} in replying
            # Ann's socket closed without saying "left": the server forgets her presence itself.
            assert _agents_on((await receive_until(bobs, presence))[-1]) == [{"agent_id": bob.agent_id, "state": "viewing"}]

            await bobs.send(json.dumps({"type": "left", "ticket_id": ticket_id}))
            assert _agents_on((await receive_until(bobs, presence))[-1]) == []
    finally:
        await ann.aclose()
        await bob.aclose()


async def test_a_bad_message_gets_an_error_and_the_socket_stays_open(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            await receive(socket)
            await socket.send("hello?")
            assert (await receive_until(socket, lambda m: m["type"] == "error"))[-1]["detail"] == "messages are JSON objects"
            await socket.send(json.dumps({"type": "viewing", "ticket_id": 5}))
            assert (await receive_until(socket, lambda m: m["type"] == "presence"))[-1]["ticket_id"] == 5
    finally:
        await agent.aclose()
