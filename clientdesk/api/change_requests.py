"""Change requests: a customer's requests, one with its thread, submitting, commenting,
cancelling, and the staff decision (approve, possibly in part, or reject).

The same actions as the portal and the console (``change_requests/actions.py``), so the
same rules: a customer key sees the requests of the kinds its maker's role may see
(``actions.may_see``) — anything else is 404, as in the portal; staff speak as the
provider in the thread a customer key reads (the portal's wording); only managers decide.
"""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Header, Query, Router, Schema
from pydantic import Field

from clientdesk.change_requests import actions, queries
from clientdesk.change_requests.models import (
    OPEN_STATUSES,
    ChangeRequest,
    Kind,
    Message,
    Status,
    parse_reference,
)
from clientdesk.change_requests.values import current_values, moved_since_submission
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.actions import authority_of
from clientdesk.customers.models import Customer
from clientdesk.customers.policy import Authority
from clientdesk.customers.sections import section_etag
from clientdesk.users.roles import MANAGER, SUPPORT, has_staff_role

from .context import Caller, caller
from .idempotency import idempotent
from .responses import json_response
from .schemas import Body, problems

router = Router(tags=["Change requests"])
PAGE_MAX = 100
THREAD_MAX = 500  # the newest messages of a thread, oldest first
CURSOR_MAX = 2**62
# Staff who may withdraw a request on the customer's behalf (as in the console).
STAFF_CANCELLERS = (SUPPORT, MANAGER)

KindName = Literal[
    "personal",
    "business",
    "einvoice",
    "contact",
    "legal",
    "billing",
    "preferences",
    "primary_email",
]
StatusFilter = Literal[
    "open", "awaiting_customer", "approved", "partly_approved", "rejected", "cancelled", "all"
]
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    description="Send the same key again to retry safely: the first answer is replayed.",
)


# --- schemas ---------------------------------------------------------------------------------


class MessageOut(Schema):
    id: int
    from_staff: bool
    author: str = Field(description="Customer keys read staff messages as the provider's.")
    body: str
    created_at: str


class ChangeRequestOut(Schema):
    id: str = Field(description='The reference, e.g. "CR-000123".')
    number: int
    customer: str
    kind: str
    title: str
    status: str
    requested: dict[str, Any] = Field(description="Field → the value asked for.")
    current: dict[str, Any] = Field(
        description="Field → the value when the request was sent (for the requested fields; "
        "staff keys: the whole section)."
    )
    note: str
    approved_fields: list[str]
    rejected_fields: list[str]
    decision_reason: str
    submitted_by: str
    submitted_source: str
    decided_by: str | None
    created_at: str
    updated_at: str
    decided_at: str | None
    url: str
    # Staff keys only (null for customer keys): what a reviewer needs before approving.
    section_now: dict[str, Any] | None = Field(
        None, description="Staff keys, open requests: the section's values now."
    )
    moved_fields: list[str] | None = Field(
        None, description="Staff keys, open requests: fields changed since it was sent."
    )
    section_etag: str | None = Field(
        None,
        description="Staff keys, open requests: send as `reviewed_etag` when approving a "
        "request whose section moved since it was sent.",
    )


class ChangeRequestDetail(ChangeRequestOut):
    messages: list[MessageOut]
    messages_truncated: bool = Field(
        description=f"True when only the newest {THREAD_MAX} messages are shown."
    )


class ChangeRequestPage(Schema):
    items: list[ChangeRequestOut]
    next_cursor: str | None


class CommentOut(Schema):
    message: MessageOut
    change_request: ChangeRequestDetail


class ListFilters(Schema):
    status: StatusFilter = Field(
        "all", description="`open`: open or awaiting the customer; `all`: any status."
    )
    kind: KindName | None = None
    cursor: str = Field("", max_length=20)
    limit: int = Field(50, ge=1, le=PAGE_MAX)


class SubmitIn(Body):
    kind: KindName = Field(description="The profile section, or `primary_email`.")
    values: dict[str, Any] = Field(description="Field → the value asked for.")
    note: str = Field("", max_length=5000, description="What the approver should know.")


