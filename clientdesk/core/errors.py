"""Domain errors: the one way an action says a business rule was broken.

Interfaces translate a ``DomainError`` in one place each: forms add it as an error next to
the field (or a non-field error), the API returns problem+json with ``http_status``.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus


class ErrorCode(StrEnum):
    """Stable, documented error codes. Clients may branch on them; never rename one."""

    INVALID = "invalid"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    STALE_VERSION = "stale_version"
    RATE_LIMITED = "rate_limited"


# How each code surfaces over HTTP. A code missing here is a 400.
HTTP_STATUS: dict[ErrorCode, HTTPStatus] = {
    ErrorCode.INVALID: HTTPStatus.BAD_REQUEST,
    ErrorCode.NOT_ALLOWED: HTTPStatus.FORBIDDEN,
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.CONFLICT: HTTPStatus.CONFLICT,
    ErrorCode.STALE_VERSION: HTTPStatus.CONFLICT,
    ErrorCode.RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
}


class DomainError(Exception):
    """A broken business rule. ``field`` names the input that caused it, when there is one."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # Several inputs at once (a form's worth): field name → messages.
        self.errors = errors or ({field: [message]} if field else {})

    @property
    def http_status(self) -> int:
        return int(HTTP_STATUS.get(self.code, HTTPStatus.BAD_REQUEST))

    def as_problem(self) -> dict[str, object]:
        """RFC 9457 problem details body for the API."""
        problem: dict[str, object] = {
            "type": f"https://clientdesk.example/problems/{self.code.value}",
            "title": self.code.value.replace("_", " ").capitalize(),
            "status": self.http_status,
            "detail": self.message,
            "code": self.code.value,
        }
        if self.field:
            problem["field"] = self.field
        if self.errors:
            problem["errors"] = self.errors
        return problem

    def add_to_form(self, form: object) -> None:
        """Show each error next to its field (or above the form) in a Django form."""
        known = getattr(form, "fields", {})
        if not self.errors:
            form.add_error(None, self.message)  # type: ignore[attr-defined]
        for name, messages in self.errors.items():
            for message in messages:
                form.add_error(name if name in known else None, message)  # type: ignore[attr-defined]
