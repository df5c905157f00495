from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Account(Table, tablename="account"):
    name = Varchar(length=200, index=True)
    tier = Varchar(length=20, default="standard")
    custom_fields = JSON(default={})
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AccountDomain(Table, tablename="account_domain"):
    """An email domain whose senders belong to the account (stored lower-cased)."""

    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    domain = Varchar(length=255, unique=True)


class Contact(Table, tablename="contact"):
    name = Varchar(length=200, index=True)
    phone = Varchar(length=50, default="")
    account = ForeignKey(Account, null=True, on_delete=OnDelete.set_null, index=True)
    role = Varchar(length=20, default="user")  # decision_maker, buyer, influencer, user, other
    custom_fields = JSON(default={})
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ContactEmail(Table, tablename="contact_email"):
    """One of a contact's addresses; lower-cased, so uniqueness is case-insensitive."""

    contact = ForeignKey(Contact, on_delete=OnDelete.cascade, index=True)
    address = Varchar(length=320, unique=True)
    position = Integer(default=0)  # 0 is the primary address


class CustomFieldDefinition(Table, tablename="custom_field_definition"):
    object_type = Varchar(length=20)  # account, contact, ticket
    key = Varchar(length=60)
    label = Varchar(length=200)
    field_type = Varchar(length=10)  # text, number, date, choice, boolean
    choices = JSON(default=[])
    required = Boolean(default=False)
    created_at = Timestamptz()


class Purchase(Table, tablename="purchase"):
    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null, index=True)
    order_number = Varchar(length=100)
    sku = Varchar(length=100)
    product = Varchar(length=200)
    quantity = Integer(default=1)
    amount = Numeric(digits=(14, 2))
    currency = Varchar(length=3)
    ordered_at = Timestamptz()
    status = Varchar(length=20, default="paid")  # paid, pending, refunded, cancelled
