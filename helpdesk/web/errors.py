"""One mapping from errors to JSON answers: ``{"error", "detail", "field"}`` on every 4xx."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from helpdesk.db import is_unique_violation
from helpdesk.errors import (
    Conflict,
    HelpdeskError,
    InvalidTransition,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

STATUS_FOR: list[tuple[type[HelpdeskError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (InvalidTransition, 409),
    (PermissionDenied, 403),
    (NotAuthenticated, 401),
    (ValidationFailed, 422),
    (RateLimited, 429),
]

HTTP_ERROR_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_failed", 429: "rate_limited",
}

# msgspec names the offending place as "at `$.a.b[0]`" or "unknown field `x`".
_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(content=body, status_code=status, media_type=MediaType.JSON)


def domain_error_handler(_: Request, exc: HelpdeskError) -> Response:
    status = next((code for cls, code in STATUS_FOR if isinstance(exc, cls)), 400)
    return _json(status, {"error": exc.code, "detail": exc.detail, "field": exc.field, **exc.extra})


def field_from_validation(exc: ValidationException) -> tuple[str, str]:
    """The field a Litestar/msgspec validation error is about, and its message.

    Litestar names the parameter (``limit``, ``subject``); for problems with the body as a
    whole (an unknown or missing field) it says ``data`` and msgspec's message names the field.
    """
    problems = [p for p in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(p, dict)]
    if not problems:
        return "body", exc.detail
    message = str(problems[0].get("message", exc.detail))
    key = str(problems[0].get("key") or "")
    named = _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message)
    if named:
        at = _AT_PATH.search(message)
        prefix = at.group(1) if at and at.group(1) else ""
        return (f"{prefix}.{named.group(1)}" if prefix else named.group(1)), message
    if key and key != "data":
        return key, message
    at = _AT_PATH.search(message)
    return (at.group(1) if at and at.group(1) else "body"), message


def http_error_handler(_: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        field, message = field_from_validation(exc)
        return _json(422, {"error": "validation_failed", "detail": message, "field": field})
    status = exc.status_code
    if status >= 500:
        logger.error("server error: %s", exc.detail)
    field = "body" if status in (400, 413, 415) else None
    return _json(status, {"error": HTTP_ERROR_CODES.get(status, "error"), "detail": exc.detail, "field": field})


def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    if is_unique_violation(exc):
        logger.info("unique key conflict on %s %s: %s", request.method, request.url.path, exc)
        return _json(409, {"error": "conflict", "detail": "a concurrent change got there first; reload and try again",
                           "field": None})
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, {"error": "internal", "detail": "internal server error", "field": None})


EXCEPTION_HANDLERS = {
    HelpdeskError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
