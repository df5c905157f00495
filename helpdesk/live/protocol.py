"""The messages on /ws and its close codes (pure, no I/O). The full protocol is in ``helpdesk.live``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

from helpdesk.events import Event
from helpdesk.live.presence import STATES

# Close codes. 1xxx are the standard ones; 44xx mirror the HTTP status they resemble.
CLOSE_SERVER_RESTART = 1012  # reconnect (with backoff) and resume with since
CLOSE_INTERNAL_ERROR = 1011
CLOSE_BAD_REQUEST = 4400  # malformed epoch/since in the URL: a client bug, do not retry as is
CLOSE_NOT_AUTHENTICATED = 4401  # no session, or it ended (logout, expiry, deactivation): log in again
CLOSE_FORBIDDEN_ORIGIN = 4403  # sent before accepting, so the handshake itself fails with HTTP 403
CLOSE_TOO_SLOW = 4408  # the socket's backlog overflowed: reconnect and resume with since

_encoder = msgspec.json.Encoder()


def _encode(message: dict[str, Any]) -> str:
    return _encoder.encode(message).decode()


def welcome(*, epoch: str, seq: int, agent_id: int | None, heartbeat_seconds: float) -> str:
    return _encode({"type": "welcome", "epoch": epoch, "seq": seq, "agent_id": agent_id,
                    "heartbeat_seconds": heartbeat_seconds})


def event(seq: int, payload: Event) -> str:
    return _encode({"type": "event", "seq": seq, "event": payload})


def resync(*, epoch: str, seq: int) -> str:
    return _encode({"type": "resync", "epoch": epoch, "seq": seq})


PING = _encode({"type": "ping"})


def presence_snapshot(ticket_id: int, agents: list[dict[str, int | str]]) -> str:
    return _encode({"type": "presence", "ticket_id": ticket_id, "agents": agents})


def presence_board(board: dict[int, list[dict[str, int | str]]]) -> str:
    """Who is on which ticket right now; sent on connect so a tab need not wait for the next change."""
    return _encode({"type": "presence_board",
                    "tickets": [{"ticket_id": ticket_id, "agents": agents} for ticket_id, agents in board.items()]})


def error(detail: str) -> str:
    return _encode({"type": "error", "detail": detail})


# ---------------------------------------------------------------- from the client


class ProtocolError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class PresenceChange:
    ticket_id: int
    state: str | None  # "viewing", "replying", or None when the client left the ticket


@dataclass(frozen=True)
class Pong:
    pass


ClientMessage = PresenceChange | Pong


def parse_client_message(text: str) -> ClientMessage:
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError("messages are JSON objects") from None
    if not isinstance(message, dict):
        raise ProtocolError("messages are JSON objects")
    kind = message.get("type")
    if kind == "pong":
        return Pong()
    if kind in STATES or kind == "left":
        ticket_id = message.get("ticket_id")
        if type(ticket_id) is not int or ticket_id <= 0:
            raise ProtocolError("ticket_id must be a positive integer")
        return PresenceChange(ticket_id, None if kind == "left" else kind)
    raise ProtocolError(f"unknown message type {kind!r}; expected viewing, replying, left or pong")


@dataclass(frozen=True)
class Resume:
    """Where a reconnecting client left off: the epoch and last sequence number it saw."""

    epoch: str | None
    since: int


def parse_resume(epoch: str | None, since: str | None) -> Resume | None:
    """The ``?epoch=…&since=…`` of the socket URL; None for a fresh start."""
    if since is None:
        return None
    if not (since.isascii() and since.isdigit() and len(since) <= 18):
        raise ProtocolError("since must be a non-negative integer")
    return Resume(epoch, int(since))
