"""Staff notes on a customer: adding one, and reading them back.

A note records what staff did or learned, why, and on whose authority (seed 003 step 9:
"date/time, reason and authorised by"). Author and time are set here and never change; a
mistake is corrected by a new note that points at the old one. Notes are staff-only: the
Activity row is marked ``staff_only`` and no customer-facing page or export reads them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.events.publish import publish
from clientdesk.users.models import User

from . import validators
from .models import Customer, Note

BODY_MAX = 5000
REASON_MAX = 300


def notes_for(customer: Customer, *, limit: int = 100) -> list[Note]:
    """The customer's notes, pinned first, then newest first."""
    rows: QuerySet[Note] = Note.objects.filter(customer=customer).select_related(
        "author", "authorised_by", "corrects"
    )
    return list(rows.order_by("-pinned", "-id")[:limit])


def add_note(
    customer: Customer,
    *,
    kind: str,
    body: str,
    reason: str,
    actor: Actor,
    authorised_by: User | None = None,
    pinned: bool = False,
    corrects: Note | None = None,
) -> Note:
    """Record a staff note. ``authorised_by`` defaults to the author; it must be staff.
    ``corrects`` must be a note of the same customer."""
    user = actor.user
    if actor.source != Source.STAFF or user is None or not user.is_staff:
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff write notes.")
    errors: dict[str, list[str]] = {}
    if kind not in Note.Kind.values:
        errors["kind"] = ["Choose one of the note types."]
    clean_body = _text(body, "body", BODY_MAX, errors, multiline=True)
    clean_reason = _text(reason, "reason", REASON_MAX, errors)
    authority = authorised_by or user
    if not authority.is_staff or not authority.is_active:
        errors["authorised_by"] = ["Choose a member of staff."]
    if corrects is not None and corrects.customer_id != customer.pk:
        errors["corrects"] = ["That note belongs to another customer."]
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    with transaction.atomic():
        note = Note.objects.create(
            customer=customer,
            kind=kind,
            body=clean_body,
            reason=clean_reason,
            author=user,
            authorised_by=authority,
            pinned=pinned,
            corrects=corrects,
        )
        record(
            "note.added",
            actor=actor,
            customer=customer,
            target=note,
            changes={"note": [None, note.get_kind_display()]},
            reason=clean_reason,
            staff_only=True,
        )
        publish(
            "note.added",
            actor=actor,
            customer=customer,
            data=_note_data(note),
        )
    return note


def _text(
    value: str, name: str, limit: int, errors: dict[str, list[str]], *, multiline: bool = False
) -> str:
    try:
        text = validators.clean_text(value or "", multiline=multiline)
    except ValidationError as exc:
        errors[name] = list(exc.messages)
        return ""
    if not text:
        errors[name] = ["This field is required."]
    elif len(text) > limit:
        errors[name] = [f"Keep this under {limit} characters (it has {len(text)})."]
    return text


def _note_data(note: Note) -> dict[str, Any]:
    return {
        "id": note.pk,
        "customer": note.customer.client_id,
        "kind": note.kind,
        "reason": note.reason,
        "author_id": note.author_id,
        "authorised_by_id": note.authorised_by_id,
        "pinned": note.pinned,
        "corrects": note.corrects_id,
        "internal": True,  # never shown to customers
    }
