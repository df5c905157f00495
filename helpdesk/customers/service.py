"""Accounts, contacts, purchases and custom field definitions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from piccolo.querystring import QueryString

import helpdesk.audit.service as audit_service
from helpdesk.actors import Actor
from helpdesk.audit.service import changes_between
from helpdesk.customers.custom_fields import (
    FieldDefinition,
    check_definition,
    clean_values,
)
from helpdesk.customers.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    ContactCreate,
    ContactRead,
    ContactUpdate,
    CustomFieldCreate,
    CustomFieldRead,
    CustomFieldUpdate,
    PurchaseCreate,
    PurchaseRead,
    PurchaseUpdate,
)
from helpdesk.customers.tables import (
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    CustomFieldDefinition,
    Purchase,
)
from helpdesk.db import keyset_page, transaction_cache, unit_of_work
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Event, publish_on_commit
from helpdesk.pagination import Page
from helpdesk.schemas import provided_fields

MAX_AMOUNT = Decimal(10) ** 12
CENT = Decimal("0.01")

# Free-mail domains are shared by strangers, so they never link a sender to an account.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com",
        "gmx.de", "gmx.net", "web.de", "mail.com", "proton.me", "protonmail.com", "zoho.com",
        "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "fastmail.com", "hey.com",
    }
)


def normalise_address(address: str) -> str:
    return address.strip().lower()


def domain_of(address: str) -> str:
    return normalise_address(address).rpartition("@")[2]


def contains_pattern(text: str) -> QueryString:
    """A pattern for ``like``/``ilike`` matching ``text`` anywhere, with ``%`` and ``_`` taken literally.

    The ESCAPE clause is spelled out because SQLite's LIKE has no default escape character.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return QueryString("{} ESCAPE '\\'", f"%{escaped}%")


# ---------------------------------------------------------------- custom field definitions


def _custom_field_read(row: dict[str, Any]) -> CustomFieldRead:
    return CustomFieldRead(
        id=row["id"], object_type=row["object_type"], key=row["key"], label=row["label"],
        field_type=row["field_type"], choices=list(row["choices"]), required=row["required"],
    )


async def list_custom_fields(object_type: str | None = None) -> list[CustomFieldRead]:
    query = CustomFieldDefinition.select().output(load_json=True).order_by(CustomFieldDefinition.id)
    if object_type:
        query = query.where(CustomFieldDefinition.object_type == object_type)
    return [_custom_field_read(row) for row in await query.run()]


async def get_custom_field(field_id: int) -> CustomFieldRead:
    row = await CustomFieldDefinition.select().output(load_json=True).where(
        CustomFieldDefinition.id == field_id
    ).first().run()
    if row is None:
        raise NotFound(f"custom field {field_id} does not exist", field="field_id")
    return _custom_field_read(row)


async def definitions_for(object_type: str) -> list[FieldDefinition]:
    """The definitions for ``object_type``, read once per unit of work (an intake batch creates
    many contacts in one)."""
    cache = transaction_cache()
    key = (_DEFINITIONS_CACHE_KEY, object_type)
    if cache is not None and key in cache:
        return list(cache[key])
    definitions = [
        FieldDefinition(key=d.key, field_type=d.field_type, required=d.required, choices=tuple(d.choices))
        for d in await list_custom_fields(object_type)
    ]
    if cache is not None:
        cache[key] = tuple(definitions)
    return definitions


_DEFINITIONS_CACHE_KEY = "custom_field_definitions"


def _forget_cached_definitions() -> None:
    """After a definition changed inside a unit of work, its later reads must see the change."""
    cache = transaction_cache()
    if cache is not None:
        for key in [key for key in cache if isinstance(key, tuple) and key[0] == _DEFINITIONS_CACHE_KEY]:
            del cache[key]


async def check_custom_values(
    object_type: str, values: dict[str, Any], *, existing: dict[str, Any] | None = None, enforce_required: bool = True
) -> dict[str, Any]:
    return clean_values(await definitions_for(object_type), values, existing=existing,
                        enforce_required=enforce_required)


