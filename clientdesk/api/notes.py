"""Staff notes on a customer (staff keys only): list them, read one, add one.

Notes are never shown to customers, so a customer key gets 404 on every route here —
the same answer as a route that does not exist, not 403: a customer's program cannot even
learn that staff keep notes. Notes are append-only: a mistake is corrected by a new note
that points at the old one (``corrects``).
"""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Header, Query, Router, Schema
from pydantic import Field

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import notes
from clientdesk.customers.models import Customer, Note

from .context import Caller, caller
from .idempotency import idempotent
from .responses import json_response
from .schemas import Body, problems

router = Router(tags=["Notes"])
PAGE_MAX = 100
ID_MAX = 2**62
NoteKind = Literal[
    "general", "identity_verification", "email_change", "billing", "complaint", "other"
]


class Person(Schema):
    id: int
    name: str


class NoteOut(Schema):
    id: int
    customer: str
    kind: str
    kind_label: str
    body: str
    reason: str
    author: Person
    authorised_by: Person
    pinned: bool
    corrects: int | None
    created_at: str
    url: str


class NotePage(Schema):
    items: list[NoteOut]
    next_cursor: str | None


class NoteIn(Body):
    kind: NoteKind = "general"
    body: str = Field(max_length=10000)
    reason: str = Field(
        max_length=1000, description="Why this was done or recorded (e.g. the client's call)."
    )
    authorised_by_id: int | None = Field(
        None, description="The staff member who authorised it; left out: the key's maker."
    )
    pinned: bool = False
    corrects: int | None = Field(None, description="The id of the note this one corrects.")


class PageQuery(Schema):
    cursor: str = Field("", max_length=30, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=PAGE_MAX)


def _customer(who: Caller, client_id: str) -> Customer:
    """Staff keys only: for a customer key notes do not exist (404, before any scope check)."""
    if not who.is_staff:
        raise DomainError(ErrorCode.NOT_FOUND, "Not found.")
    return who.customer(client_id)


def _person(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": str(user)}


def note_resource(note: Note) -> dict[str, Any]:
    customer = note.customer
    return {
        "id": note.pk,
        "customer": customer.client_id,
        "kind": note.kind,
        "kind_label": note.get_kind_display(),
        "body": note.body,
        "reason": note.reason,
        "author": _person(note.author),
        "authorised_by": _person(note.authorised_by),
        "pinned": note.pinned,
        "corrects": note.corrects_id,
        "created_at": note.created_at.isoformat(),
        "url": reverse("api:get_note", args=[customer.client_id, note.pk]),
    }


def _cursor(text: str) -> tuple[bool, int]:
    """``"1.123"`` (pinned, id) → (True, 123); anything else is refused."""
    pinned, _, last = text.partition(".")
    if pinned not in ("0", "1") or not last.isdecimal() or not 0 < int(last) < ID_MAX:
        raise DomainError(ErrorCode.INVALID, "This cursor is not valid.", field="cursor")
    return pinned == "1", int(last)


@router.get(
    "/customers/{client_id}/notes", response={200: NotePage, **problems(400, 401, 403, 404, 429)}
)
def list_notes(request: HttpRequest, client_id: str, page: Query[PageQuery]) -> HttpResponse:
    """The customer's notes: pinned first, then newest first (keyset pages)."""
    who = caller(request)
    customer = _customer(who, client_id)
    who.require("notes:read")
    rows = Note.objects.filter(customer=customer)
    if page.cursor:
        pinned, last = _cursor(page.cursor)
        if pinned:
            rows = rows.filter(Q(pinned=False) | Q(pinned=True, id__lt=last))
        else:
            rows = rows.filter(pinned=False, id__lt=last)
    fetched = list(
        rows.select_related("author", "authorised_by").order_by("-pinned", "-id")[: page.limit + 1]
    )
    more = len(fetched) > page.limit
    fetched = fetched[: page.limit]
    for note in fetched:
        note.customer = customer
    last_note = fetched[-1] if fetched else None
    return json_response(
        {
            "items": [note_resource(note) for note in fetched],
            "next_cursor": (
                f"{int(last_note.pinned)}.{last_note.pk}" if more and last_note else None
            ),
        }
    )


@router.post(
    "/customers/{client_id}/notes",
    response={201: NoteOut, **problems(400, 401, 403, 404, 409, 422, 429)},
)
def add_note(
    request: HttpRequest,
    client_id: str,
    payload: NoteIn,
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", description="Retry safely: the first answer is replayed."
    ),
) -> HttpResponse:
    """Record a note (what was done, why, on whose authority). Accepts ``Idempotency-Key``."""
    who = caller(request)
    customer = _customer(who, client_id)
    who.require("notes:write")

    def run() -> HttpResponse:
        errors: dict[str, list[str]] = {}
        authorised_by = None
        if payload.authorised_by_id is not None:
            authorised_by = (
                get_user_model()
                .objects.filter(
                    pk=payload.authorised_by_id if 0 < payload.authorised_by_id < ID_MAX else 0,
                    is_staff=True,
                    is_active=True,
                )
                .first()
            )
            if authorised_by is None:
                errors["authorised_by_id"] = ["Choose a member of staff."]
        corrects = None
        if payload.corrects is not None:
            corrects = Note.objects.filter(
                customer=customer, pk=payload.corrects if 0 < payload.corrects < ID_MAX else 0
            ).first()
            if corrects is None:
                errors["corrects"] = ["This customer has no note with that id."]
        if errors:
            raise DomainError(ErrorCode.INVALID, next(iter(errors.values()))[0], errors=errors)
        note = notes.add_note(
            customer,
            kind=payload.kind,
            body=payload.body,
            reason=payload.reason,
            actor=who.actor,
            authorised_by=authorised_by,
            pinned=payload.pinned,
            corrects=corrects,
        )
        note = Note.objects.select_related("author", "authorised_by").get(pk=note.pk)
        note.customer = customer
        resource = note_resource(note)
        return json_response(resource, status=201, etag=note.pk, location=resource["url"])

    return idempotent(request, who, run)


@router.get(
    "/customers/{client_id}/notes/{note_id}",
    response={200: NoteOut, **problems(400, 401, 403, 404, 429)},
)
def get_note(request: HttpRequest, client_id: str, note_id: int) -> HttpResponse:
    """One note. Notes never change, so the ETag is its id."""
    who = caller(request)
    customer = _customer(who, client_id)
    who.require("notes:read")
    note = (
        Note.objects.filter(customer=customer, pk=note_id if 0 < note_id < ID_MAX else 0)
        .select_related("author", "authorised_by")
        .first()
    )
    if note is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such note.")
    note.customer = customer
    return json_response(note_resource(note), etag=note.pk)
