"""ETags and ``If-Match``: an update must name the version it was based on."""

from __future__ import annotations

from django.http import HttpRequest

from clientdesk.core.errors import DomainError, ErrorCode


class PreconditionRequiredError(Exception):
    """428: an update came without ``If-Match``."""


def etag(value: str | int) -> str:
    return f'"{value}"'


def if_match(request: HttpRequest) -> str:
    """The version named by ``If-Match`` (quotes removed), or 428 when there is none.
    ``*`` is not accepted: an update must say which version it saw."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequiredError
    value = header.removeprefix("W/").strip()
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        raise DomainError(ErrorCode.INVALID, 'If-Match must be an ETag in quotes, e.g. "3".')
    return value[1:-1]


def if_match_version(request: HttpRequest) -> int:
    value = if_match(request)
    if not value.isdecimal() or len(value) > 9:
        raise DomainError(ErrorCode.STALE_VERSION, "This is not the current version.")
    return int(value)
