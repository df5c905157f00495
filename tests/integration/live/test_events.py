"""Committed changes reach sockets, numbered, with versions; the stream survives reconnects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from websockets.asyncio.client import ClientConnection

from tests.integration.live.support import (
    LiveServer,
    LoggedIn,
    create_ticket,
    events_of,
    is_event,
    log_in,
    receive,
    receive_until,
)


async def test_a_ticket_change_arrives_with_a_sequence_number_and_the_new_version(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            welcome = await receive(socket)
            ticket = await create_ticket(agent, "Printer on fire")
            created = await receive_until(socket, is_event("ticket", "created", ticket["id"]))
            await agent.write("PATCH", f"/api/tickets/{ticket['id']}", {"version": 1, "priority": "urgent"})
            updated = await receive_until(socket, is_event("ticket", "updated", ticket["id"]))
    finally:
        await agent.aclose()

    assert created[-1]["event"]["version"] == 1
    assert updated[-1]["event"]["version"] == 2
    numbers = [m["seq"] for m in created + updated]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert numbers[0] > welcome["seq"]


async def test_heartbeats_arrive_on_schedule(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            welcome = await receive(socket)
            assert welcome["heartbeat_seconds"] == live.hub.config.heartbeat_seconds
            assert await receive(socket, timeout=live.hub.config.heartbeat_seconds * 3) == {"type": "ping"}
    finally:
        await agent.aclose()


# ---------------------------------------------------------------- Zulip's test: events + old state == fresh state

PAGE = 3


async def _first_page(agent: LoggedIn) -> list[dict[str, Any]]:
    return (await agent.get(f"/api/tickets?limit={PAGE}"))["items"]


def _newest_first(ticket: dict[str, Any]) -> tuple[datetime, int]:
    return datetime.fromisoformat(ticket["updated_at"]), ticket["id"]


async def _apply(agent: LoggedIn, page: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the agent workspace does with events: refetch each ticket they name (events carry
    ids and versions, not contents), drop what it already has, then re-sort and trim the page."""
    tickets = {ticket["id"]: ticket for ticket in page}
    for event in events:
        ticket_id = event["id"] if event["type"] == "ticket" else event["data"].get("ticket_id")
        if ticket_id is None:
            continue
        known = tickets.get(ticket_id)
        if known and event["version"] is not None and event["version"] <= known["version"]:
            continue
        tickets[ticket_id] = (await agent.get(f"/api/tickets/{ticket_id}"))["ticket"]
    return sorted(tickets.values(), key=_newest_first, reverse=True)[:PAGE]


async def _act_and_capture(agent: LoggedIn, socket: ClientConnection, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    oldest, middle, newest = tickets[0], tickets[2], tickets[-1]
    await agent.write("PATCH", f"/api/tickets/{oldest['id']}", {"version": 1, "priority": "high"})
    await agent.write("POST", f"/api/tickets/{middle['id']}/messages", {"kind": "note", "text": "checking"})
    await agent.write("POST", f"/api/tickets/{newest['id']}/assign", {"version": 1, "assignee_id": agent.agent_id})
    await create_ticket(agent, "A brand new one")
    # A last write of another kind marks the end: events arrive in commit order.
    marker = (await agent.write("POST", "/api/accounts", {"name": "Marker Inc"})).json()
    return events_of(await receive_until(socket, is_event("account", "created", marker["id"])))


async def test_events_applied_to_the_old_page_give_the_fresh_page(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        tickets = [await create_ticket(agent, f"Ticket {n}") for n in range(5)]
        async with agent.socket() as socket:
            await receive(socket)  # welcome: from here on nothing is missed
            old_page = await _first_page(agent)
            events = await _act_and_capture(agent, socket, tickets)
        fresh_page = await _first_page(agent)
        assert await _apply(agent, old_page, events) == fresh_page
        assert old_page != fresh_page  # the actions did reorder the page
        last_versions = {e["id"]: e["version"] for e in events if e["type"] == "ticket" and e["version"]}
        for ticket in fresh_page:  # and the versions the events announced are the ones stored
            assert last_versions.get(ticket["id"], ticket["version"]) == ticket["version"]
    finally:
        await agent.aclose()


# ---------------------------------------------------------------- reconnecting


async def _account_event_seq(agent: LoggedIn, socket: ClientConnection, name: str) -> int:
    account = (await agent.write("POST", "/api/accounts", {"name": name})).json()
    return (await receive_until(socket, is_event("account", "created", account["id"])))[-1]["seq"]


async def test_reconnecting_with_since_replays_what_was_missed(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            epoch = (await receive(socket))["epoch"]
            last_seen = await _account_event_seq(agent, socket, "Seen Ltd")
        missed = [(await agent.write("POST", "/api/accounts", {"name": f"Missed {n}"})).json()["id"] for n in range(3)]
        async with agent.socket(f"epoch={epoch}&since={last_seen}") as socket:
            welcome = await receive(socket)
            replayed = await receive_until(socket, is_event("account", "created", missed[-1]))
            live_seq = await _account_event_seq(agent, socket, "After Ltd")
    finally:
        await agent.aclose()
    assert welcome["epoch"] == epoch
    assert [e["id"] for e in events_of(replayed) if e["type"] == "account"] == missed
    assert [m["seq"] for m in replayed] == list(range(last_seen + 1, welcome["seq"] + 1))
    assert live_seq > welcome["seq"]


async def test_a_since_too_old_or_from_another_epoch_asks_for_a_resync(live: LiveServer, clock) -> None:
    agent = await log_in(live.base_url, "jo@example.com", now=clock.now())
    try:
        async with agent.socket() as socket:
            epoch = (await receive(socket))["epoch"]
            first = await _account_event_seq(agent, socket, "First Ltd")
        for n in range(live.hub.config.replay_buffer + 1):  # more than the buffer keeps
            await agent.write("POST", "/api/accounts", {"name": f"Busy {n}"})
        for query in (f"epoch={epoch}&since={first}", f"epoch=older-epoch&since={first}", f"since={first}"):
            async with agent.socket(query) as socket:
                welcome = await receive(socket)
                assert await receive(socket) == {"type": "resync", "epoch": welcome["epoch"], "seq": welcome["seq"]}
                # and the stream goes on from there
                assert await _account_event_seq(agent, socket, f"Then {query}") > welcome["seq"]
    finally:
        await agent.aclose()
