"""Live updates for the agent workspace: one websocket per browser tab at ``/ws``.

Connecting
    ``GET /ws`` (upgrade), authenticated by the ``helpdesk_session`` cookie or an
    ``Authorization: Bearer`` token. A handshake whose Origin is another site is refused with
    HTTP 403 (close code 4403 before accept); a missing Origin (no browser) is allowed.
    To resume after a disconnect add ``?epoch=E&since=N``: the epoch and the last sequence
    number the client saw.

Server → client (JSON text frames)
    ``{"type":"welcome","epoch":E,"seq":S,"agent_id":A,"heartbeat_seconds":H}`` first, always.
    ``{"type":"event","seq":N,"event":{"type","op","id","version","data"}}``: a committed change
        (ticket created/updated/assigned, message created, account, contact, agent, …) or
        ``presence``/``changed`` with ``data.agents = [{"agent_id","state"}]`` for ticket ``id``.
        ``seq`` increases by one per event in the stream of the instance the socket is on; a
        socket sees gaps where events were for others, so order, not contiguity, is the promise.
        ``version`` is the object's version where it has one (tickets).
    ``{"type":"resync","epoch":E,"seq":S}``: what was missed cannot be replayed (``since`` too
        old, another epoch, or the server may have missed events); refetch, then continue.
    ``{"type":"presence","ticket_id":T,"agents":[…]}``: who was on a ticket when this socket
        said it is viewing or replying to it; changes follow as presence events.
    ``{"type":"presence_board","tickets":[{"ticket_id":T,"agents":[…]}, …]}``: right after the
        welcome (and any replay), who is on every ticket somebody is on; left out when nobody is.
    ``{"type":"ping"}`` every H seconds (answering ``pong`` is optional); ``{"type":"error","detail"}``.

Client → server
    ``{"type":"viewing"|"replying"|"left","ticket_id":T}``, ``{"type":"pong"}``.

Epochs: each instance start (and each reconnect of its PostgreSQL listener) begins a new
random epoch, numbered from 1. A welcome or resync with an epoch other than the one the
client holds means the server restarted: refetch. Behind a load balancer a reconnect may land
on another instance, which also looks like a new epoch.

Close codes: 1012 server restarting (reconnect, resume); 1011 internal error; 4400 malformed
``since``; 4401 not authenticated or the session ended (logout, expiry, deactivation: log in,
do not retry); 4403 other origin (handshake refused); 4408 too slow, the socket's backlog
overflowed (reconnect and resume).

The client recipe: open the socket and buffer, fetch state, apply buffered events newer than
what was fetched (by version), keep the epoch and last seq; on close or resync, refetch or resume.
"""

from helpdesk.live.config import LiveConfig
from helpdesk.live.hub import LiveHub
from helpdesk.live.runtime import postgres_bus, running

__all__ = ["LiveConfig", "LiveHub", "postgres_bus", "running"]
