"""The ledger: a customer's balance, their entries, and posting (staff keys of the billing
group). Amounts are strings (``"12.50"``) both ways, never JSON numbers: a float cannot
hold every amount exactly, so a number in a request is refused with a message saying so.

Posting moves money, so it needs ``Idempotency-Key``: the key is the ledger's own
idempotency key (``ledger.actions.post_entry``), the one the staff billing page uses, kept
per customer for good — the same key and body is answered with the first posting, even
after the API's 24-hour replay window, and the same key with another body is refused (422).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Header, Query, Router, Schema
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.actions import authority_of
from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Capability, has_capability
from clientdesk.ledger import actions, queries
from clientdesk.ledger.actions import Posting
from clientdesk.ledger.models import Entry
from clientdesk.web.ledger import EARLIEST, LATEST, customer_zone, reversing_entry_id

from .context import Caller, caller
from .idempotency import idempotent
from .problems import problem
from .responses import json_response
from .schemas import Body, problems

router = Router(tags=["Ledger"])
PAGE_MAX = 100
ID_MAX = 2**62
EntryKind = Literal["top_up", "charge", "withdrawal", "debt_payment", "adjustment", "reversal"]
PostableKind = Literal["top_up", "charge", "withdrawal", "debt_payment", "adjustment"]
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    description="Required: the posting's key (1–100 characters). The same key and body "
    "returns the first posting; the same key with another body is refused.",
)


# --- schemas ---------------------------------------------------------------------------------


class BalanceOut(Schema):
    customer: str
    currency: str
    balance: str = Field(description='Credits minus debts, e.g. "-20.00".')
    credits: str
    debt: str
    available: str = Field(description="What can still be charged.")
    billing_mode: str
    credit_limit: str | None
    entry_count: int


class EntryOut(Schema):
    id: int
    customer: str
    kind: str
    kind_label: str
    amount: str = Field(description="Signed from the customer's side: positive adds credit.")
    currency: str
    balance_after: str
    description: str
    external_reference: str
    idempotency_key: str
    reverses: int | None
    reversed_by: int | None
    created_at: str
    url: str
    # Staff keys only (null for customer keys).
    reason: str | None = None
    actor: str | None = None
    source: str | None = None


class EntryPage(Schema):
    items: list[EntryOut]
    next_cursor: str | None


class EntryFilters(Schema):
    kind: EntryKind | None = None
    since: date | None = Field(None, description="From this day (the customer's time zone).")
    until: date | None = Field(None, description="Up to and including this day.")
    cursor: str = Field("", max_length=20, description="`next_cursor` of the previous page.")
    limit: int = Field(25, ge=1, le=PAGE_MAX)


def _text_amount(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "amount_text",
            'Send the amount as a string, such as "12.50": JSON numbers are not exact.',
        )
    return value


class EntryIn(Body):
    kind: PostableKind
    amount: str = Field(
        max_length=40,
        description='Positive, as a string ("12.50"); the kind gives the sign.',
        examples=["12.50"],
    )
    direction: Literal["credit", "debit"] | None = Field(
        None, description="Adjustments only: whether it credits or debits the account."
    )
    description: str = Field(max_length=1000, description="The customer reads it.")
    external_reference: str = Field("", max_length=200)
    reason: str = Field("", max_length=1000, description="Required for adjustments.")

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_is_text(cls, value: Any) -> Any:
        return _text_amount(value)


class ReverseIn(Body):
    reason: str = Field(max_length=1000, description="Why the entry is reversed.")


# --- lookups and resources -------------------------------------------------------------------


def _customer(who: Caller, client_id: str) -> Customer:
    """A visible customer; a customer key's maker must see billing there (owner, admin or
    billing role — the portal's Billing & credits page)."""
    customer = who.customer(client_id)
    authority = authority_of(who.actor, customer)
    if authority.is_customer and not has_capability(authority.role or "", Capability.VIEW_BILLING):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Your role on this account does not see billing.")
    return customer


def _poster(who: Caller, client_id: str) -> Customer:
    customer = who.customer(client_id)  # another customer's key: 404 before anything else
    who.require("ledger:write")
    if not who.is_staff:
        raise DomainError(ErrorCode.NOT_ALLOWED, "Ledger postings are made by the provider.")
    return customer


def _key(idempotency_key: str | None) -> str:
    if not idempotency_key:
        raise DomainError(
            ErrorCode.INVALID,
            "Send an Idempotency-Key header (1–100 characters) so a retried posting is "
            "not posted twice.",
            field="Idempotency-Key",
        )
    return idempotency_key


def _entry(customer: Customer, entry_id: int) -> Entry:
    entry = (
        Entry.objects.filter(customer=customer, pk=entry_id if 0 < entry_id < ID_MAX else 0)
        .select_related("reversed_by")
        .first()
    )
    if entry is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such entry.")
    entry.customer = customer
    return entry


def entry_resource(entry: Entry, customer: Customer, *, staff: bool) -> dict[str, Any]:
    body = actions.entry_data(entry, customer)
    body |= {
        "kind_label": entry.get_kind_display(),
        "reversed_by": reversing_entry_id(entry),
        "url": reverse("api:get_ledger_entry", args=[customer.client_id, entry.pk]),
        "reason": entry.reason if staff else None,
        "actor": entry.actor_label if staff else None,
        "source": entry.source if staff else None,
    }
    return body


def _entry_etag(entry: Entry) -> str:
    return f"{entry.pk}.{reversing_entry_id(entry) or 0}"


