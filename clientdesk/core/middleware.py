"""Request plumbing shared by every interface: request id, actor, private-page caching."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control

from .actor import Actor
from .logging import current_request_id

logger = logging.getLogger("clientdesk.request")

# An incoming X-Request-ID is kept only if it looks like an id, so logs cannot be forged.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Gives each request an id (kept from a sane X-Request-ID), logs one line per request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            current_request_id.reset(token)


class ActorMiddleware:
    """Builds ``request.actor`` once, after authentication, for views to hand to actions."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = Actor.from_request(request)  # type: ignore[attr-defined]
        return self.get_response(request)


class PrivatePagesMiddleware:
    """Pages shown to a signed-in user are never stored by browsers or shared caches."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response
