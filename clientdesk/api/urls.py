"""``/api/v1/``: the API, its OpenAPI document (``openapi.json``) and docs page (``docs``).

Errors under ``/api/`` are problem+json too: a method an operation lacks (405), a path that
is no operation (404) — a program never has to parse an HTML error page."""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path

from .api import api
from .problems import CONTENT_TYPE, problem


def _problem_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)  # keeps csrf_exempt
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != CONTENT_TYPE:
            allowed = response.get("Allow", "")
            return problem(
                405,
                "method_not_allowed",
                f"This operation does not accept {request.method}; it accepts {allowed}.",
                headers={"Allow": allowed},
            )
        return response

    return wrapped


def unknown_operation(request: HttpRequest, rest: str = "") -> HttpResponse:
    return problem(404, "not_found", "There is no such API operation: see /api/v1/docs.")


# Not module-level ``app_name``: include() would read it as this module's namespace.
_patterns, _app, _namespace = api.urls
for pattern in _patterns:
    if isinstance(pattern, URLPattern):
        pattern.callback = _problem_405(pattern.callback)

urlpatterns = [
    path("api/v1/", (_patterns, _app, _namespace)),
    re_path(r"^api/(?P<rest>.*)$", unknown_operation, name="api-unknown"),
]
