from piccolo.columns import JSON, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from helpdesk.auth.tables import Agent


class SavedFilter(Table, tablename="saved_filter"):
    """A named set of ticket-list filters, private to the agent who saved it."""

    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=60)
    filters = JSON(default={})  # the query parameters of GET /api/tickets: status, priority, assignee, …
    created_at = Timestamptz()
    updated_at = Timestamptz()
