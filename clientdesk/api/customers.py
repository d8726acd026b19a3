"""Customers and their profile sections.

A customer key sees its own customer; a staff key every customer (or the ones it is
limited to). Profile sections follow the field policy exactly as the portal and console
do: a customer key's save applies the ``direct`` fields and turns ``approval`` fields into
a change request (202); a staff key's save applies everything, with a reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema
from pydantic import Field

from clientdesk.change_requests import actions as change_requests
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import actions, display, policy
from clientdesk.customers.models import Customer
from clientdesk.customers.search import search_customers
from clientdesk.customers.sections import jsonable, raw_value, section_etag

from .conditional import if_match
from .context import caller
from .idempotency import idempotent
from .resources import change_request_resource, customer_resource
from .responses import json_response
from .schemas import Body, problems

router = Router(tags=["Customers"])
PAGE_MAX = 100


class CustomerOut(Schema):
    id: str
    display_name: str
    kind: str
    status: str
    country: str
    currency: str
    timezone: str
    language: str
    billing_mode: str
    version: int
    created_at: str
    url: str


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class Owner(Body):
    first_name: str = Field(max_length=150)
    last_name: str = Field(max_length=150)
    email: str = Field(max_length=254)


class CustomerIn(Body):
    display_name: str = Field(max_length=300)
    kind: Literal["business", "individual"] = "business"
    country: str = Field("MY", max_length=2)
    currency: str | None = Field(None, max_length=3)
    timezone: str | None = Field(None, max_length=64)
    language: str = Field("en", max_length=10)
    pricing_model: Literal["standard", "custom"] = "standard"
    price_adjustment_percent: Decimal | None = Field(None, max_digits=5, decimal_places=2)
    billing_mode: Literal["prepaid", "postpaid"] = "prepaid"
    credit_limit: Decimal | None = Field(None, max_digits=12, decimal_places=2)
    registration_number: str = Field("", max_length=50)
    tin: str = Field("", max_length=20)
    owner: Owner | None = None


class SectionOut(Schema):
    customer: str
    section: str
    title: str
    etag: str
    values: dict[str, Any]
    editable: list[str]
    requestable: list[str]


class SectionIn(Body):
    values: dict[str, Any] = Field(
        description="Field name → new value; fields left out keep theirs."
    )
    reason: str = Field("", max_length=1000, description="Staff keys: why (required).")
    note: str = Field("", max_length=2000, description="Customer keys: a note for the approver.")


class ChangeRequestAccepted(Schema):
    section: SectionOut
    change_request: dict[str, Any]


class ListFilters(Schema):
    q: str = Field("", max_length=200, description="Search: name, email, client ID, phone…")
    status: Literal["active", "suspended", "closed"] | None = None
    kind: Literal["business", "individual"] | None = None
    country: str | None = Field(None, max_length=2)
    cursor: str = Field("", max_length=500)
    limit: int = Field(50, ge=1, le=PAGE_MAX)


@router.get("", response={200: CustomerPage, **problems(400, 401, 403, 429)})
def list_customers(request: HttpRequest, filters: Query[ListFilters]) -> HttpResponse:
    """Customers this key may see, by client ID (keyset pages: pass ``next_cursor`` back)."""
    who = caller(request)
    who.require("customers:read")
    visible = who.customers()
    if filters.q.strip():
        page = search_customers(
            filters.q, cursor=filters.cursor, limit=filters.limit, similar=False
        )
        found = {c.pk: c for c in visible.filter(pk__in=[hit.customer.pk for hit in page.hits])}
        items = [found[hit.customer.pk] for hit in page.hits if hit.customer.pk in found]
        # The search runs over every customer; a key that sees only some must not learn from
        # the cursor that other customers matched: one page, no cursor.
        restricted = not who.is_staff or who.key.customers.exists()
        return json_response(
            {
                "items": [customer_resource(c) for c in items],
                "next_cursor": None if restricted else (page.next_cursor or None),
            }
        )
    queryset = visible.order_by("number")
    for name in ("status", "kind"):
        value = getattr(filters, name)
        if value:
            queryset = queryset.filter(**{name: value})
    if filters.country:
        queryset = queryset.filter(country=filters.country.upper())
    if filters.cursor:
        if not filters.cursor.isdecimal() or len(filters.cursor) > 12:
            raise DomainError(ErrorCode.INVALID, "This cursor is not valid.", field="cursor")
        queryset = queryset.filter(number__gt=int(filters.cursor))
    rows = list(queryset[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return json_response(
        {
            "items": [customer_resource(c) for c in rows],
            "next_cursor": str(rows[-1].number) if more else None,
        }
    )


@router.post("", response={201: CustomerOut, **problems(400, 401, 403, 409, 422, 429)})
def create_customer(request: HttpRequest, payload: CustomerIn) -> HttpResponse:
    """Open a customer account (staff keys with ``customers:write``; support or manager).
    With ``owner``, the owner gets a portal invitation. Accepts ``Idempotency-Key``."""
    who = caller(request)
    who.require("customers:write")
    if not who.is_staff:
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff keys can open customer accounts.")

    def run() -> HttpResponse:
        values = payload.model_dump(exclude={"owner"})
        owner = (
            actions.NewOwner(**payload.owner.model_dump(mode="json"))
            if payload.owner is not None
            else None
        )
        customer = actions.create_customer(owner=owner, actor=who.actor, **values)
        return json_response(
            customer_resource(customer),
            status=201,
            etag=customer.version,
            location=reverse("api:get_customer", args=[customer.client_id]),
        )

    return idempotent(request, who, run)


@router.get("/{client_id}", response={200: CustomerOut, **problems(401, 403, 404, 429)})
def get_customer(request: HttpRequest, client_id: str) -> HttpResponse:
    who = caller(request)
    who.require("customers:read")
    customer = who.customer(client_id)
    _check_member(who, customer)
    return json_response(customer_resource(customer), etag=customer.version)


def _check_member(who: Any, customer: Customer) -> policy.Authority:
    """The policy's view of the caller on ``customer`` (a customer key whose maker left
    the account: not found)."""
    return actions.authority_of(who.actor, customer)


def _section(
    customer: Customer, section: policy.Section, authority: policy.Authority
) -> dict[str, Any]:
    accesses = policy.section_access(section, authority, customer)
    values: dict[str, Any] = {}
    for access in accesses:
        if not access.visible:
            continue
        value = jsonable(raw_value(customer, access.field.name))
        if access.field.sensitive and value:
            value = display.mask(str(value))
        values[access.field.name] = value
    return {
        "customer": customer.client_id,
        "section": section.value,
        "title": policy.SECTION_TITLES[section],
        "etag": section_etag(customer, section),
        "values": values,
        "editable": [a.field.name for a in accesses if a.editable],
        "requestable": [a.field.name for a in accesses if a.requestable],
    }


def _section_name(customer: Customer, name: str) -> policy.Section:
    try:
        section = policy.Section(name)
    except ValueError:
        raise DomainError(ErrorCode.NOT_FOUND, "No such profile section.") from None
    if section not in policy.sections_for(customer.kind):
        raise DomainError(ErrorCode.NOT_FOUND, "No such profile section.")
    return section


@router.get(
    "/{client_id}/profile/{section}",
    response={200: SectionOut, **problems(401, 403, 404, 429)},
)
def get_section(request: HttpRequest, client_id: str, section: str) -> HttpResponse:
    """One profile section: the values this key's maker may see, what they may change
    directly (``editable``) and what needs approval (``requestable``)."""
    who = caller(request)
    who.require("customers:read")
    customer = who.customer(client_id)
    authority = _check_member(who, customer)
    chosen = _section_name(customer, section)
    body = _section(customer, chosen, authority)
    return json_response(body, etag=body["etag"])


@router.patch(
    "/{client_id}/profile/{section}",
    response={
        200: SectionOut,
        202: ChangeRequestAccepted,
        **problems(400, 401, 403, 404, 409, 412, 428, 429),
    },
)
def update_section(
    request: HttpRequest, client_id: str, section: str, payload: SectionIn
) -> HttpResponse:
    """Save a section (``If-Match``: its ETag). Customer keys: fields that need approval
    become a change request and the answer is 202 with it. Staff keys: ``reason`` required."""
    who = caller(request)
    who.require("customers:write")
    customer = who.customer(client_id)
    chosen = _section_name(customer, section)
    expected = if_match(request)
    authority = _check_member(who, customer)
    if authority.is_staff:
        update = actions.update_profile_section(
            customer,
            section=chosen,
            values=payload.values,
            actor=who.actor,
            etag=expected,
            reason=payload.reason,
        )
        customer = update.customer
        body = _section(customer, chosen, authority)
        return json_response(body, etag=body["etag"])
    saved = change_requests.save_section(
        customer,
        section=chosen,
        values=payload.values,
        actor=who.actor,
        etag=expected,
        note=payload.note,
    )
    customer.refresh_from_db()
    body = _section(customer, chosen, authority)
    if saved.request is not None:
        return json_response(
            {"section": body, "change_request": change_request_resource(saved.request)},
            status=202,
            etag=body["etag"],
        )
    return json_response(body, etag=body["etag"])
