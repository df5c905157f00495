"""The customer 360: a contact or an account with everything around it, in one call."""

from __future__ import annotations

from helpdesk.activities import service as activities
from helpdesk.activities.tables import Activity
from helpdesk.actors import Actor
from helpdesk.customers import service as customers
from helpdesk.customers.tables import Contact
from helpdesk.overview.schemas import CustomerOverview
from helpdesk.tickets import service as tickets
from helpdesk.tickets.status import OPEN_STATUSES

CONTACTS_SHOWN = 100
PURCHASES_SHOWN = 50
TICKETS_SHOWN = 25
ACTIVITIES_SHOWN = 50


async def contact_overview(actor: Actor, contact_id: int) -> CustomerOverview:
    contact = await customers.get_contact(contact_id)
    account = await customers.get_account(contact.account_id) if contact.account_id else None
    tickets_of = tickets.TicketQuery(contact_id=contact_id)
    activity_filter = Activity.contact == contact_id
    if account:
        activity_filter = activity_filter | (Activity.account == account.id)
    return CustomerOverview(
        contact=contact,
        account=account,
        contacts=await _account_contacts(account.id) if account else [contact],
        purchases=(await customers.list_purchases(
            **({"account_id": account.id} if account else {"contact_id": contact_id}), limit=PURCHASES_SHOWN
        )).items,
        open_tickets=(await tickets.list_tickets(
            actor, tickets.TicketQuery(contact_id=contact_id, statuses=OPEN_STATUSES), limit=TICKETS_SHOWN
        )).items,
        recent_tickets=(await tickets.list_tickets(actor, tickets_of, limit=TICKETS_SHOWN)).items,
        activities=await _timeline(activity_filter),
    )


async def account_overview(actor: Actor, account_id: int) -> CustomerOverview:
    account = await customers.get_account(account_id)
    contact_ids = Contact.select(Contact.id).where(Contact.account == account_id)
    return CustomerOverview(
        contact=None,
        account=account,
        contacts=await _account_contacts(account_id),
        purchases=(await customers.list_purchases(account_id=account_id, limit=PURCHASES_SHOWN)).items,
        open_tickets=(await tickets.list_tickets(
            actor, tickets.TicketQuery(account_id=account_id, statuses=OPEN_STATUSES), limit=TICKETS_SHOWN
        )).items,
        recent_tickets=(await tickets.list_tickets(
            actor, tickets.TicketQuery(account_id=account_id), limit=TICKETS_SHOWN
        )).items,
        activities=await _timeline((Activity.account == account_id) | Activity.contact.is_in(contact_ids)),
    )


async def _account_contacts(account_id: int):
    return (await customers.list_contacts(account_id=account_id, limit=CONTACTS_SHOWN)).items


async def _timeline(condition) -> list:
    rows = await Activity.select().where(condition).order_by(
        Activity.occurred_at, Activity.id, ascending=False
    ).limit(ACTIVITIES_SHOWN).run()
    return [activities.activity_read(row) for row in rows]
