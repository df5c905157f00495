from piccolo.columns import Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Agent(Table, tablename="agent"):
    name = Varchar(length=200)
    email = Varchar(length=320, unique=True)  # stored lower-cased
    role = Varchar(length=10, default="agent")  # admin, lead, agent
    active = Boolean(default=True)
    password_hash = Varchar(length=200, null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Team(Table, tablename="team"):
    name = Varchar(length=200, unique=True)
    lead = ForeignKey(Agent, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class TeamMember(Table, tablename="team_member"):
    team = ForeignKey(Team, on_delete=OnDelete.cascade, index=True)
    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, index=True)


class ApiToken(Table, tablename="api_token"):
    """A bearer token acting as ``agent``; only its sha256 is stored."""

    agent = ForeignKey(Agent, on_delete=OnDelete.cascade)
    name = Varchar(length=200)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)  # shown in lists so people can tell tokens apart
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class AgentSession(Table, tablename="agent_session"):
    """A browser login; the cookie holds the token, the table holds its sha256."""

    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    csrf_token = Varchar(length=64)
    created_at = Timestamptz()
    expires_at = Timestamptz()