class CommentIn(Body):
    message: str = Field(max_length=5000)
    awaiting_reply: bool = Field(
        True,
        description="Staff keys: the request waits for the customer's answer. Ignored for "
        "customer keys (their message reopens the request).",
    )


class ApproveIn(Body):
    fields: list[str] | None = Field(
        None,
        max_length=100,
        description="Apply only these fields (the rest are rejected, which needs a reason). "
        "Leave out to apply everything asked for.",
    )
    reason: str = Field("", max_length=1000)
    reviewed_etag: str | None = Field(
        None,
        max_length=64,
        description="The `section_etag` you reviewed; needed when the section changed "
        "after the request was sent.",
    )


class RejectIn(Body):
    reason: str = Field(max_length=1000)


# --- lookups and resources -------------------------------------------------------------------


def _customer(who: Caller, client_id: str) -> tuple[Customer, Authority]:
    customer = who.customer(client_id)
    return customer, authority_of(who.actor, customer)  # not a member (any more): 404


def _visible_kinds(authority: Authority) -> list[str] | None:
    """The kinds a customer key may see (None: a staff key sees every kind)."""
    if authority.is_staff:
        return None
    kinds = queries.visible_kinds(authority.role or "")
    if not kinds:
        raise DomainError(
            ErrorCode.NOT_ALLOWED, "Your role on this account does not include change requests."
        )
    return kinds


def _request(customer: Customer, authority: Authority, reference: str) -> ChangeRequest:
    number = parse_reference(reference)
    rows = ChangeRequest.objects.filter(customer=customer, number=number or 0)
    kinds = _visible_kinds(authority)
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    found = (
        rows.select_related("customer", "decided_by", "submitted_by").first() if number else None
    )
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such change request.")
    return found


def _provider() -> str:
    return str(settings.SITE_NAME)


def message_resource(message: Message, *, staff: bool) -> dict[str, Any]:
    shown_as_provider = message.from_staff and not staff
    return {
        "id": message.pk,
        "from_staff": message.from_staff,
        "author": _provider() if shown_as_provider else message.author_label,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }


def request_resource(change: ChangeRequest, *, staff: bool) -> dict[str, Any]:
    """A change request as the API shows it to a staff key (``staff``) or a customer key."""
    customer = change.customer
    if staff:
        current = dict(change.snapshot)
        submitted_by = change.submitted_by_label
        decided_by = str(change.decided_by) if change.decided_by is not None else None
    else:
        current = {name: change.snapshot.get(name) for name in change.requested}
        # Raised by staff (in the console or with a staff API key): the provider asked.
        submitter = change.submitted_by
        from_staff = submitter is not None and submitter.is_staff
        submitted_by = _provider() if from_staff else change.submitted_by_label
        decided_by = _provider() if change.decided_by_id is not None else None
    body: dict[str, Any] = {
        "id": change.reference,
        "number": change.number,
        "customer": customer.client_id,
        "kind": change.kind,
        "title": change.title,
        "status": change.status,
        "requested": change.requested,
        "current": current,
        "note": change.note,
        "approved_fields": list(change.approved_fields or []),
        "rejected_fields": list(change.rejected_fields or []),
        "decision_reason": change.decision_reason,
        "submitted_by": submitted_by,
        "submitted_source": change.submitted_source,
        "decided_by": decided_by,
        "created_at": change.created_at.isoformat(),
        "updated_at": change.updated_at.isoformat(),
        "decided_at": change.decided_at.isoformat() if change.decided_at else None,
        "url": reverse("api:get_change_request", args=[customer.client_id, change.reference]),
        "section_now": None,
        "moved_fields": None,
        "section_etag": None,
    }
    if staff and change.is_open:
        body["section_now"] = current_values(customer, change.kind)
        body["moved_fields"] = moved_since_submission(change, customer)
        if change.section is not None:
            body["section_etag"] = section_etag(customer, change.section)
    return body


def _etag(change: ChangeRequest) -> str:
    return str(int(change.updated_at.timestamp() * 1_000_000))


