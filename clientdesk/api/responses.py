"""JSON responses with the headers the API promises (ETag, Location)."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from .conditional import etag as quote


def json_response(
    data: Any, *, status: int = 200, etag: str | int | None = None, location: str | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )
    if etag is not None:
        response["ETag"] = quote(etag)
    if location is not None:
        response["Location"] = location
    return response
