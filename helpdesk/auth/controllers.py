from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, JSONBody

from helpdesk.auth import service
from helpdesk.auth.middleware import SESSION_COOKIE
from helpdesk.auth.schemas import (
    AgentCreate,
    AgentRead,
    AgentUpdate,
    LoginRequest,
    LoginResponse,
    SessionRead,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from helpdesk.errors import NotAuthenticated, RateLimited
from helpdesk.web.auth import PUBLIC, CurrentActor, Now, requires


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post("/login", operation_id="login", status_code=200, opt=PUBLIC)
    async def login(self, request: Request, data: JSONBody[LoginRequest], now: Now) -> Response[LoginResponse]:
        limiter = request.app.state.login_limiter
        keys = (f"email:{data.email.strip().lower()}", f"ip:{request.client.host if request.client else '-'}")
        if any(limiter.is_blocked(key) for key in keys):
            raise RateLimited("too many failed logins; wait a few minutes", field="email")
        settings = request.app.state.settings
        try:
            secret, csrf_token, agent = await service.login(
                data.email, data.password, now=now, ttl=timedelta(hours=settings.auth.session_ttl_hours)
            )
        except NotAuthenticated:
            for key in keys:
                limiter.record_failure(key)
            raise
        cookie = Cookie(
            key=SESSION_COOKIE, value=secret, httponly=True, samesite="lax", secure=settings.auth.cookie_secure,
            path="/", max_age=settings.auth.session_ttl_hours * 3600,
        )
        return Response(LoginResponse(agent=agent, csrf_token=csrf_token), cookies=[cookie])

    @post("/logout", operation_id="logout", status_code=204)
    async def logout(self, request: Request) -> Response[None]:
        if request.auth and request.auth != "token":
            await service.logout(request.auth)
        return Response(None, status_code=204, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])

    @get("/session", operation_id="current_session")
    async def session(self, request: Request, actor: CurrentActor, now: Now) -> SessionRead:
        """The calling agent and, for a browser session, the session's CSRF token.

        The agent app keeps the token in memory only; after a reload it asks here instead of
        for the password. Other sites cannot read the answer (no CORS), so the token stays secret.
        """
        csrf_token = None
        if request.auth != "token":
            found = await service.authenticate_session(request.auth, now=now)
            if found is None:  # ended between the middleware's check and now
                raise NotAuthenticated("the session has ended; log in again")
            csrf_token = found[1]
        return SessionRead(agent=await service.get_agent(actor.agent_id), csrf_token=csrf_token)

    @get("/me", operation_id="whoami")
    async def me(self, actor: CurrentActor) -> AgentRead:
        return await service.get_agent(actor.agent_id)


class AgentController(Controller):
    path = "/api/agents"
    tags = ["agents"]

    @get("/", operation_id="list_agents")
    async def list_agents(self) -> list[AgentRead]:
        return await service.list_agents()

    @get("/{agent_id:int}", operation_id="get_agent")
    async def get_agent(self, agent_id: FromPath[int]) -> AgentRead:
        return await service.get_agent(agent_id)

    @post("/", operation_id="create_agent", guards=[requires("admin")])
    async def create_agent(self, data: JSONBody[AgentCreate], actor: CurrentActor, now: Now) -> AgentRead:
        return await service.create_agent(actor, data, now=now)

    @patch("/{agent_id:int}", operation_id="update_agent", guards=[requires("admin")])
    async def update_agent(self, agent_id: FromPath[int], data: JSONBody[AgentUpdate], actor: CurrentActor, now: Now) -> AgentRead:
        return await service.update_agent(actor, agent_id, data, now=now)


class TeamController(Controller):
    path = "/api/teams"
    tags = ["teams"]

    @get("/", operation_id="list_teams")
    async def list_teams(self) -> list[TeamRead]:
        return await service.list_teams()

    @get("/{team_id:int}", operation_id="get_team")
    async def get_team(self, team_id: FromPath[int]) -> TeamRead:
        return await service.get_team(team_id)

    @post("/", operation_id="create_team", guards=[requires("admin")])
    async def create_team(self, data: JSONBody[TeamCreate], actor: CurrentActor, now: Now) -> TeamRead:
        return await service.create_team(actor, data, now=now)

    @patch("/{team_id:int}", operation_id="update_team", guards=[requires("admin")])
    async def update_team(self, team_id: FromPath[int], data: JSONBody[TeamUpdate], actor: CurrentActor, now: Now) -> TeamRead:
        return await service.update_team(actor, team_id, data, now=now)

    @delete("/{team_id:int}", operation_id="delete_team", guards=[requires("admin")])
    async def delete_team(self, team_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_team(actor, team_id, now=now)


class TokenController(Controller):
    path = "/api/tokens"
    tags = ["tokens"]
    guards = [requires("admin")]

    @get("/", operation_id="list_tokens")
    async def list_tokens(self, actor: CurrentActor) -> list[TokenRead]:
        return await service.list_tokens(actor)

    @post("/", operation_id="create_token")
    async def create_token(self, data: JSONBody[TokenCreate], actor: CurrentActor, now: Now) -> TokenCreated:
        return await service.create_token(actor, data, now=now)

    @delete("/{token_id:int}", operation_id="revoke_token", status_code=200)
    async def revoke_token(self, token_id: FromPath[int], actor: CurrentActor, now: Now) -> TokenRead:
        return await service.revoke_token(actor, token_id, now=now)
