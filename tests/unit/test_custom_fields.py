"""Custom field definitions and value validation (helpdesk.customers.custom_fields, pure)."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.customers.custom_fields import (
    MAX_TEXT_LENGTH,
    FieldDefinition,
    check_definition,
    clean_values,
)
from helpdesk.errors import ValidationFailed

DEFINITIONS = [
    FieldDefinition(key="region", field_type="text"),
    FieldDefinition(key="seats", field_type="number"),
    FieldDefinition(key="renewal", field_type="date"),
    FieldDefinition(key="plan", field_type="choice", choices=("basic", "pro")),
    FieldDefinition(key="vip", field_type="boolean"),
]


def field_of(error: pytest.ExceptionInfo[ValidationFailed]) -> str | None:
    return error.value.field


# ---------------------------------------------------------------- definitions


@pytest.mark.parametrize(
    ("field_type", "choices"),
    [("choice", ["a"]), ("choice", ["a", "b"]), ("text", []), ("number", []), ("date", []), ("boolean", [])],
)
def test_valid_definitions(field_type: str, choices: list[str]) -> None:
    check_definition(field_type, choices)


@pytest.mark.parametrize(
    ("field_type", "choices", "message"),
    [("choice", [], "at least one"), ("text", ["a"], "only choice"), ("boolean", ["yes"], "only choice"),
     ("choice", ["a", "b", "a"], "unique")],
)
def test_invalid_definitions(field_type: str, choices: list[str], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as error:
        check_definition(field_type, choices)
    assert field_of(error) == "choices"


# ---------------------------------------------------------------- values


def test_valid_values_of_every_type() -> None:
    values = {"region": "EMEA", "seats": 12, "renewal": "2025-01-31", "plan": "pro", "vip": True}
    assert clean_values(DEFINITIONS, values) == values


@pytest.mark.parametrize("number", [0, -3, 2.5, 10**12])
def test_numbers(number: float) -> None:
    assert clean_values(DEFINITIONS, {"seats": number}) == {"seats": number}


def test_text_limit_is_inclusive() -> None:
    longest = "x" * MAX_TEXT_LENGTH
    assert clean_values(DEFINITIONS, {"region": longest}) == {"region": longest}
    with pytest.raises(ValidationFailed) as error:
        clean_values(DEFINITIONS, {"region": longest + "x"})
    assert field_of(error) == "custom_fields.region"


def test_dates_are_stored_in_one_form() -> None:
    assert clean_values(DEFINITIONS, {"renewal": "20250131"}) == {"renewal": "2025-01-31"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("region", 1), ("region", ["a"]), ("region", {"a": 1}),
        ("seats", "1"), ("seats", True), ("seats", False), ("seats", [1]), ("seats", {"n": 1}),
        ("renewal", "2025-02-29"), ("renewal", "31/01/2025"), ("renewal", 20250131), ("renewal", ""),
        ("renewal", "2025-01-31T10:00:00"),
        ("plan", "Pro"), ("plan", "gold"), ("plan", ["pro"]), ("plan", 1),
        ("vip", 1), ("vip", 0), ("vip", "true"),
    ],
)
def test_wrong_type_names_the_key(key: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as error:
        clean_values(DEFINITIONS, {key: value})
    assert field_of(error) == f"custom_fields.{key}"


def test_unknown_key() -> None:
    with pytest.raises(ValidationFailed, match="no custom field 'colour'") as error:
        clean_values(DEFINITIONS, {"region": "EMEA", "colour": "red"})
    assert field_of(error) == "custom_fields.colour"


def test_values_merge_over_existing_and_none_clears() -> None:
    existing = {"region": "EMEA", "seats": 10, "legacy": "kept"}
    cleaned = clean_values(DEFINITIONS, {"seats": 11, "region": None, "plan": "basic"}, existing=existing)
    assert cleaned == {"seats": 11, "legacy": "kept", "plan": "basic"}
    assert existing == {"region": "EMEA", "seats": 10, "legacy": "kept"}  # not changed in place


def test_clearing_an_absent_value_is_fine() -> None:
    assert clean_values(DEFINITIONS, {"region": None}, existing={}) == {}


def test_stored_values_of_removed_definitions_are_not_revalidated() -> None:
    assert clean_values(DEFINITIONS, {"seats": 1}, existing={"gone": "kept"}) == {"seats": 1, "gone": "kept"}


REQUIRED = [FieldDefinition(key="customer_no", field_type="text", required=True),
            FieldDefinition(key="nda", field_type="boolean", required=True)]


def test_required_fields_must_be_present() -> None:
    with pytest.raises(ValidationFailed, match="required") as error:
        clean_values(REQUIRED, {"nda": True})
    assert field_of(error) == "custom_fields.customer_no"
    with pytest.raises(ValidationFailed) as error:
        clean_values(REQUIRED, {"customer_no": "", "nda": True})
    assert field_of(error) == "custom_fields.customer_no"


def test_required_fields_may_come_from_existing_values() -> None:
    assert clean_values(REQUIRED, {"nda": False}, existing={"customer_no": "C-1"}) == {"customer_no": "C-1", "nda": False}


def test_required_field_cannot_be_cleared() -> None:
    with pytest.raises(ValidationFailed) as error:
        clean_values(REQUIRED, {"customer_no": None}, existing={"customer_no": "C-1", "nda": True})
    assert field_of(error) == "custom_fields.customer_no"


def test_false_satisfies_a_required_boolean() -> None:
    assert clean_values(REQUIRED, {"customer_no": "C-1", "nda": False}) == {"customer_no": "C-1", "nda": False}


def test_no_definitions_accepts_only_nothing() -> None:
    assert clean_values([], {}) == {}
    with pytest.raises(ValidationFailed):
        clean_values([], {"x": 1})


def test_a_definition_of_unknown_type_refuses_values() -> None:
    with pytest.raises(ValidationFailed) as error:
        clean_values([FieldDefinition(key="odd", field_type="colour")], {"odd": "red"})
    assert field_of(error) == "custom_fields.odd"