async def create_custom_field(actor: Actor, data: CustomFieldCreate, *, now: datetime) -> CustomFieldRead:
    actor.require("admin")
    check_definition(data.field_type, data.choices)
    async with unit_of_work():
        taken = await CustomFieldDefinition.exists().where(
            (CustomFieldDefinition.object_type == data.object_type) & (CustomFieldDefinition.key == data.key)
        ).run()
        if taken:
            raise Conflict(f"{data.object_type} already has a custom field {data.key!r}", field="key")
        [row] = await CustomFieldDefinition.insert(
            CustomFieldDefinition(
                object_type=data.object_type, key=data.key, label=data.label, field_type=data.field_type,
                choices=data.choices, required=data.required, created_at=now,
            )
        ).run()
        _forget_cached_definitions()
        await audit_service.record(actor, "custom_field.created", "custom_field", row["id"],
                                   changes_between({}, msgspec.structs.asdict(data)), at=now)
    return await get_custom_field(row["id"])


async def update_custom_field(actor: Actor, field_id: int, data: CustomFieldUpdate, *, now: datetime) -> CustomFieldRead:
    actor.require("admin")
    fields = provided_fields(data)
    async with unit_of_work():
        before = await get_custom_field(field_id)
        if "choices" in fields:
            check_definition(before.field_type, fields["choices"])
        if fields:
            await CustomFieldDefinition.update(
                {getattr(CustomFieldDefinition, name): value for name, value in fields.items()}
            ).where(CustomFieldDefinition.id == field_id).run()
            _forget_cached_definitions()
        await audit_service.record(actor, "custom_field.updated", "custom_field", field_id,
                                   changes_between(msgspec.structs.asdict(before), fields), at=now)
    return await get_custom_field(field_id)


async def delete_custom_field(actor: Actor, field_id: int, *, now: datetime) -> None:
    """Removes the definition; stored values stay in the records until they are next edited."""
    actor.require("admin")
    async with unit_of_work():
        before = await get_custom_field(field_id)
        await CustomFieldDefinition.delete().where(CustomFieldDefinition.id == field_id).run()
        _forget_cached_definitions()
        await audit_service.record(actor, "custom_field.deleted", "custom_field", field_id,
                                   {"key": [before.key, None]}, at=now)


# ---------------------------------------------------------------- accounts


