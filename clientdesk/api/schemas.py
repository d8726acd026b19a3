"""Shared schema pieces. Every request body forbids unknown fields (no mass assignment)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict


class Body(Schema):
    """A request body: a field the schema does not name is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Problem(Schema):
    """RFC 9457 problem details; ``code`` is stable (see docs/api.md)."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: dict[str, list[str]] | None = None


PROBLEMS: dict[int, Any] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    412: Problem,
    422: Problem,
    428: Problem,
    429: Problem,
}


def problems(*codes: int) -> dict[int, Any]:
    return dict.fromkeys(codes, Problem)
