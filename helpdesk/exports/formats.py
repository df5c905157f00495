"""Row serialisation for exports: CSV (spreadsheet-safe) and JSON Lines (pure)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMATS = ("csv", "jsonl")
# A cell starting with one of these is a formula to spreadsheet programs; customer text
# (subjects, names) must never run as one on an admin's machine.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def jsonl_line(row: dict[str, Any]) -> str:
    return json.dumps({key: _plain(value) for key, value in row.items()}, ensure_ascii=False) + "\n"


def csv_cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_lines(columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


async def render(fmt: str, columns: list[str], batches: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[str]:
    if fmt == "csv":
        yield csv_lines(columns, [{column: column for column in columns}])
    async for batch in batches:
        if fmt == "csv":
            yield csv_lines(columns, batch)
        else:
            yield "".join(jsonl_line({column: row.get(column) for column in columns}) for row in batch)
