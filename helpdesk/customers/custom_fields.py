"""Validation of custom field values against their definitions (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from helpdesk.errors import ValidationFailed

FIELD_TYPES = ("text", "number", "date", "choice", "boolean")
OBJECT_TYPES = ("account", "contact", "ticket")
MAX_TEXT_LENGTH = 10_000


@dataclass(frozen=True)
class FieldDefinition:
    key: str
    field_type: str
    required: bool = False
    choices: tuple[str, ...] = ()


def check_definition(field_type: str, choices: list[str]) -> None:
    if field_type == "choice" and not choices:
        raise ValidationFailed("a choice field needs at least one choice", field="choices")
    if field_type != "choice" and choices:
        raise ValidationFailed("only choice fields have choices", field="choices")
    if len(set(choices)) != len(choices):
        raise ValidationFailed("choices must be unique", field="choices")


def clean_values(
    definitions: list[FieldDefinition], values: dict[str, Any], *, existing: dict[str, Any] | None = None,
    enforce_required: bool = True,
) -> dict[str, Any]:
    """Merge ``values`` over ``existing`` and check the result; a None value clears a field.

    ``enforce_required=False`` is for records created on someone's behalf (a contact for a new
    mail sender): nobody could fill the required fields then, and refusing would lose the mail.

    Raises ValidationFailed naming ``custom_fields.<key>`` for the first problem found.
    """
    by_key = {definition.key: definition for definition in definitions}
    merged = dict(existing or {})
    for key, value in values.items():
        definition = by_key.get(key)
        if definition is None:
            raise ValidationFailed(f"no custom field {key!r} is defined", field=f"custom_fields.{key}")
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _clean_value(definition, value)
    for definition in definitions if enforce_required else ():
        if definition.required and merged.get(definition.key) in (None, ""):
            raise ValidationFailed("this custom field is required", field=f"custom_fields.{definition.key}")
    return merged


def _clean_value(definition: FieldDefinition, value: Any) -> Any:
    field = f"custom_fields.{definition.key}"
    kind = definition.field_type
    if kind == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH:
            raise ValidationFailed(f"must be text of at most {MAX_TEXT_LENGTH} characters", field=field)
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationFailed("must be a number", field=field)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValidationFailed("must be true or false", field=field)
        return value
    if kind == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            raise ValidationFailed("must be a date as YYYY-MM-DD", field=field) from None
    if kind == "choice":
        if value not in definition.choices:
            raise ValidationFailed(f"must be one of {', '.join(definition.choices)}", field=field)
        return value
    raise ValidationFailed(f"unknown field type {kind!r}", field=field)
