"""Export serialisation (helpdesk.exports.formats, pure): spreadsheet-safe CSV cells and JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from helpdesk.exports.formats import FORMATS, csv_cell, csv_lines, jsonl_line, render

AT = datetime(2024, 3, 1, 10, 30, tzinfo=UTC)


# ---------------------------------------------------------------- CSV cells


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        ("", ""),
        ("plain text", "plain text"),
        (42, "42"),
        (-5, "-5"),
        (2.5, "2.5"),
        (True, "True"),
        (Decimal("10.10"), "10.10"),
        (AT, "2024-03-01T10:30:00+00:00"),
        (datetime(2024, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))), "2024-03-01T12:30:00+02:00"),
        (date(2024, 3, 1), "2024-03-01"),
        ({"plan": "pro", "seats": 3}, '{"plan": "pro", "seats": 3}'),
        (["a", "b"], '["a", "b"]'),
        ({"name": "Zoë"}, '{"name": "Zoë"}'),
    ],
)
def test_plain_cells(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize(
    "text",
    ["=1+2", '=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0", "+cmd", "-2+3", "@SUM(A1)",
     "\t=1", "\r=1", "+49 30 1234", "-", "=", "@"],
)
def test_formula_like_text_is_prefixed_with_a_quote(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["-5", "-5.25", "+3", "-1e3", "1=1", "a@b.example"])
def test_numbers_and_harmless_text_stay_as_they_are(text: str) -> None:
    assert csv_cell(text) == text


def test_a_negative_decimal_stays_a_number() -> None:
    assert csv_cell(Decimal("-12.50")) == "-12.50"


# ---------------------------------------------------------------- CSV lines


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_lines_follow_the_columns_and_quote_what_needs_it() -> None:
    rows = [
        {"id": 1, "subject": 'He said "hi", then left', "extra": "dropped"},
        {"id": 2, "subject": "two\nlines"},
        {"id": 3},
    ]
    text = csv_lines(["id", "subject"], rows)
    assert parse(text) == [["1", 'He said "hi", then left'], ["2", "two\nlines"], ["3", ""]]
    assert text.count("\r\n") == 3  # csv's own line ends; the newline inside a cell is quoted


def test_csv_lines_neutralise_each_cell() -> None:
    assert parse(csv_lines(["a", "b"], [{"a": "=1", "b": "-1"}])) == [["'=1", "-1"]]


def test_no_rows_no_lines() -> None:
    assert csv_lines(["a"], []) == ""


# ---------------------------------------------------------------- JSON Lines


def test_jsonl_line_is_one_parseable_line() -> None:
    row = {"id": 7, "amount": Decimal("10.10"), "at": AT, "day": date(2024, 3, 1), "done": False, "none": None,
           "custom": {"plan": "pro"}, "subject": "=1+2 über\nzwei Zeilen"}
    line = jsonl_line(row)
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {"id": 7, "amount": "10.10", "at": "2024-03-01T10:30:00+00:00", "day": "2024-03-01",
                                "done": False, "none": None, "custom": {"plan": "pro"},
                                "subject": "=1+2 über\nzwei Zeilen"}
    assert "über" in line  # UTF-8 kept, not \u-escaped


# ---------------------------------------------------------------- render


async def batches(*groups: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    for group in groups:
        yield group


async def collect(chunks: AsyncIterator[str]) -> str:
    return "".join([chunk async for chunk in chunks])


def test_formats() -> None:
    assert FORMATS == ("csv", "jsonl")


async def test_render_csv_writes_the_header_then_every_batch() -> None:
    text = await collect(render("csv", ["id", "name"], batches([{"id": 1, "name": "A"}], [{"id": 2, "name": "=B"}])))
    assert parse(text) == [["id", "name"], ["1", "A"], ["2", "'=B"]]


async def test_render_csv_of_nothing_is_just_the_header() -> None:
    assert parse(await collect(render("csv", ["id", "name"], batches()))) == [["id", "name"]]


async def test_render_jsonl_keeps_only_the_columns_in_order() -> None:
    text = await collect(render("jsonl", ["id", "name"], batches([{"name": "A", "id": 1, "secret": "x"}], [{"id": 2}])))
    lines = text.splitlines()
    assert [json.loads(line) for line in lines] == [{"id": 1, "name": "A"}, {"id": 2, "name": None}]
    assert list(json.loads(lines[0])) == ["id", "name"]


async def test_render_jsonl_of_nothing_is_empty() -> None:
    assert await collect(render("jsonl", ["id"], batches())) == ""
