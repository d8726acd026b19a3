"""Revealing a masked value: staff see identity numbers and dates of birth masked
(``•••••••5568``) until they ask for the clear value, and every such request is recorded.

``reveal_field`` is an action in shape (keyword-only arguments, a mandatory actor, one
transaction, one Activity row) but it changes nothing: reading is not a state change, so it
publishes **no outbox event** — other systems have nothing to update. The Activity row
(``customer.field_revealed``, ``staff_only``) says who looked at which field and when; its
``changes`` hold the field's *name* only (``{"field": [None, "id_number"]}``), never the value.
"""

from __future__ import annotations

from django.db import transaction

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode

from . import policy
from .display import display_value
from .models import Customer

REVEALED_VERB = "customer.field_revealed"


def revealable_fields(customer: Customer) -> list[str]:
    """The sensitive fields that apply to ``customer`` (those staff see masked)."""
    return [f.name for f in policy.FIELDS if f.sensitive and customer.kind in f.kinds]


def reveal_field(customer: Customer, *, field: str, actor: Actor) -> str:
    """Record that ``actor`` (staff) revealed ``field`` of ``customer`` and return its clear
    value in words (``""`` when it is not set). Only sensitive fields may be revealed."""
    user = actor.user
    if actor.source != Source.STAFF or user is None or not getattr(user, "is_staff", False):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff may reveal masked values.")
    name = str(field or "")[:60]
    spec = policy.FIELDS_BY_NAME.get(name)
    if spec is None or not spec.sensitive:
        raise DomainError(
            ErrorCode.INVALID,
            "Only masked values (identity document number, date of birth) can be revealed.",
            field="field",
        )
    if customer.kind not in spec.kinds:
        raise DomainError(
            ErrorCode.INVALID, f"{spec.label} does not apply to this customer.", field="field"
        )
    with transaction.atomic():
        record(
            REVEALED_VERB,
            actor=actor,
            customer=customer,
            target=customer,
            changes={"field": [None, spec.name]},
            staff_only=True,
        )
    return display_value(customer, spec.name)
