"""Webhook endpoints (staff keys of managers, ``webhooks:manage``): list, read, register,
change, switch on or off, and rotate the signing secret — ``webhooks/actions.py``, as the
console's *Staff → Webhooks* pages.

The signing secret is in exactly two answers: the registration (201) and a rotation. A
registration replayed with the same ``Idempotency-Key`` answers ``secret: null`` — the
secret is not kept in the replay store; rotate it if the first answer was lost. A key
limited to some customers cannot manage endpoints: an endpoint may carry every customer's
events.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Header, Query, Router, Schema
from pydantic import Field, StringConstraints

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Customer
from clientdesk.webhooks import actions
from clientdesk.webhooks.models import WebhookEndpoint

from .conditional import if_match_version
from .context import Caller, caller
from .idempotency import idempotent
from .responses import json_response
from .schemas import Body, problems

router = Router(tags=["Webhook endpoints"])
PAGE_MAX = 100
ID_MAX = 2**31
EventPattern = Annotated[str, StringConstraints(max_length=100)]
ClientId = Annotated[str, StringConstraints(max_length=20)]
IF_MATCH = Header(
    None, alias="If-Match", description='Required: the endpoint\'s ETag (its version), e.g. "3".'
)


# --- schemas ---------------------------------------------------------------------------------


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    target: str = Field(description='The system it feeds, e.g. "Billing", "cPanel", "WHOIS".')
    event_types: list[str] = Field(description="Types or families (`contact.*`); [] = all.")
    customers: list[str] = Field(description="Client IDs it is limited to; [] = every one.")
    is_active: bool
    disabled_reason: str
    secret_hint: str
    version: int
    created_at: str
    failing_since: str | None
    previous_secret_valid_until: str | None = Field(
        description="After a rotation: deliveries are also signed with the old secret until then."
    )
    href: str = Field(description="This endpoint in the API.")


class EndpointCreated(EndpointOut):
    secret: str | None = Field(
        description="The signing secret, shown this once (null in a replayed answer)."
    )


class EndpointRotated(EndpointOut):
    secret: str = Field(description="The new signing secret, shown this once.")


class EndpointPage(Schema):
    items: list[EndpointOut]
    next_cursor: str | None


class EndpointIn(Body):
    url: str = Field(max_length=2000, description="HTTPS; never a private or local address.")
    target: str = Field(max_length=100)
    description: str = Field("", max_length=1000)
    event_types: list[EventPattern] = Field(default_factory=list, max_length=200)
    customers: list[ClientId] = Field(default_factory=list, max_length=1000)


class EndpointChange(Body):
    url: str | None = Field(None, max_length=2000)
    target: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=1000)
    event_types: list[EventPattern] | None = Field(None, max_length=200)
    customers: list[ClientId] | None = Field(None, max_length=1000)


class ActiveIn(Body):
    active: bool
    reason: str = Field("", max_length=300, description="Why it is switched off.")


class PageQuery(Schema):
    cursor: str = Field("", max_length=20)
    limit: int = Field(50, ge=1, le=PAGE_MAX)


# --- access and resources --------------------------------------------------------------------


def _manager(who: Caller) -> None:
    who.require("webhooks:manage")
    if not who.is_staff or not actions.may_manage_webhooks(who.actor.user):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only managers manage webhook endpoints.")
    if who.key.customers.exists():
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "This key is limited to some customers; webhook endpoints may carry every "
            "customer's events. Use a key without that limit.",
        )


def _endpoints() -> QuerySet[WebhookEndpoint]:
    customers = Prefetch("customers", queryset=Customer.objects.only("pk", "number"))
    return WebhookEndpoint.objects.prefetch_related(customers)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    found = _endpoints().filter(pk=endpoint_id if 0 < endpoint_id < ID_MAX else 0).first()
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such webhook endpoint.")
    return found


def endpoint_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """``webhooks.actions.endpoint_resource`` plus what an API reader needs; the customers
    come from a prefetch (one query for a whole page). Never the secret."""
    customers = sorted(endpoint.customers.all(), key=lambda customer: customer.number)
    grace = endpoint.previous_secret_expires_at
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "target": endpoint.target,
        "event_types": list(endpoint.event_types),
        "customers": [customer.client_id for customer in customers],
        "is_active": endpoint.is_active,
        "disabled_reason": endpoint.disabled_reason,
        "secret_hint": endpoint.secret_hint,
        "version": endpoint.version,
        "created_at": endpoint.created_at.isoformat(),
        "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
        "previous_secret_valid_until": (
            grace.isoformat() if grace is not None and grace > timezone.now() else None
        ),
        "href": reverse("api:get_webhook_endpoint", args=[endpoint.pk]),
    }


def _fresh(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return endpoint_out(_endpoint(endpoint.pk))


def _check_version(endpoint: WebhookEndpoint, version: int) -> None:
    if endpoint.version != version:
        raise DomainError(
            ErrorCode.STALE_VERSION, "Someone else changed this endpoint meanwhile. Reload it."
        )


# --- routes ----------------------------------------------------------------------------------


@router.get("", response={200: EndpointPage, **problems(400, 401, 403, 429)})
def list_webhook_endpoints(request: HttpRequest, page: Query[PageQuery]) -> HttpResponse:
    """Every endpoint, by id (keyset pages: pass ``next_cursor``)."""
    who = caller(request)
    _manager(who)
    rows = _endpoints().order_by("id")
    if page.cursor:
        if not page.cursor.isdecimal() or not 0 < int(page.cursor) < ID_MAX:
            raise DomainError(ErrorCode.INVALID, "This cursor is not valid.", field="cursor")
        rows = rows.filter(id__gt=int(page.cursor))
    fetched = list(rows[: page.limit + 1])
    more = len(fetched) > page.limit
    fetched = fetched[: page.limit]
    return json_response(
        {
            "items": [endpoint_out(endpoint) for endpoint in fetched],
            "next_cursor": str(fetched[-1].pk) if more else None,
        }
    )


@router.post("", response={201: EndpointCreated, **problems(400, 401, 403, 409, 422, 429)})
def create_webhook_endpoint(
    request: HttpRequest,
    payload: EndpointIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        description="Retry safely: a replay answers with the endpoint, `secret: null`.",
    ),
) -> HttpResponse:
    """Register an endpoint; the answer holds its signing secret, shown this once. The URL
    is checked (HTTPS, a public address). Accepts ``Idempotency-Key``."""
    who = caller(request)
    _manager(who)
    shown: dict[str, Any] = {}

    def run() -> HttpResponse:
        endpoint, secret = actions.create_endpoint(
            actor=who.actor,
            url=payload.url,
            target=payload.target,
            description=payload.description,
            event_types=payload.event_types,
            customers=payload.customers,
        )
        body = _fresh(endpoint)
        shown.update(body=body, secret=secret, version=endpoint.version)
        # What the replay store keeps: everything but the secret.
        return json_response(
            {**body, "secret": None}, status=201, etag=endpoint.version, location=body["href"]
        )

    response = idempotent(request, who, run)
    if shown and response.status_code == 201 and not response.has_header("Idempotent-Replayed"):
        body = shown["body"]
        return json_response(
            {**body, "secret": shown["secret"]},
            status=201,
            etag=shown["version"],
            location=body["href"],
        )
    return response


@router.get("/{endpoint_id}", response={200: EndpointOut, **problems(400, 401, 403, 404, 429)})
def get_webhook_endpoint(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """One endpoint (its ``ETag`` is its version)."""
    who = caller(request)
    _manager(who)
    endpoint = _endpoint(endpoint_id)
    return json_response(endpoint_out(endpoint), etag=endpoint.version)


@router.patch(
    "/{endpoint_id}",
    response={200: EndpointOut, **problems(400, 401, 403, 404, 409, 412, 428, 429)},
)
def update_webhook_endpoint(
    request: HttpRequest,
    endpoint_id: int,
    payload: EndpointChange,
    if_match_header: str | None = IF_MATCH,
) -> HttpResponse:
    """Change the URL, target, description, event types or customers (``If-Match``: its
    ETag). Fields left out keep their value."""
    who = caller(request)
    _manager(who)
    endpoint = _endpoint(endpoint_id)
    version = if_match_version(request)
    values = payload.model_dump(exclude_unset=True)
    if any(value is None for value in values.values()):
        raise DomainError(ErrorCode.INVALID, "Leave a field out instead of sending null.")
    current = endpoint_out(endpoint)
    merged = {
        name: values.get(name, current[name])
        for name in ("url", "target", "description", "event_types", "customers")
    }
    updated = actions.update_endpoint(actor=who.actor, endpoint=endpoint, version=version, **merged)
    return json_response(_fresh(updated), etag=updated.version)


@router.put(
    "/{endpoint_id}/active",
    response={200: EndpointOut, **problems(400, 401, 403, 404, 409, 412, 428, 429)},
)
def set_webhook_endpoint_active(
    request: HttpRequest,
    endpoint_id: int,
    payload: ActiveIn,
    if_match_header: str | None = IF_MATCH,
) -> HttpResponse:
    """Switch an endpoint on (its failure streak is forgotten; waiting deliveries go out)
    or off (``If-Match``: its ETag). Already so: nothing changes."""
    who = caller(request)
    _manager(who)
    endpoint = _endpoint(endpoint_id)
    version = if_match_version(request)
    _check_version(endpoint, version)
    updated = actions.set_endpoint_active(
        actor=who.actor,
        endpoint=endpoint,
        active=payload.active,
        reason=payload.reason,
        version=version,  # compared again under the row lock
    )
    return json_response(_fresh(updated), etag=updated.version)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response={200: EndpointRotated, **problems(400, 401, 403, 404, 409, 412, 428, 429)},
)
def rotate_webhook_secret(
    request: HttpRequest, endpoint_id: int, if_match_header: str | None = IF_MATCH
) -> HttpResponse:
    """Replace the signing secret; the answer holds the new one, shown this once. For 24
    hours deliveries carry signatures with both secrets, so the receiver can switch.
    ``If-Match`` (its ETag) is required: a retried rotation must not replace the secret a
    second time (412 instead)."""
    who = caller(request)
    _manager(who)
    endpoint = _endpoint(endpoint_id)
    version = if_match_version(request)
    _check_version(endpoint, version)
    rotated, secret = actions.rotate_secret(actor=who.actor, endpoint=endpoint, version=version)
    return json_response({**_fresh(rotated), "secret": secret}, etag=rotated.version)