def _detail(change: ChangeRequest, *, staff: bool) -> dict[str, Any]:
    newest = list(change.messages.order_by("-id")[: THREAD_MAX + 1])
    truncated = len(newest) > THREAD_MAX
    thread = reversed(newest[:THREAD_MAX])
    return {
        **request_resource(change, staff=staff),
        "messages": [message_resource(m, staff=staff) for m in thread],
        "messages_truncated": truncated,
    }


def _respond(change: ChangeRequest, *, staff: bool, status: int = 200) -> HttpResponse:
    url = reverse("api:get_change_request", args=[change.customer.client_id, change.reference])
    return json_response(
        _detail(change, staff=staff),
        status=status,
        etag=_etag(change),
        location=url if status == 201 else None,
    )


def _reloaded(change: ChangeRequest, customer: Customer) -> ChangeRequest:
    fresh = ChangeRequest.objects.select_related("decided_by", "submitted_by").get(pk=change.pk)
    fresh.customer = customer
    return fresh


# --- routes ----------------------------------------------------------------------------------


@router.get(
    "/customers/{client_id}/change-requests",
    response={200: ChangeRequestPage, **problems(400, 401, 403, 404, 429)},
)
def list_change_requests(
    request: HttpRequest, client_id: str, filters: Query[ListFilters]
) -> HttpResponse:
    """The customer's change requests, newest first (keyset pages: pass ``next_cursor``)."""
    who = caller(request)
    who.require("change_requests:read")
    customer, authority = _customer(who, client_id)
    rows = ChangeRequest.objects.filter(customer=customer)
    kinds = _visible_kinds(authority)
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    if filters.status == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif filters.status != "all":
        rows = rows.filter(status=Status(filters.status))
    if filters.kind:
        rows = rows.filter(kind=Kind(filters.kind))
    if filters.cursor:
        if not filters.cursor.isdecimal() or not 0 < int(filters.cursor) < CURSOR_MAX:
            raise DomainError(ErrorCode.INVALID, "This cursor is not valid.", field="cursor")
        rows = rows.filter(id__lt=int(filters.cursor))
    page = list(
        rows.select_related("decided_by", "submitted_by").order_by("-id")[: filters.limit + 1]
    )
    more = len(page) > filters.limit
    page = page[: filters.limit]
    for change in page:
        change.customer = customer
    return json_response(
        {
            "items": [request_resource(c, staff=authority.is_staff) for c in page],
            "next_cursor": str(page[-1].pk) if more else None,
        }
    )


