from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from helpdesk.schemas import AwareDatetime, Strict

Tier = Literal["standard", "premium", "enterprise"]
ContactRole = Literal["decision_maker", "buyer", "influencer", "user", "other"]
PurchaseStatus = Literal["paid", "pending", "refunded", "cancelled"]
ObjectType = Literal["account", "contact", "ticket"]
FieldType = Literal["text", "number", "date", "choice", "boolean"]
# Not blank: names are stored stripped, so "   " would become an empty name.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
Domain = Annotated[str, msgspec.Meta(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=50)]
CustomValues = dict[str, Any]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class AccountRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    tier: str
    domains: list[str]
    custom_fields: CustomValues
    created_at: datetime
    updated_at: datetime


class AccountCreate(Strict, kw_only=True):
    name: Name
    tier: Tier = "standard"
    domains: list[Domain] = []
    custom_fields: CustomValues = {}


class AccountUpdate(Strict, kw_only=True):
    name: Name | Unset = UNSET
    tier: Tier | Unset = UNSET
    domains: list[Domain] | Unset = UNSET
    custom_fields: CustomValues | Unset = UNSET


class ContactRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    emails: list[str]
    phone: str
    account_id: int | None
    role: str
    custom_fields: CustomValues
    created_at: datetime
    updated_at: datetime


class ContactCreate(Strict, kw_only=True):
    name: Name
    emails: Annotated[list[Email], msgspec.Meta(min_length=1, max_length=20)]
    phone: Phone = ""
    account_id: int | None = None
    role: ContactRole = "user"
    custom_fields: CustomValues = {}


class ContactUpdate(Strict, kw_only=True):
    name: Name | Unset = UNSET
    emails: Annotated[list[Email], msgspec.Meta(min_length=1, max_length=20)] | Unset = UNSET
    phone: Phone | Unset = UNSET
    account_id: int | None | Unset = UNSET
    role: ContactRole | Unset = UNSET
    custom_fields: CustomValues | Unset = UNSET


class CustomFieldRead(msgspec.Struct, kw_only=True):
    id: int
    object_type: str
    key: str
    label: str
    field_type: str
    choices: list[str]
    required: bool


class CustomFieldCreate(Strict, kw_only=True):
    object_type: ObjectType
    key: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,59}$")]
    label: Name
    field_type: FieldType
    choices: list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]] = []
    required: bool = False


class CustomFieldUpdate(Strict, kw_only=True):
    label: Name | Unset = UNSET
    choices: list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]] | Unset = UNSET
    required: bool | Unset = UNSET


class PurchaseRead(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    contact_id: int | None
    order_number: str
    sku: str
    product: str
    quantity: int
    amount: Decimal
    currency: str
    ordered_at: datetime
    status: str


Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Amount = Decimal  # range and precision are checked by the service (msgspec bounds only ints and floats)


class PurchaseCreate(Strict, kw_only=True):
    account_id: int
    contact_id: int | None = None
    order_number: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    product: Name
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    amount: Amount
    currency: Currency
    ordered_at: AwareDatetime
    status: PurchaseStatus = "paid"


class PurchaseUpdate(Strict, kw_only=True):
    contact_id: int | None | Unset = UNSET
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | Unset = UNSET
    amount: Amount | Unset = UNSET
    status: PurchaseStatus | Unset = UNSET
