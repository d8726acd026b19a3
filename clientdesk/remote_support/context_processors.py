"""``login_as`` in every template: the open Login As session, for the banner."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def login_as(request: HttpRequest) -> dict[str, Any]:
    return {"login_as": getattr(request, "login_as", None)}
