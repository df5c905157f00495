from __future__ import annotations

import msgspec

from helpdesk.activities.schemas import ActivityRead
from helpdesk.customers.schemas import AccountRead, ContactRead, PurchaseRead
from helpdesk.tickets.schemas import TicketRead


class CustomerOverview(msgspec.Struct, kw_only=True):
    """Everything an agent needs beside a conversation, in one answer (the customer 360)."""

    contact: ContactRead | None
    account: AccountRead | None
    contacts: list[ContactRead]
    purchases: list[PurchaseRead]
    open_tickets: list[TicketRead]
    recent_tickets: list[TicketRead]
    activities: list[ActivityRead]
