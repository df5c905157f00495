"""Who is calling: a session cookie (browser) or a bearer token (integrations).

Cookie-authenticated writes must echo the session's CSRF token in ``X-CSRF-Token``;
bearer tokens are not sent by browsers on their own, so they need none.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from helpdesk.auth import service as auth_service
from helpdesk.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "helpdesk_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The API description answers without a login; single handlers opt out with web.PUBLIC.
PUBLIC_PATHS = [r"^/schema"]


class HelpdeskAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        now = connection.app.state.clock.now()
        authorization = connection.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            actor = await auth_service.authenticate_token(authorization[7:].strip(), now=now)
            if actor is None:
                raise NotAuthenticated("the API token is unknown, revoked, or its agent is inactive")
            return AuthenticationResult(user=actor, auth="token")
        secret = connection.cookies.get(SESSION_COOKIE)
        if not secret:
            raise NotAuthenticated("log in first")
        found = await auth_service.authenticate_session(secret, now=now)
        if found is None:
            raise NotAuthenticated("the session has ended; log in again")
        actor, csrf_token = found
        if connection.scope.get("method") in UNSAFE_METHODS and connection.headers.get(CSRF_HEADER) != csrf_token:
            raise PermissionDenied("missing or wrong CSRF token", field=CSRF_HEADER)
        return AuthenticationResult(user=actor, auth=secret)
