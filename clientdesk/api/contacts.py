"""A customer's contacts: list, read, add, change, remove, and portal access on/off
(switching it on sends the invitation). Same rules as the portal's Contacts page."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema
from pydantic import Field

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import contact_actions, contact_rules
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.resources import contact_resource

from .conditional import if_match_version
from .context import Caller, caller
from .idempotency import idempotent
from .responses import json_response
from .schemas import Body, problems

router = Router(tags=["Contacts"])
PAGE_MAX = 100
Role = Literal["owner", "admin", "billing", "technical", "member"]


class ContactOut(Schema):
    id: int
    customer: str
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    role: str
    notification_topics: list[str]
    portal_access: bool
    has_login: bool
    version: int


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ContactIn(Body):
    first_name: str = Field(max_length=150)
    last_name: str = Field("", max_length=150)
    email: str = Field(max_length=254)
    phone: str = Field("", max_length=40)
    job_title: str = Field("", max_length=150)
    role: Role = "member"
    notification_topics: list[str] | None = Field(None, max_length=10)
    portal_access: bool = False


class ContactChange(Body):
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    job_title: str | None = Field(None, max_length=150)
    role: Role | None = None
    notification_topics: list[str] | None = Field(None, max_length=10)


class PortalAccess(Body):
    enabled: bool
    reason: str = Field("", max_length=500)


class PageQuery(Schema):
    cursor: str = Field("", max_length=20)
    limit: int = Field(50, ge=1, le=PAGE_MAX)


def _customer(who: Caller, client_id: str) -> Customer:
    who.require("contacts:read")
    customer = who.customer(client_id)
    contact_rules.contact_actor(who.actor, customer)  # not a member of it: 404
    return customer


def _contact(customer: Customer, contact_id: int) -> Contact:
    contact = (
        Contact.objects.filter(customer=customer, pk=contact_id).select_related("customer").first()
    )
    if contact is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such contact.")
    return contact


def _respond(contact: Contact, *, status: int = 200) -> HttpResponse:
    location = reverse("api:get_contact", args=[contact.customer.client_id, contact.pk])
    return json_response(
        contact_resource(contact),
        status=status,
        etag=contact.version,
        location=location if status == 201 else None,
    )


@router.get(
    "/{client_id}/contacts", response={200: ContactPage, **problems(400, 401, 403, 404, 429)}
)
def list_contacts(request: HttpRequest, client_id: str, page: Query[PageQuery]) -> HttpResponse:
    who = caller(request)
    customer = _customer(who, client_id)
    queryset = Contact.objects.filter(customer=customer).select_related("customer").order_by("pk")
    if page.cursor:
        if not page.cursor.isdecimal():
            raise DomainError(ErrorCode.INVALID, "This cursor is not valid.", field="cursor")
        queryset = queryset.filter(pk__gt=int(page.cursor))
    rows = list(queryset[: page.limit + 1])
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return json_response(
        {
            "items": [contact_resource(contact) for contact in rows],
            "next_cursor": str(rows[-1].pk) if more else None,
        }
    )


@router.post(
    "/{client_id}/contacts",
    response={201: ContactOut, **problems(400, 401, 403, 404, 409, 422, 429)},
)
def create_contact(request: HttpRequest, client_id: str, payload: ContactIn) -> HttpResponse:
    """Add a contact; with ``portal_access`` the person is invited at once. Accepts
    ``Idempotency-Key``."""
    who = caller(request)
    who.require("contacts:write")
    customer = _customer(who, client_id)

    def run() -> HttpResponse:
        values = payload.model_dump(mode="json", exclude_none=True)
        contact = contact_actions.create_contact(customer, values=values, actor=who.actor)
        return _respond(contact, status=201)

    return idempotent(request, who, run)


@router.get(
    "/{client_id}/contacts/{contact_id}", response={200: ContactOut, **problems(401, 403, 404, 429)}
)
def get_contact(request: HttpRequest, client_id: str, contact_id: int) -> HttpResponse:
    who = caller(request)
    return _respond(_contact(_customer(who, client_id), contact_id))


@router.patch(
    "/{client_id}/contacts/{contact_id}",
    response={200: ContactOut, **problems(400, 401, 403, 404, 409, 412, 428, 429)},
)
def update_contact(
    request: HttpRequest, client_id: str, contact_id: int, payload: ContactChange
) -> HttpResponse:
    """Change a contact (``If-Match``: its ETag). Fields left out keep their value."""
    who = caller(request)
    who.require("contacts:write")
    contact = _contact(_customer(who, client_id), contact_id)
    version = if_match_version(request)
    values = payload.model_dump(mode="json", exclude_unset=True)
    if any(value is None for value in values.values()):
        raise DomainError(ErrorCode.INVALID, "Leave a field out instead of sending null.")
    if not values:  # nothing to change: still say whether the ETag is current
        if version != contact.version:
            raise DomainError(ErrorCode.STALE_VERSION, "This contact changed meanwhile.")
        return _respond(contact)
    # One action, the version compared under the row lock (role included).
    contact = contact_actions.update_contact(
        contact, values=values, actor=who.actor, version=version
    )
    return _respond(contact)


@router.delete(
    "/{client_id}/contacts/{contact_id}",
    response={204: None, **problems(401, 403, 404, 409, 412, 428, 429)},
)
def delete_contact(request: HttpRequest, client_id: str, contact_id: int) -> HttpResponse:
    """Remove a contact (``If-Match``: its ETag)."""
    who = caller(request)
    who.require("contacts:write")
    contact = _contact(_customer(who, client_id), contact_id)
    contact_actions.delete_contact(contact, actor=who.actor, version=if_match_version(request))
    return HttpResponse(status=204)


@router.put(
    "/{client_id}/contacts/{contact_id}/portal-access",
    response={200: ContactOut, **problems(400, 401, 403, 404, 409, 412, 428, 429)},
)
def set_portal_access(
    request: HttpRequest, client_id: str, contact_id: int, payload: PortalAccess
) -> HttpResponse:
    """Switch portal access on (an invitation is emailed) or off (``If-Match``: its ETag)."""
    who = caller(request)
    who.require("contacts:write")
    contact = _contact(_customer(who, client_id), contact_id)
    version = if_match_version(request)
    if payload.enabled:
        contact = contact_actions.grant_portal_access(contact, actor=who.actor, version=version)
    else:
        contact = contact_actions.revoke_portal_access(
            contact, actor=who.actor, reason=payload.reason, version=version
        )
    return _respond(contact)
