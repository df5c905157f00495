"""Feed .eml files, mbox files or whole directories (maildirs included) through the intake pipeline."""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from helpdesk.clock import Clock
from helpdesk.inbox.ingest import (
    IMPORT_SOURCE,
    ingest_stored,
    parse_received,
    store_received,
)

# Maildir keeps its bookkeeping here; these are not mails.
_SKIPPED_NAMES = {"dovecot-uidlist", "dovecot-keywords", "dovecot.index", "maildirfolder", "subscriptions"}


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def iter_raw_mails(path: Path) -> Iterator[tuple[str, bytes]]:
    """(where, raw bytes) for every mail under ``path``, in a stable order."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            if child.name in _SKIPPED_NAMES or child.name.startswith("dovecot.index") or child.parent.name == "tmp":
                continue
            yield from iter_raw_mails(child)
        return
    if _is_mbox(path):
        box = mailbox.mbox(str(path), create=False)
        try:
            for index, key in enumerate(box.iterkeys()):
                yield f"{path}#{index + 1}", box.get_bytes(key)
        finally:
            box.close()
        return
    yield str(path), path.read_bytes()


async def import_path(path: Path, clock: Clock) -> Counter[str]:
    """Import every mail under ``path``; a count of the resulting states (duplicates included)."""
    if not path.exists():
        raise FileNotFoundError(path)
    outcome: Counter[str] = Counter()
    for _, raw in iter_raw_mails(path):
        received = parse_received(raw)
        [stored] = await store_received(IMPORT_SOURCE, [received], now=clock.now())
        if not stored.created:
            outcome["duplicate"] += 1
            continue
        outcome[await ingest_stored(stored.inbound_id, received, now=clock.now())] += 1
    return outcome
