"""Tunables of the live fan-out; the defaults suit a browser on an ordinary network."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LiveConfig:
    replay_buffer: int = 2000  # events kept per instance for reconnect catch-up
    client_backlog: int = 500  # messages queued for one socket before it is dropped as too slow
    heartbeat_seconds: float = 20.0  # app-level ping, so a browser notices a dead connection
    # How long a socket may outlive its expired session. Logout, token revocation and agent changes
    # re-check at once (events), so this only bounds expiry; each check costs a few queries per socket.
    auth_recheck_seconds: float = 60.0
    presence_refresh_seconds: float = 20.0  # each instance re-announces its sockets' presence this often
    presence_ttl_seconds: float = 60.0  # presence not re-announced for this long is forgotten (crashed instance)
    close_timeout_seconds: float = 5.0  # how long to try sending a close frame to a jammed socket
    max_presence_per_socket: int = 16  # tickets one tab may claim to view at once
    channel: str = "helpdesk_events"  # PostgreSQL NOTIFY channel shared by every process
