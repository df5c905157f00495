"""Helpers for the live tests: logged-in agents, sockets, and reading messages with a deadline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from litestar import Litestar
from websockets.asyncio.client import ClientConnection, connect

from helpdesk.auth.middleware import SESSION_COOKIE
from helpdesk.live import LiveHub
from tests.support.agents import PASSWORD, make_agent

WAIT_S = 5.0
Message = dict[str, Any]


@dataclass
class LiveServer:
    app: Litestar
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hub(self) -> LiveHub:
        return self.app.state.live_hub

    async def wait_for_connections(self, count: int) -> None:
        await wait_until(lambda: self.hub.connection_count == count, what=f"{count} live sockets")


@dataclass
class LoggedIn:
    """An agent with a browser-like session on a server: cookie jar, CSRF token, agent id."""

    agent_id: int
    http: httpx.AsyncClient
    csrf: str
    base_url: str

    @property
    def session(self) -> str:
        return self.http.cookies[SESSION_COOKIE]

    async def write(self, method: str, path: str, json_body: Any = None) -> httpx.Response:
        response = await self.http.request(method, path, json=json_body, headers={"X-CSRF-Token": self.csrf})
        assert response.status_code < 400, response.text
        return response

    async def get(self, path: str) -> Any:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def socket(self, query: str = "", **options: Any) -> connect:
        return open_socket(self.base_url, cookie=self.session, query=query, **options)

    async def aclose(self) -> None:
        await self.http.aclose()


async def log_in(base_url: str, email: str, *, now: datetime, role: str = "agent") -> LoggedIn:
    """Create an agent and log in on ``base_url`` as a browser would."""
    await make_agent(role, now, password=PASSWORD, email=email)
    http = httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=10)
    response = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    return LoggedIn(agent_id=body["agent"]["id"], http=http, csrf=body["csrf_token"], base_url=base_url)


def open_socket(base_url: str, *, cookie: str | None = None, query: str = "", origin: str | None = "same",
                headers: dict[str, str] | None = None, **options: Any) -> connect:
    """A websocket to /ws as a browser on the app's own page would open it."""
    extra = dict(headers or {})
    if cookie:
        extra["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    return connect(
        base_url.replace("http://", "ws://") + "/ws" + (f"?{query}" if query else ""),
        origin=base_url if origin == "same" else origin,
        additional_headers=extra,
        proxy=None,
        open_timeout=WAIT_S,
        **options,
    )


async def receive(socket: ClientConnection, timeout: float = WAIT_S) -> Message:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def receive_until(socket: ClientConnection, wanted: Callable[[Message], bool],
                        timeout: float = WAIT_S) -> list[Message]:
    """Messages up to and including the first one ``wanted``; pings are skipped."""
    seen: list[Message] = []
    async with asyncio.timeout(timeout):
        while True:
            message = await receive(socket, timeout)
            if message["type"] == "ping":
                continue
            seen.append(message)
            if wanted(message):
                return seen


def is_event(type_: str, op: str | None = None, id_: int | None = None) -> Callable[[Message], bool]:
    def match(message: Message) -> bool:
        if message["type"] != "event":
            return False
        event = message["event"]
        return event["type"] == type_ and op in (None, event["op"]) and id_ in (None, event["id"])

    return match


def events_of(messages: list[Message]) -> list[Message]:
    return [m["event"] for m in messages if m["type"] == "event"]


async def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = WAIT_S) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"waited {timeout}s for {what}"
        await asyncio.sleep(0.02)


async def create_ticket(agent: LoggedIn, subject: str) -> Message:
    response = await agent.write("POST", "/api/tickets", {
        "subject": subject, "text": "hello", "requester": {"name": "Pat", "email": "pat@customer.example"}})
    return response.json()["ticket"]
