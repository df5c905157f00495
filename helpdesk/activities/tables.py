from piccolo.columns import Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from helpdesk.auth.tables import Agent
from helpdesk.customers.tables import Account, Contact
from helpdesk.tickets.tables import Ticket


class Activity(Table, tablename="activity"):
    """A timeline entry on an account, a contact or a ticket: call, meeting, email, note or task."""

    kind = Varchar(length=10)
    subject = Varchar(length=300)
    body = Text(default="")
    account = ForeignKey(Account, null=True, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.cascade)
    ticket = ForeignKey(Ticket, null=True, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(Agent, null=True, on_delete=OnDelete.set_null)
    assignee = ForeignKey(Agent, null=True, on_delete=OnDelete.set_null, index=True)
    due_at = Timestamptz(null=True, default=None)
    done = Boolean(default=False)
    occurred_at = Timestamptz()
    created_at = Timestamptz()
    updated_at = Timestamptz()