async def _domains_by_account(account_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {account_id: [] for account_id in account_ids}
    if account_ids:
        rows = await AccountDomain.select(AccountDomain.account, AccountDomain.domain).where(
            AccountDomain.account.is_in(account_ids)
        ).order_by(AccountDomain.domain).run()
        for row in rows:
            result[row["account"]].append(row["domain"])
    return result


async def _account_reads(rows: list[dict[str, Any]]) -> list[AccountRead]:
    domains = await _domains_by_account([row["id"] for row in rows])
    return [
        AccountRead(
            id=row["id"], name=row["name"], tier=row["tier"], domains=domains[row["id"]],
            custom_fields=row["custom_fields"], created_at=row["created_at"], updated_at=row["updated_at"],
        )
        for row in rows
    ]


async def list_accounts(
    *, q: str | None = None, tier: str | None = None, domain: str | None = None,
    cursor: str | None = None, limit: int = 50,
) -> Page[AccountRead]:
    query = Account.select().output(load_json=True)
    if q:
        query = query.where(Account.name.ilike(contains_pattern(q)))
    if tier:
        query = query.where(Account.tier == tier)
    if domain:
        query = query.where(
            Account.id.is_in(AccountDomain.select(AccountDomain.account).where(AccountDomain.domain == domain.lower()))
        )
    rows, next_cursor = await keyset_page(query, [Account.name, Account.id], cursor=cursor, limit=limit,
                                          descending=False)
    return Page(items=await _account_reads(rows), next=next_cursor)


async def get_account(account_id: int) -> AccountRead:
    row = await Account.select().output(load_json=True).where(Account.id == account_id).first().run()
    if row is None:
        raise NotFound(f"account {account_id} does not exist", field="account_id")
    [account] = await _account_reads([row])
    return account


async def check_account_exists(account_id: int | None, *, field: str = "account_id") -> None:
    if account_id is not None and not await Account.exists().where(Account.id == account_id).run():
        raise ValidationFailed(f"account {account_id} does not exist", field=field)


async def _set_domains(account_id: int, domains: list[str]) -> list[str]:
    cleaned = sorted({d.strip().lower() for d in domains})
    for domain in cleaned:
        if domain in FREEMAIL_DOMAINS:
            raise ValidationFailed(f"{domain} is a free-mail domain and cannot identify an account", field="domains")
        owner = await AccountDomain.select(AccountDomain.account).where(AccountDomain.domain == domain).first().run()
        if owner and owner["account"] != account_id:
            raise Conflict(f"{domain} already belongs to account {owner['account']}", field="domains")
    await AccountDomain.delete().where(AccountDomain.account == account_id).run()
    if cleaned:
        await AccountDomain.insert(*[AccountDomain(account=account_id, domain=d) for d in cleaned]).run()
    return cleaned


async def create_account(actor: Actor, data: AccountCreate, *, now: datetime) -> AccountRead:
    async with unit_of_work():
        custom = await check_custom_values("account", data.custom_fields)
        [row] = await Account.insert(
            Account(name=data.name.strip(), tier=data.tier, custom_fields=custom, created_at=now, updated_at=now)
        ).run()
        domains = await _set_domains(row["id"], data.domains)
        changes = changes_between({}, {"name": data.name.strip(), "tier": data.tier, "domains": domains, "custom_fields": custom})
        await audit_service.record(actor, "account.created", "account", row["id"], changes, at=now)
        publish_on_commit(Event("account", "created", row["id"]))
    return await get_account(row["id"])


async def update_account(actor: Actor, account_id: int, data: AccountUpdate, *, now: datetime) -> AccountRead:
    fields = provided_fields(data)
    if "name" in fields:
        fields["name"] = fields["name"].strip()  # as on create
    async with unit_of_work():
        before = await get_account(account_id)
        values: dict[Any, Any] = {Account.updated_at: now}
        if "custom_fields" in fields:
            fields["custom_fields"] = await check_custom_values(
                "account", fields["custom_fields"], existing=before.custom_fields
            )
        for name in ("name", "tier", "custom_fields"):
            if name in fields:
                values[getattr(Account, name)] = fields[name]
        if "domains" in fields:
            fields["domains"] = await _set_domains(account_id, fields["domains"])
        await Account.update(values).where(Account.id == account_id).run()
        changes = changes_between(msgspec.structs.asdict(before), fields)
        await audit_service.record(actor, "account.updated", "account", account_id, changes, at=now)
        publish_on_commit(Event("account", "updated", account_id))
    return await get_account(account_id)


async def delete_account(actor: Actor, account_id: int, *, now: datetime) -> None:
    actor.require("admin")
    async with unit_of_work():
        before = await get_account(account_id)
        await Account.delete().where(Account.id == account_id).run()
        await audit_service.record(actor, "account.deleted", "account", account_id, {"name": [before.name, None]}, at=now)
        publish_on_commit(Event("account", "deleted", account_id))


async def find_account_for_address(address: str) -> int | None:
    """The account whose domain matches the sender's; never for free-mail domains."""
    domain = domain_of(address)
    if not domain or domain in FREEMAIL_DOMAINS:
        return None
    row = await AccountDomain.select(AccountDomain.account).where(AccountDomain.domain == domain).first().run()
    return row["account"] if row else None


# ---------------------------------------------------------------- contacts


async def _emails_by_contact(contact_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {contact_id: [] for contact_id in contact_ids}
    if contact_ids:
        rows = await ContactEmail.select(ContactEmail.contact, ContactEmail.address).where(
            ContactEmail.contact.is_in(contact_ids)
        ).order_by(ContactEmail.position).order_by(ContactEmail.id).run()
        for row in rows:
            result[row["contact"]].append(row["address"])
    return result


async def contact_reads(rows: list[dict[str, Any]]) -> list[ContactRead]:
    emails = await _emails_by_contact([row["id"] for row in rows])
    return [
        ContactRead(
            id=row["id"], name=row["name"], emails=emails[row["id"]], phone=row["phone"], account_id=row["account"],
            role=row["role"], custom_fields=row["custom_fields"], created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for row in rows
    ]


async def list_contacts(
    *, q: str | None = None, account_id: int | None = None, email: str | None = None,
    cursor: str | None = None, limit: int = 50,
) -> Page[ContactRead]:
    query = Contact.select().output(load_json=True)
    if q:
        query = query.where(
            Contact.name.ilike(contains_pattern(q))
            | Contact.id.is_in(ContactEmail.select(ContactEmail.contact).where(ContactEmail.address.ilike(contains_pattern(q))))
        )
    if account_id is not None:
        query = query.where(Contact.account == account_id)
    if email:
        query = query.where(
            Contact.id.is_in(ContactEmail.select(ContactEmail.contact).where(ContactEmail.address == normalise_address(email)))
        )
    rows, next_cursor = await keyset_page(query, [Contact.name, Contact.id], cursor=cursor, limit=limit,
                                          descending=False)
    return Page(items=await contact_reads(rows), next=next_cursor)


async def get_contact(contact_id: int) -> ContactRead:
    row = await Contact.select().output(load_json=True).where(Contact.id == contact_id).first().run()
    if row is None:
        raise NotFound(f"contact {contact_id} does not exist", field="contact_id")
    [contact] = await contact_reads([row])
    return contact


async def check_contact_exists(contact_id: int | None, *, field: str = "contact_id") -> None:
    if contact_id is not None and not await Contact.exists().where(Contact.id == contact_id).run():
        raise ValidationFailed(f"contact {contact_id} does not exist", field=field)


async def _set_emails(contact_id: int, emails: list[str], *, new_contact: bool = False) -> list[str]:
    """Replace the contact's addresses; ``new_contact``: inserted a moment ago, so it has none yet."""
    cleaned = list(dict.fromkeys(normalise_address(e) for e in emails))
    owners = await ContactEmail.select(ContactEmail.address, ContactEmail.contact).where(
        ContactEmail.address.is_in(cleaned)
    ).run()
    for owner in owners:
        if owner["contact"] != contact_id:
            raise Conflict(f"{owner['address']} already belongs to contact {owner['contact']}", field="emails")
    if not new_contact:
        await ContactEmail.delete().where(ContactEmail.contact == contact_id).run()
    await ContactEmail.insert(
        *[ContactEmail(contact=contact_id, address=address, position=i) for i, address in enumerate(cleaned)]
    ).run()
    return cleaned


async def create_contact(actor: Actor, data: ContactCreate, *, now: datetime) -> ContactRead:
    async with unit_of_work():
        contact_id = await do_create_contact(
            actor, name=data.name, emails=data.emails, phone=data.phone, account_id=data.account_id,
            role=data.role, custom_fields=data.custom_fields, now=now,
        )
    return await get_contact(contact_id)


async def do_create_contact(
    actor: Actor, *, name: str, emails: list[str], now: datetime, phone: str = "", account_id: int | None = None,
    role: str = "user", custom_fields: dict[str, Any] | None = None, enforce_required: bool = True,
    pending_audit: list[Any] | None = None,
) -> int:
    """Insert a contact inside the caller's unit of work; returns its id.

    Contacts created implicitly (a new mail sender, a requester named on a ticket) pass
    ``enforce_required=False``: required custom fields are for agents to fill in later. With
    ``pending_audit`` the audit entry is appended there for the caller to write with the others
    of its transaction (``audit.service.record_all``), not written now.
    """
    await check_account_exists(account_id)
    custom = await check_custom_values("contact", custom_fields or {}, enforce_required=enforce_required)
    [row] = await Contact.insert(
        Contact(name=name.strip(), phone=phone, account=account_id, role=role, custom_fields=custom,
                created_at=now, updated_at=now)
    ).run()
    cleaned = await _set_emails(row["id"], emails, new_contact=True)
    changes = changes_between({}, {"name": name.strip(), "emails": cleaned, "account_id": account_id, "role": role})
    await audit_service.record(actor, "contact.created", "contact", row["id"], changes, at=now, pending=pending_audit)
    publish_on_commit(Event("contact", "created", row["id"]))
    return row["id"]


async def update_contact(actor: Actor, contact_id: int, data: ContactUpdate, *, now: datetime) -> ContactRead:
    fields = provided_fields(data)
    if "name" in fields:
        fields["name"] = fields["name"].strip()  # as on create
    async with unit_of_work():
        before = await get_contact(contact_id)
        values: dict[Any, Any] = {Contact.updated_at: now}
        if "account_id" in fields:
            await check_account_exists(fields["account_id"])
            values[Contact.account] = fields["account_id"]
        if "custom_fields" in fields:
            fields["custom_fields"] = await check_custom_values(
                "contact", fields["custom_fields"], existing=before.custom_fields
            )
        for name in ("name", "phone", "role", "custom_fields"):
            if name in fields:
                values[getattr(Contact, name)] = fields[name]
        if "emails" in fields:
            fields["emails"] = await _set_emails(contact_id, fields["emails"])
        await Contact.update(values).where(Contact.id == contact_id).run()
        changes = changes_between(msgspec.structs.asdict(before), fields)
        await audit_service.record(actor, "contact.updated", "contact", contact_id, changes, at=now)
        publish_on_commit(Event("contact", "updated", contact_id))
    return await get_contact(contact_id)


async def delete_contact(actor: Actor, contact_id: int, *, now: datetime) -> None:
    actor.require("admin")
    async with unit_of_work():
        before = await get_contact(contact_id)
        await Contact.delete().where(Contact.id == contact_id).run()
        await audit_service.record(actor, "contact.deleted", "contact", contact_id, {"name": [before.name, None]}, at=now)
        publish_on_commit(Event("contact", "deleted", contact_id))


async def find_contact_by_address(address: str) -> dict[str, Any] | None:
    """The contact owning ``address`` (any of its addresses, case-insensitive), as a row."""
    owner = await ContactEmail.select(ContactEmail.contact).where(
        ContactEmail.address == normalise_address(address)
    ).first().run()
    if owner is None:
        return None
    return await Contact.select().output(load_json=True).where(Contact.id == owner["contact"]).first().run()


async def find_contacts_by_addresses(addresses: list[str]) -> dict[str, dict[str, Any]]:
    """The contacts owning any of ``addresses``, by normalised address: ``{"id", "account"}`` each, one query."""
    wanted = sorted({normalise_address(address) for address in addresses if address})
    if not wanted:
        return {}
    rows = await ContactEmail.select(
        ContactEmail.address, ContactEmail.contact, ContactEmail.contact.account.as_alias("account")
    ).where(ContactEmail.address.is_in(wanted)).run()
    return {row["address"]: {"id": row["contact"], "account": row["account"]} for row in rows}


# ---------------------------------------------------------------- purchases


def _purchase_read(row: dict[str, Any]) -> PurchaseRead:
    return PurchaseRead(
        id=row["id"], account_id=row["account"], contact_id=row["contact"], order_number=row["order_number"],
        sku=row["sku"], product=row["product"], quantity=row["quantity"],
        # SQLite keeps NUMERIC as a float, so 10.10 comes back as 10.1: always show two decimals.
        amount=Decimal(row["amount"]).quantize(CENT),
        currency=row["currency"], ordered_at=row["ordered_at"], status=row["status"],
    )


async def list_purchases(
    *, account_id: int | None = None, contact_id: int | None = None, status: str | None = None,
    cursor: str | None = None, limit: int = 50,
) -> Page[PurchaseRead]:
    query = Purchase.select()
    if account_id is not None:
        query = query.where(Purchase.account == account_id)
    if contact_id is not None:
        query = query.where(Purchase.contact == contact_id)
    if status:
        query = query.where(Purchase.status == status)
    rows, next_cursor = await keyset_page(query, [Purchase.ordered_at, Purchase.id], cursor=cursor, limit=limit,
                                          descending=True)
    return Page(items=[_purchase_read(row) for row in rows], next=next_cursor)


async def get_purchase(purchase_id: int) -> PurchaseRead:
    row = await Purchase.select().where(Purchase.id == purchase_id).first().run()
    if row is None:
        raise NotFound(f"purchase {purchase_id} does not exist", field="purchase_id")
    return _purchase_read(row)


async def _check_contact_in_account(contact_id: int | None, account_id: int) -> None:
    if contact_id is None:
        return
    contact = await Contact.select(Contact.account).where(Contact.id == contact_id).first().run()
    if contact is None:
        raise ValidationFailed(f"contact {contact_id} does not exist", field="contact_id")
    if contact["account"] != account_id:
        raise ValidationFailed(f"contact {contact_id} is not part of account {account_id}", field="contact_id")


def _check_amount(amount: Decimal) -> None:
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT or amount != amount.quantize(CENT):
        raise ValidationFailed("must be a finite amount with at most 2 decimals, below 10^12", field="amount")


async def create_purchase(actor: Actor, data: PurchaseCreate, *, now: datetime) -> PurchaseRead:
    _check_amount(data.amount)
    async with unit_of_work():
        await check_account_exists(data.account_id)
        await _check_contact_in_account(data.contact_id, data.account_id)
        [row] = await Purchase.insert(
            Purchase(
                account=data.account_id, contact=data.contact_id, order_number=data.order_number, sku=data.sku,
                product=data.product, quantity=data.quantity, amount=data.amount, currency=data.currency,
                ordered_at=data.ordered_at, status=data.status,
            )
        ).run()
        await audit_service.record(actor, "purchase.created", "purchase", row["id"],
                                   changes_between({}, msgspec.structs.asdict(data)), at=now)
        publish_on_commit(Event("purchase", "created", row["id"], data={"account_id": data.account_id}))
    return await get_purchase(row["id"])


async def update_purchase(actor: Actor, purchase_id: int, data: PurchaseUpdate, *, now: datetime) -> PurchaseRead:
    fields = provided_fields(data)
    async with unit_of_work():
        before = await get_purchase(purchase_id)
        if "contact_id" in fields:
            await _check_contact_in_account(fields["contact_id"], before.account_id)
        if "amount" in fields:
            _check_amount(fields["amount"])
        column_for = {"contact_id": Purchase.contact, "quantity": Purchase.quantity, "amount": Purchase.amount,
                      "status": Purchase.status}
        if fields:
            await Purchase.update({column_for[name]: value for name, value in fields.items()}).where(
                Purchase.id == purchase_id
            ).run()
        await audit_service.record(actor, "purchase.updated", "purchase", purchase_id,
                                   changes_between(msgspec.structs.asdict(before), fields), at=now)
        publish_on_commit(Event("purchase", "updated", purchase_id, data={"account_id": before.account_id}))
    return await get_purchase(purchase_id)


async def delete_purchase(actor: Actor, purchase_id: int, *, now: datetime) -> None:
    actor.require("admin")
    async with unit_of_work():
        before = await get_purchase(purchase_id)
        await Purchase.delete().where(Purchase.id == purchase_id).run()
        await audit_service.record(actor, "purchase.deleted", "purchase", purchase_id,
                                   {"order_number": [before.order_number, None]}, at=now)
        publish_on_commit(Event("purchase", "deleted", purchase_id, data={"account_id": before.account_id}))
