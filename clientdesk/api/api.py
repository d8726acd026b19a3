"""The REST API v1: one NinjaAPI, its error handling, and the routers of each resource."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from clientdesk.core.errors import DomainError

from . import change_requests, contacts, customers, events, ledger, notes, webhooks
from .conditional import PreconditionRequiredError
from .context import BearerKey, MissingScopeError, RateLimitedError
from .problems import CONTENT_TYPE as PROBLEM_TYPE
from .problems import from_domain, problem

# Answers any operation may give, whatever its own declaration says: a malformed parameter
# or body (400), no valid key (401), a body over the size limit (413), the rate limit (429).
COMMON_PROBLEMS = {
    400: "Invalid input",
    401: "No valid API key",
    413: "Request body too large",
    429: "Too many requests (see Retry-After)",
}


class ClientdeskAPI(NinjaAPI):
    """Declares error responses as ``application/problem+json``, the type they are sent
    with, and the answers every operation can give (``COMMON_PROBLEMS``)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        problem_ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if operation.get("security"):
                    for code, description in COMMON_PROBLEMS.items():
                        responses.setdefault(
                            code,
                            {
                                "description": description,
                                "content": {"application/json": problem_ref},
                            },
                        )
                for status, response in responses.items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[PROBLEM_TYPE] = content.pop("application/json")
        return schema


api = ClientdeskAPI(
    title=f"{settings.SITE_NAME} API",
    version="1",
    description=(
        "Customers, profiles, contacts, change requests, notes, the ledger and events. "
        "Authenticate with `Authorization: Bearer <API key>`. Updates need `If-Match` with "
        "the resource's `ETag`; POSTs that create things or move money accept "
        "`Idempotency-Key`. Errors are `application/problem+json` with a stable `code`."
    ),
    urls_namespace="api",
    auth=BearerKey(),
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return from_domain(error, precondition=bool(request.headers.get("If-Match")))


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return problem(
        401,
        "unauthenticated",
        "Send a valid API key: Authorization: Bearer cdk_… (revoked and expired keys, and "
        "keys of suspended accounts, no longer work).",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


@api.exception_handler(MissingScopeError)
def missing_scope(request: HttpRequest, error: MissingScopeError) -> HttpResponse:
    return problem(403, "not_allowed", f"This API key does not have the {error.scope} scope.")


@api.exception_handler(RateLimitedError)
def rate_limited(request: HttpRequest, error: RateLimitedError) -> HttpResponse:
    return problem(
        429,
        "rate_limited",
        "Too many requests with this API key. Wait, then try again.",
        headers={"Retry-After": str(error.retry_after)},
    )


@api.exception_handler(PreconditionRequiredError)
def precondition_required(request: HttpRequest, error: Exception) -> HttpResponse:
    return problem(
        428,
        "precondition_required",
        "Send If-Match with the ETag you last read, so a change made meanwhile is not lost.",
    )


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, error: ValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "payload")]
        errors.setdefault(".".join(location) or "body", []).append(str(item.get("msg", "")))
    return problem(400, "invalid", "Some values need correcting.", errors=errors)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code = {404: "not_found", 405: "not_allowed", 413: "too_large"}.get(
        error.status_code, "invalid"
    )
    return problem(error.status_code, code, str(error))


@api.exception_handler(RequestDataTooBig)
def too_large(request: HttpRequest, error: Exception) -> HttpResponse:
    return problem(413, "too_large", "The request body is too large.")


api.add_router("/customers", customers.router)
api.add_router("/customers", contacts.router)
api.add_router("/", change_requests.router)
api.add_router("/", notes.router)
api.add_router("/", ledger.router)
api.add_router("/events", events.router)
api.add_router("/webhook-endpoints", webhooks.router)
