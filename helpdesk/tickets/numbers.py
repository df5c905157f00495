"""Human ticket numbers (T-1001 …), derived from the id so they can never disagree with it."""

from __future__ import annotations

import re

NUMBER_OFFSET = 1000
_NUMBER = re.compile(r"^\s*(?:T-?)?(\d{1,12})\s*$", re.IGNORECASE)


def ticket_number(ticket_id: int) -> str:
    return f"T-{ticket_id + NUMBER_OFFSET}"


def ticket_id_from_number(text: str) -> int | None:
    match = _NUMBER.match(text)
    if not match:
        return None
    ticket_id = int(match.group(1)) - NUMBER_OFFSET
    return ticket_id if ticket_id > 0 else None