def _posted(posting: Posting, customer: Customer) -> HttpResponse:
    entry = posting.entry
    resource = entry_resource(entry, customer, staff=True)
    response = json_response(
        resource, status=201, etag=_entry_etag(entry), location=resource["url"]
    )
    if not posting.created:  # the ledger already had this key with this body
        response["Idempotent-Replayed"] = "true"
    return response


def _posting(post: Callable[[], HttpResponse]) -> HttpResponse:
    """Run a posting; a ledger key already used for another posting is 422, as the API's
    own ``Idempotency-Key`` rule says."""
    try:
        return post()
    except DomainError as error:
        if error.code == ErrorCode.CONFLICT and "idempotency_key" in error.errors:
            return problem(422, "idempotency_mismatch", error.message)
        raise


# --- routes ----------------------------------------------------------------------------------


@router.get(
    "/customers/{client_id}/ledger", response={200: BalanceOut, **problems(401, 403, 404, 429)}
)
def get_balance(request: HttpRequest, client_id: str) -> HttpResponse:
    """The balance (one stored row, kept with every posting), what is available, the billing
    mode and the credit limit."""
    who = caller(request)
    who.require("ledger:read")
    customer = _customer(who, client_id)
    summary = queries.summary(customer)
    return json_response(
        {
            "customer": customer.client_id,
            "currency": summary.currency,
            "balance": str(summary.balance),
            "credits": str(summary.credits),
            "debt": str(summary.debt),
            "available": str(summary.available),
            "billing_mode": summary.billing_mode,
            "credit_limit": str(summary.credit_limit) if summary.credit_limit is not None else None,
            "entry_count": summary.entry_count,
        },
        etag=f"{summary.entry_count}.{customer.version}",
    )


@router.get(
    "/customers/{client_id}/ledger/entries",
    response={200: EntryPage, **problems(400, 401, 403, 404, 429)},
)
def list_ledger_entries(
    request: HttpRequest, client_id: str, filters: Query[EntryFilters]
) -> HttpResponse:
    """Entries, newest first (keyset pages: pass ``next_cursor``), optionally of one kind
    and between two days in the customer's time zone."""
    who = caller(request)
    who.require("ledger:read")
    customer = _customer(who, client_id)
    since = max(filters.since, EARLIEST) if filters.since else None
    until = min(filters.until, LATEST) if filters.until else None
    if since and until and since > until:
        raise DomainError(ErrorCode.INVALID, "`since` is after `until`.", field="since")
    before = None
    if filters.cursor:
        if not filters.cursor.isdecimal() or not 0 < int(filters.cursor) < ID_MAX:
            raise DomainError(ErrorCode.INVALID, "This cursor is not valid.", field="cursor")
        before = int(filters.cursor)
    page = queries.statement(
        customer,
        queries.Filters(kind=filters.kind or "", since=since, until=until),
        customer_zone(customer),
        before=before,
        size=filters.limit,
    )
    staff = who.is_staff
    return json_response(
        {
            "items": [entry_resource(entry, customer, staff=staff) for entry in page.rows],
            "next_cursor": str(page.next_before) if page.next_before else None,
        }
    )


@router.post(
    "/customers/{client_id}/ledger/entries",
    response={201: EntryOut, **problems(400, 401, 403, 404, 409, 422, 429)},
)
def post_ledger_entry(
    request: HttpRequest,
    client_id: str,
    payload: EntryIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """Post a top-up, charge, withdrawal, debt payment or adjustment (staff keys of the
    billing group). Refused with 409 when it breaks a balance rule (not enough credits,
    over the credit limit, a closed account). ``Idempotency-Key`` is required."""
    who = caller(request)
    customer = _poster(who, client_id)
    key = _key(idempotency_key)

    def run() -> HttpResponse:
        def post() -> HttpResponse:
            posting = actions.post_entry(
                customer,
                kind=payload.kind,
                amount=payload.amount,
                direction=payload.direction or "",
                description=payload.description,
                external_reference=payload.external_reference,
                reason=payload.reason,
                idempotency_key=key,
                actor=who.actor,
            )
            return _posted(posting, customer)

        return _posting(post)

    return idempotent(request, who, run)


@router.get(
    "/customers/{client_id}/ledger/entries/{entry_id}",
    response={200: EntryOut, **problems(400, 401, 403, 404, 429)},
)
def get_ledger_entry(request: HttpRequest, client_id: str, entry_id: int) -> HttpResponse:
    """One entry. Entries never change; ``reversed_by`` is set once it is reversed."""
    who = caller(request)
    who.require("ledger:read")
    customer = _customer(who, client_id)
    entry = _entry(customer, entry_id)
    return json_response(
        entry_resource(entry, customer, staff=who.is_staff), etag=_entry_etag(entry)
    )


@router.post(
    "/customers/{client_id}/ledger/entries/{entry_id}/reverse",
    response={201: EntryOut, **problems(400, 401, 403, 404, 409, 422, 429)},
)
def reverse_ledger_entry(
    request: HttpRequest,
    client_id: str,
    entry_id: int,
    payload: ReverseIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """Post the opposite of an entry: how a mistake is corrected (entries never change).
    An entry is reversed once; a reversal is not reversed (409). Staff keys of the billing
    group; ``Idempotency-Key`` is required."""
    who = caller(request)
    customer = _poster(who, client_id)
    entry = _entry(customer, entry_id)
    key = _key(idempotency_key)

    def run() -> HttpResponse:
        def post() -> HttpResponse:
            posting = actions.reverse_entry(
                entry, reason=payload.reason, idempotency_key=key, actor=who.actor
            )
            return _posted(posting, customer)

        return _posting(post)

    return idempotent(request, who, run)
