"""Keyset pagination: an opaque cursor holds the sort key of the last row served."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

import msgspec

from helpdesk.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(msgspec.Struct, Generic[T]):
    """One page of a listing; ``next`` is the cursor for the following page, or None at the end."""

    items: list[T]
    next: str | None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, length: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError:
        raise ValidationFailed("not a cursor this API issued", field="cursor") from None
    if not isinstance(key, list) or len(key) != length:
        raise ValidationFailed("not a cursor for this listing", field="cursor")
    return key


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"must be between 1 and {MAX_LIMIT}", field="limit")
    return limit
