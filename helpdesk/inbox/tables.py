from piccolo.columns import (
    JSON,
    BigInt,
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

from helpdesk.auth.tables import Team
from helpdesk.tickets.tables import Message, Ticket


class Mailbox(Table, tablename="mailbox"):
    """An IMAP mailbox we poll; its password is read from the environment or a secret file."""

    name = Varchar(length=200, unique=True)
    addresses = JSON(default=[])  # the addresses it receives for, lower-cased
    imap_host = Varchar(length=255)
    imap_port = Integer(default=993)
    imap_security = Varchar(length=10, default="tls")  # tls, starttls, none (loopback only)
    imap_username = Varchar(length=320)
    password_env = Varchar(length=200, null=True, default=None)
    password_file = Varchar(length=1000, null=True, default=None)
    folder = Varchar(length=200, default="INBOX")
    after_ingest = Varchar(length=10, default="flag")  # flag, or move to move_to_folder
    move_to_folder = Varchar(length=200, null=True, default=None)
    default_team = ForeignKey(Team, null=True, on_delete=OnDelete.set_null)
    default_priority = Varchar(length=10, default="normal")
    enabled = Boolean(default=True)
    # Sending: replies and automatic mail leave through this server, from this address.
    smtp_host = Varchar(length=255, null=True, default=None)
    smtp_port = Integer(default=587)
    smtp_security = Varchar(length=10, default="starttls")  # tls, starttls, none (loopback only)
    smtp_username = Varchar(length=320, null=True, default=None)
    smtp_password_env = Varchar(length=200, null=True, default=None)
    smtp_password_file = Varchar(length=1000, null=True, default=None)
    from_address = Varchar(length=320, null=True, default=None)
    from_name = Varchar(length=200, default="")
    # The acknowledgement of new tickets (Jinja2, sandboxed) and the signature under replies.
    ack_enabled = Boolean(default=False)
    ack_limit_per_hour = Integer(default=5)  # acknowledgements to one sender per hour
    ack_subject_template = Text(default="")
    ack_body_template = Text(default="")
    signature_template = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Checkpoint: the UIDVALIDITY we read under and the highest UID stored.
    uidvalidity = BigInt(null=True, default=None)
    last_uid = BigInt(default=0)
    # Health, as last reported by the poller holding the lease.
    health_state = Varchar(length=12, default="idle")  # connecting, idle, polling, error, disabled
    last_error = Text(null=True, default=None)
    last_success_at = Timestamptz(null=True, default=None)
    ingested_count = BigInt(default=0)
    backlog = Integer(default=0)
    # Lease: which instance polls this mailbox, until when.
    lease_owner = Varchar(length=100, null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)


class InboundMail(Table, tablename="inbound_mail"):
    """Every mail as received, stored before anything else happens to it."""

    source = Varchar(length=40)  # "mailbox:<id>" or "import"
    mailbox = ForeignKey(Mailbox, null=True, on_delete=OnDelete.set_null)
    uidvalidity = BigInt(null=True, default=None)
    uid = BigInt(null=True, default=None)
    message_id = Varchar(length=500)
    sha256 = Varchar(length=64)
    size = Integer()  # the bytes themselves are in InboundMailRaw
    state = Varchar(length=12, default="received")  # received, processed, ignored, failed, quarantined
    error = Text(null=True, default=None)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    received_at = Timestamptz()
    processed_at = Timestamptz(null=True, default=None)
    ticket = ForeignKey(Ticket, null=True, on_delete=OnDelete.set_null)
    message = ForeignKey(Message, null=True, on_delete=OnDelete.set_null)
    thread_reason = Varchar(length=40, default="")
    # What is left to do on the IMAP server: pending (flag or move), done, or none (kept as is).
    server_state = Varchar(length=8, default="none")


class InboundMailRaw(Table, tablename="inbound_mail_raw"):
    """A mail's bytes as received, written once. Kept apart from ``inbound_mail``, whose state
    changes as the mail is processed: on SQLite an update rewrites the whole row, and a mail with
    an attachment is hundreds of kilobytes."""

    mail = ForeignKey(InboundMail, unique=True, on_delete=OnDelete.cascade)
    raw = Bytea()

