from piccolo.columns import (
    JSON,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from helpdesk.auth.tables import Agent, Team
from helpdesk.customers.tables import Account, Contact


class Ticket(Table, tablename="ticket"):
    # The human number (T-1001) is derived from the id; see tickets.numbers.
    subject = Varchar(length=500)
    status = Varchar(length=10, default="new")
    priority = Varchar(length=10, default="normal")
    priority_rank = Integer(default=2)  # sortable priority: low=1 … urgent=4
    channel = Varchar(length=10, default="email")
    requester = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null, index=True)
    account = ForeignKey(Account, null=True, on_delete=OnDelete.set_null, index=True)
    assignee = ForeignKey(Agent, null=True, on_delete=OnDelete.set_null)
    team = ForeignKey(Team, null=True, on_delete=OnDelete.set_null)
    custom_fields = JSON(default={})
    created_at = Timestamptz()
    updated_at = Timestamptz()
    first_response_at = Timestamptz(null=True, default=None)
    solved_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)


class TicketTag(Table, tablename="ticket_tag"):
    ticket = ForeignKey(Ticket, on_delete=OnDelete.cascade)
    tag = Varchar(length=60)


class TicketStatusChange(Table, tablename="ticket_status_change"):
    """Each change of a ticket's status, written with the change (the SLA clocks' pause history)."""

    ticket = ForeignKey(Ticket, on_delete=OnDelete.cascade)
    status = Varchar(length=10)
    changed_at = Timestamptz()


class TicketParticipant(Table, tablename="ticket_participant"):
    """Addresses CC'd on the conversation besides the requester."""

    ticket = ForeignKey(Ticket, on_delete=OnDelete.cascade, index=True)
    address = Varchar(length=320)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)


class Message(Table, tablename="message"):
    ticket = ForeignKey(Ticket, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)  # customer, reply, note, system
    author_agent = ForeignKey(Agent, null=True, on_delete=OnDelete.set_null)
    author_contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    from_name = Varchar(length=200, default="")
    from_address = Varchar(length=320, default="")
    to_addresses = JSON(default=[])
    cc_addresses = JSON(default=[])
    subject = Varchar(length=500, default="")
    message_id = Varchar(length=500, null=True, default=None, index=True)
    in_reply_to = Varchar(length=500, null=True, default=None)
    references = JSON(default=[])
    text_body = Text(default="")  # the whole text, quoted history included
    new_text = Text(default="")  # what the author just wrote, for display
    html_body = Text(null=True, default=None)  # sanitised on the way in
    # none, auto_reply, bounce, bulk or list: machine mail never triggers automatic answers.
    auto_generated = Varchar(length=12, default="none")
    created_at = Timestamptz()
    # Outgoing mail is a message with a delivery state: the message row is the outbox entry.
    delivery_state = Varchar(length=10, null=True, default=None)  # queued, sending, sent, failed, bounced
    delivery_error = Text(null=True, default=None)
    delivery_attempts = Integer(default=0)
    deliver_after = Timestamptz(null=True, default=None)  # retry backoff, or the claim of a sender
    sent_at = Timestamptz(null=True, default=None)
    # Why the message joined this ticket: a rule name and what it matched.
    thread_reason = Varchar(length=40, default="")
    thread_ref = Varchar(length=500, default="")


class Blob(Table, tablename="blob"):
    """Attachment content, addressed by its sha256: never by a name the sender chose."""

    sha256 = Varchar(length=64, unique=True)
    size = Integer()
    content = Bytea()


class Attachment(Table, tablename="attachment"):
    message = ForeignKey(Message, on_delete=OnDelete.cascade, index=True)
    filename = Varchar(length=255)
    content_type = Varchar(length=200)
    size = Integer()
    content_id = Varchar(length=500, null=True, default=None)
    inline = Boolean(default=False)
    sha256 = Varchar(length=64, index=True)
