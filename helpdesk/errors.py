"""The one domain error tree. Services raise these; the HTTP layer maps them to status codes."""

from __future__ import annotations

from typing import Any


class HelpdeskError(Exception):
    code = "error"

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class ConfigurationError(HelpdeskError):
    code = "configuration"


class NotFound(HelpdeskError):
    code = "not_found"


class Conflict(HelpdeskError):
    code = "conflict"


class StaleVersion(Conflict):
    """The client edited a version of the object that is no longer current."""

    code = "stale_version"


class PermissionDenied(HelpdeskError):
    code = "permission_denied"


class NotAuthenticated(HelpdeskError):
    code = "not_authenticated"


class InvalidTransition(HelpdeskError):
    code = "invalid_transition"


class ValidationFailed(HelpdeskError):
    code = "validation_failed"


class RateLimited(HelpdeskError):
    code = "rate_limited"
