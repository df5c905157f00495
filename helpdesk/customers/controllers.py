from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

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
from helpdesk.web.auth import CurrentActor, Now, requires


class AccountController(Controller):
    path = "/api/accounts"
    tags = ["accounts"]

    @get("/", operation_id="list_accounts")
    async def list_accounts(
        self, q: FromQuery[str | None] = None, tier: FromQuery[Tier | None] = None, domain: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None, limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[AccountRead]:
        return await service.list_accounts(q=q, tier=tier, domain=domain, cursor=cursor, limit=limit)

    @get("/{account_id:int}", operation_id="get_account")
    async def get_account(self, account_id: FromPath[int]) -> AccountRead:
        return await service.get_account(account_id)

    @post("/", operation_id="create_account")
    async def create_account(self, data: JSONBody[AccountCreate], actor: CurrentActor, now: Now) -> AccountRead:
        return await service.create_account(actor, data, now=now)

    @patch("/{account_id:int}", operation_id="update_account")
    async def update_account(self, account_id: FromPath[int], data: JSONBody[AccountUpdate], actor: CurrentActor, now: Now) -> AccountRead:
        return await service.update_account(actor, account_id, data, now=now)

    @delete("/{account_id:int}", operation_id="delete_account", guards=[requires("admin")])
    async def delete_account(self, account_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_account(actor, account_id, now=now)


class ContactController(Controller):
    path = "/api/contacts"
    tags = ["contacts"]

    @get("/", operation_id="list_contacts")
    async def list_contacts(
        self, q: FromQuery[str | None] = None, account_id: FromQuery[int | None] = None, email: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None, limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[ContactRead]:
        return await service.list_contacts(q=q, account_id=account_id, email=email, cursor=cursor, limit=limit)

    @get("/{contact_id:int}", operation_id="get_contact")
    async def get_contact(self, contact_id: FromPath[int]) -> ContactRead:
        return await service.get_contact(contact_id)

    @post("/", operation_id="create_contact")
    async def create_contact(self, data: JSONBody[ContactCreate], actor: CurrentActor, now: Now) -> ContactRead:
        return await service.create_contact(actor, data, now=now)

    @patch("/{contact_id:int}", operation_id="update_contact")
    async def update_contact(self, contact_id: FromPath[int], data: JSONBody[ContactUpdate], actor: CurrentActor, now: Now) -> ContactRead:
        return await service.update_contact(actor, contact_id, data, now=now)

    @delete("/{contact_id:int}", operation_id="delete_contact", guards=[requires("admin")])
    async def delete_contact(self, contact_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_contact(actor, contact_id, now=now)


class PurchaseController(Controller):
    path = "/api/purchases"
    tags = ["purchases"]

    @get("/", operation_id="list_purchases")
    async def list_purchases(
        self, account_id: FromQuery[int | None] = None, contact_id: FromQuery[int | None] = None, status: FromQuery[PurchaseStatus | None] = None,
        cursor: FromQuery[str | None] = None, limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[PurchaseRead]:
        return await service.list_purchases(
            account_id=account_id, contact_id=contact_id, status=status, cursor=cursor, limit=limit
        )

    @get("/{purchase_id:int}", operation_id="get_purchase")
    async def get_purchase(self, purchase_id: FromPath[int]) -> PurchaseRead:
        return await service.get_purchase(purchase_id)

    @post("/", operation_id="create_purchase")
    async def create_purchase(self, data: JSONBody[PurchaseCreate], actor: CurrentActor, now: Now) -> PurchaseRead:
        return await service.create_purchase(actor, data, now=now)

    @patch("/{purchase_id:int}", operation_id="update_purchase")
    async def update_purchase(self, purchase_id: FromPath[int], data: JSONBody[PurchaseUpdate], actor: CurrentActor, now: Now) -> PurchaseRead:
        return await service.update_purchase(actor, purchase_id, data, now=now)

    @delete("/{purchase_id:int}", operation_id="delete_purchase", guards=[requires("admin")])
    async def delete_purchase(self, purchase_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_purchase(actor, purchase_id, now=now)


class CustomFieldController(Controller):
    path = "/api/custom-fields"
    tags = ["custom fields"]

    @get("/", operation_id="list_custom_fields")
    async def list_custom_fields(self, object_type: FromQuery[ObjectType | None] = None) -> list[CustomFieldRead]:
        return await service.list_custom_fields(object_type)

    @get("/{field_id:int}", operation_id="get_custom_field")
    async def get_custom_field(self, field_id: FromPath[int]) -> CustomFieldRead:
        return await service.get_custom_field(field_id)

    @post("/", operation_id="create_custom_field", guards=[requires("admin")])
    async def create_custom_field(self, data: JSONBody[CustomFieldCreate], actor: CurrentActor, now: Now) -> CustomFieldRead:
        return await service.create_custom_field(actor, data, now=now)

    @patch("/{field_id:int}", operation_id="update_custom_field", guards=[requires("admin")])
    async def update_custom_field(
        self, field_id: FromPath[int], data: JSONBody[CustomFieldUpdate], actor: CurrentActor, now: Now
    ) -> CustomFieldRead:
        return await service.update_custom_field(actor, field_id, data, now=now)

    @delete("/{field_id:int}", operation_id="delete_custom_field", guards=[requires("admin")])
    async def delete_custom_field(self, field_id: FromPath[int], actor: CurrentActor, now: Now) -> None:
        await service.delete_custom_field(actor, field_id, now=now)
