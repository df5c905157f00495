from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, patch, post

from helpdesk.actors import Actor
from helpdesk.customers import service
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
    ObjectType,
    PurchaseCreate,
    PurchaseRead,
    PurchaseStatus,
    PurchaseUpdate,
    Tier,
)
from helpdesk.pagination import DEFAULT_LIMIT, Page
from helpdesk.web.auth import requires


class AccountController(Controller):
    path = "/api/accounts"
    tags = ["accounts"]

    @get("/", operation_id="list_accounts")
    async def list_accounts(
        self, q: str | None = None, tier: Tier | None = None, domain: str | None = None,
        cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page[AccountRead]:
        return await service.list_accounts(q=q, tier=tier, domain=domain, cursor=cursor, limit=limit)

    @get("/{account_id:int}", operation_id="get_account")
    async def get_account(self, account_id: int) -> AccountRead:
        return await service.get_account(account_id)

    @post("/", operation_id="create_account")
    async def create_account(self, data: AccountCreate, actor: Actor, now: datetime) -> AccountRead:
        return await service.create_account(actor, data, now=now)

    @patch("/{account_id:int}", operation_id="update_account")
    async def update_account(self, account_id: int, data: AccountUpdate, actor: Actor, now: datetime) -> AccountRead:
        return await service.update_account(actor, account_id, data, now=now)

    @delete("/{account_id:int}", operation_id="delete_account", guards=[requires("admin")])
    async def delete_account(self, account_id: int, actor: Actor, now: datetime) -> None:
        await service.delete_account(actor, account_id, now=now)


class ContactController(Controller):
    path = "/api/contacts"
    tags = ["contacts"]

    @get("/", operation_id="list_contacts")
    async def list_contacts(
        self, q: str | None = None, account_id: int | None = None, email: str | None = None,
        cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page[ContactRead]:
        return await service.list_contacts(q=q, account_id=account_id, email=email, cursor=cursor, limit=limit)

    @get("/{contact_id:int}", operation_id="get_contact")
    async def get_contact(self, contact_id: int) -> ContactRead:
        return await service.get_contact(contact_id)

    @post("/", operation_id="create_contact")
    async def create_contact(self, data: ContactCreate, actor: Actor, now: datetime) -> ContactRead:
        return await service.create_contact(actor, data, now=now)

    @patch("/{contact_id:int}", operation_id="update_contact")
    async def update_contact(self, contact_id: int, data: ContactUpdate, actor: Actor, now: datetime) -> ContactRead:
        return await service.update_contact(actor, contact_id, data, now=now)

    @delete("/{contact_id:int}", operation_id="delete_contact", guards=[requires("admin")])
    async def delete_contact(self, contact_id: int, actor: Actor, now: datetime) -> None:
        await service.delete_contact(actor, contact_id, now=now)


class PurchaseController(Controller):
    path = "/api/purchases"
    tags = ["purchases"]

    @get("/", operation_id="list_purchases")
    async def list_purchases(
        self, account_id: int | None = None, contact_id: int | None = None, status: PurchaseStatus | None = None,
        cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page[PurchaseRead]:
        return await service.list_purchases(
            account_id=account_id, contact_id=contact_id, status=status, cursor=cursor, limit=limit
        )

    @get("/{purchase_id:int}", operation_id="get_purchase")
    async def get_purchase(self, purchase_id: int) -> PurchaseRead:
        return await service.get_purchase(purchase_id)

    @post("/", operation_id="create_purchase")
    async def create_purchase(self, data: PurchaseCreate, actor: Actor, now: datetime) -> PurchaseRead:
        return await service.create_purchase(actor, data, now=now)

    @patch("/{purchase_id:int}", operation_id="update_purchase")
    async def update_purchase(self, purchase_id: int, data: PurchaseUpdate, actor: Actor, now: datetime) -> PurchaseRead:
        return await service.update_purchase(actor, purchase_id, data, now=now)

    @delete("/{purchase_id:int}", operation_id="delete_purchase", guards=[requires("admin")])
    async def delete_purchase(self, purchase_id: int, actor: Actor, now: datetime) -> None:
        await service.delete_purchase(actor, purchase_id, now=now)


class CustomFieldController(Controller):
    path = "/api/custom-fields"
    tags = ["custom fields"]

    @get("/", operation_id="list_custom_fields")
    async def list_custom_fields(self, object_type: ObjectType | None = None) -> list[CustomFieldRead]:
        return await service.list_custom_fields(object_type)

    @get("/{field_id:int}", operation_id="get_custom_field")
    async def get_custom_field(self, field_id: int) -> CustomFieldRead:
        return await service.get_custom_field(field_id)

    @post("/", operation_id="create_custom_field", guards=[requires("admin")])
    async def create_custom_field(self, data: CustomFieldCreate, actor: Actor, now: datetime) -> CustomFieldRead:
        return await service.create_custom_field(actor, data, now=now)

    @patch("/{field_id:int}", operation_id="update_custom_field", guards=[requires("admin")])
    async def update_custom_field(
        self, field_id: int, data: CustomFieldUpdate, actor: Actor, now: datetime
    ) -> CustomFieldRead:
        return await service.update_custom_field(actor, field_id, data, now=now)

    @delete("/{field_id:int}", operation_id="delete_custom_field", guards=[requires("admin")])
    async def delete_custom_field(self, field_id: int, actor: Actor, now: datetime) -> None:
        await service.delete_custom_field(actor, field_id, now=now)
