"""Schema helpers shared by every domain (msgspec only, no framework)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are an error, not silently dropped.

    Subclasses declare ``kw_only=True`` themselves: msgspec does not inherit it.
    """


def provided_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually carried (UNSET ones are left out)."""
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if getattr(data, name) is not msgspec.UNSET
    }


# Timestamps from clients must say which time zone they are in.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