@router.post(
    "/customers/{client_id}/change-requests",
    response={201: ChangeRequestDetail, **problems(400, 401, 403, 404, 409, 422, 429)},
)
def submit_change_request(
    request: HttpRequest,
    client_id: str,
    payload: SubmitIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """Ask for a change of fields that need approval (or, ``primary_email``, of the login
    email). Nothing else changes; the approvers are told. One open request per kind (409).
    Staff keys ask on the customer's behalf. Accepts ``Idempotency-Key``."""
    who = caller(request)
    who.require("change_requests:write")
    customer, authority = _customer(who, client_id)

    def run() -> HttpResponse:
        change = actions.submit_change_request(
            customer, kind=payload.kind, values=payload.values, note=payload.note, actor=who.actor
        )
        return _respond(_reloaded(change, customer), staff=authority.is_staff, status=201)

    return idempotent(request, who, run)


@router.get(
    "/customers/{client_id}/change-requests/{reference}",
    response={200: ChangeRequestDetail, **problems(401, 403, 404, 429)},
)
def get_change_request(request: HttpRequest, client_id: str, reference: str) -> HttpResponse:
    """One request (``CR-000123``, or its number) with its thread, oldest message first."""
    who = caller(request)
    who.require("change_requests:read")
    customer, authority = _customer(who, client_id)
    change = _request(customer, authority, reference)
    return _respond(change, staff=authority.is_staff)


@router.post(
    "/customers/{client_id}/change-requests/{reference}/messages",
    response={201: CommentOut, **problems(400, 401, 403, 404, 409, 422, 429)},
)
def comment_on_change_request(
    request: HttpRequest,
    client_id: str,
    reference: str,
    payload: CommentIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """Write in the request's thread; the other side is emailed. A staff question sets the
    request to *awaiting customer*; the customer's answer sets it back to *open*. A decided
    or cancelled request takes no more messages (409). Accepts ``Idempotency-Key``."""
    who = caller(request)
    who.require("change_requests:write")
    customer, authority = _customer(who, client_id)
    change = _request(customer, authority, reference)

    def run() -> HttpResponse:
        message = actions.comment_on_change_request(
            change,
            body=payload.message,
            actor=who.actor,
            awaiting_reply=payload.awaiting_reply,
        )
        fresh = _reloaded(change, customer)
        return json_response(
            {
                "message": message_resource(message, staff=authority.is_staff),
                "change_request": _detail(fresh, staff=authority.is_staff),
            },
            status=201,
            etag=_etag(fresh),
            location=reverse("api:get_change_request", args=[customer.client_id, fresh.reference]),
        )

    return idempotent(request, who, run)


@router.post(
    "/customers/{client_id}/change-requests/{reference}/cancel",
    response={200: ChangeRequestDetail, **problems(401, 403, 404, 409, 429)},
)
def cancel_change_request(request: HttpRequest, client_id: str, reference: str) -> HttpResponse:
    """Withdraw an open request; then a new one may be raised. Cancelling a cancelled
    request changes nothing; a decided one cannot be cancelled (409). Staff keys: support
    or managers (the customer asked by phone)."""
    who = caller(request)
    who.require("change_requests:write")
    customer, authority = _customer(who, client_id)
    change = _request(customer, authority, reference)
    if authority.is_staff and not has_staff_role(who.actor.user, *STAFF_CANCELLERS):
        raise DomainError(
            ErrorCode.NOT_ALLOWED, "Only support and managers withdraw a customer's request."
        )
    actions.cancel_change_request(change, actor=who.actor)
    return _respond(_reloaded(change, customer), staff=authority.is_staff)


@router.post(
    "/customers/{client_id}/change-requests/{reference}/approve",
    response={200: ChangeRequestDetail, **problems(400, 401, 403, 404, 409, 412, 429)},
)
def approve_change_request(
    request: HttpRequest, client_id: str, reference: str, payload: ApproveIn
) -> HttpResponse:
    """Apply the requested values — all, or only ``fields`` (the others are rejected, with a
    ``reason``). Staff keys of managers, never the one who raised it. When the section
    changed since the request was sent, send the ``section_etag`` you reviewed as
    ``reviewed_etag`` (else 409). Approving an approved request again changes nothing."""
    who = caller(request)
    customer, authority = _customer(who, client_id)  # another customer's key: 404 first
    who.require("change_requests:decide")
    change = _request(customer, authority, reference)
    # The action knows a staff submitter by ``submitted_source == "staff"``; one raised with a
    # staff API key says "api", so the four-eyes rule is checked here too.
    if authority.is_staff and change.submitted_by_id == getattr(who.actor.user, "pk", None):
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "You raised this request on the customer's behalf; another manager must approve it.",
        )
    actions.approve_change_request(
        change,
        actor=who.actor,
        fields=payload.fields,
        reason=payload.reason,
        reviewed_etag=payload.reviewed_etag,
    )
    return _respond(_reloaded(change, customer), staff=authority.is_staff)


@router.post(
    "/customers/{client_id}/change-requests/{reference}/reject",
    response={200: ChangeRequestDetail, **problems(400, 401, 403, 404, 409, 429)},
)
def reject_change_request(
    request: HttpRequest, client_id: str, reference: str, payload: RejectIn
) -> HttpResponse:
    """Turn the request down with a reason the customer is emailed. Staff keys of managers.
    Rejecting a rejected request again changes nothing."""
    who = caller(request)
    customer, authority = _customer(who, client_id)  # another customer's key: 404 first
    who.require("change_requests:decide")
    change = _request(customer, authority, reference)
    actions.reject_change_request(change, reason=payload.reason, actor=who.actor)
    return _respond(_reloaded(change, customer), staff=authority.is_staff)
