"""Errors as RFC 9457 ``application/problem+json``, each with a stable ``code``."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from clientdesk.core.errors import DomainError, ErrorCode

CONTENT_TYPE = "application/problem+json"
# Codes the API adds to the domain's (core/errors.ErrorCode) for HTTP-only situations.
EXTRA_CODES = {
    "unauthenticated": 401,
    "precondition_failed": 412,
    "precondition_required": 428,
    "idempotency_mismatch": 422,
    "idempotency_in_progress": 409,
    "not_found": 404,
    "method_not_allowed": 405,
    "too_large": 413,
    "unsupported_media_type": 415,
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"https://clientdesk.example/problems/{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_domain(error: DomainError, *, precondition: bool = False) -> HttpResponse:
    """A refused action. A stale version after an ``If-Match`` is 412, not 409."""
    if precondition and error.code == ErrorCode.STALE_VERSION:
        return problem(412, "precondition_failed", error.message)
    return problem(error.http_status, error.code.value, error.message, errors=error.errors)
