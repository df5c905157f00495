"""How the poller cuts fetched mail into transactions (pure).

A transaction per mail spends most of its time on the commit (and on SQLite on opening a
connection), so mails share one; but a long transaction holds SQLite's write lock while API
writes wait, and keeps its mails from becoming tickets until it commits. So each transaction
takes about ``TARGET_S`` at the pace the last one had, starting small after a (re)start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

TARGET_S = 0.25
FIRST_MAILS = 5
# On PostgreSQL each mail is a savepoint, and a backend tracks only 64 subtransactions in shared
# memory before other sessions' snapshots get slower.
MAX_MAILS = 50
GROWTH = 4  # a few slow-then-fast transactions must not jump to a size that holds the lock for long


def next_transaction_size(mails: int, seconds: float) -> int:
    """Mails for the next transaction, after one of ``mails`` mails that took ``seconds``."""
    grown = max(mails, 1) * GROWTH
    fitting = int(mails * TARGET_S / seconds) if seconds > 0 else grown
    return max(1, min(fitting, grown, MAX_MAILS))


class HasMessageId(Protocol):
    @property
    def message_id(self) -> str: ...


M = TypeVar("M", bound=HasMessageId)


def up_to_first_repeat(mails: Sequence[M]) -> list[M]:
    """The leading mails up to (not including) the first whose Message-ID came earlier in the list."""
    seen: set[str] = set()
    for index, mail in enumerate(mails):
        if mail.message_id in seen:
            return list(mails[:index])
        seen.add(mail.message_id)
    return list(mails)
