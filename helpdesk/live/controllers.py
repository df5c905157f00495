"""The /ws endpoint: origin check and authentication, then the connection runs on its own."""

from __future__ import annotations

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from helpdesk.actors import Actor
from helpdesk.auth import service as auth_service
from helpdesk.auth.middleware import SESSION_COOKIE
from helpdesk.clock import Clock
from helpdesk.live import connection, protocol
from helpdesk.live.hub import LiveHub
from helpdesk.live.origin import is_same_origin
from helpdesk.web.auth import PUBLIC


# PUBLIC: the authentication middleware can only fail a socket with a generic code, so the
# handler authenticates itself and closes with 4401, which a browser can tell from a network error.
@websocket("/ws", name="live", opt=PUBLIC)
async def live_socket(socket: WebSocket) -> None:
    if not is_same_origin(socket.headers.get("origin"), socket.headers.get("host")):
        # Before accepting: the handshake fails with HTTP 403 and no page on another site gets a socket.
        await socket.close(protocol.CLOSE_FORBIDDEN_ORIGIN, "cross-origin websocket refused")
        return
    await socket.accept()
    try:
        resume = protocol.parse_resume(socket.query_params.get("epoch"), socket.query_params.get("since"))
    except protocol.ProtocolError as error:
        await socket.close(protocol.CLOSE_BAD_REQUEST, error.detail)
        return
    reauthenticate = _reauthenticator(socket, socket.app.state.clock)
    actor = await reauthenticate() if reauthenticate else None
    if actor is None:
        await socket.close(protocol.CLOSE_NOT_AUTHENTICATED, "log in first")
        return
    hub: LiveHub = socket.app.state.live_hub
    await connection.serve(_LitestarSocket(socket), hub, actor, resume, reauthenticate)


def _reauthenticator(socket: WebSocket, clock: Clock) -> connection.Reauthenticate | None:
    """How to (re)check this socket's credentials, or None when it brought none."""
    authorization = socket.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        return lambda: auth_service.authenticate_token(token, now=clock.now())
    secret = socket.cookies.get(SESSION_COOKIE)
    if not secret:
        return None

    async def check_session() -> Actor | None:
        found = await auth_service.authenticate_session(secret, now=clock.now())
        return found[0] if found else None

    return check_session


class _LitestarSocket:
    """Litestar's socket in the shape the connection expects, with one way to say the peer is gone."""

    def __init__(self, socket: WebSocket) -> None:
        self._socket = socket

    async def send(self, text: str) -> None:
        try:
            await self._socket.send_text(text)
        except (WebSocketDisconnect, OSError) as error:  # uvicorn raises an OSError once the client left
            raise connection.PeerGone() from error

    async def receive(self) -> str:
        try:
            return await self._socket.receive_text()
        except WebSocketDisconnect as error:
            raise connection.PeerGone() from error

    async def close(self, code: int, reason: str) -> None:
        try:
            await self._socket.close(code, reason)
        except (WebSocketDisconnect, OSError) as error:
            raise connection.PeerGone() from error
