"""Field values as a change request keeps them, and how a request compares with the account.

``requested`` and ``snapshot`` hold values in the shape a section form accepts again (the
software level as its id, dates and amounts as strings), so approving a request is the same
save a person would make, validated by the same form.
"""

from __future__ import annotations

from typing import Any

from clientdesk.customers.display import format_value
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.customers.policy import FIELDS_BY_NAME, Section, section_fields
from clientdesk.customers.sections import jsonable, raw_value

from .models import ChangeRequest, Status

# Status → the tone of its badge (components/status_badge.html and the portal's badges);
# the label is always shown too, never colour alone.
STATUS_TONES: dict[str, str] = {
    Status.OPEN: "info",
    Status.AWAITING_CUSTOMER: "warning",
    Status.APPROVED: "success",
    Status.PARTLY_APPROVED: "success",
    Status.REJECTED: "error",
    Status.CANCELLED: "closed",
}


def stored_value(value: Any) -> Any:
    """A value as a request stores it (JSON that a section form accepts)."""
    if isinstance(value, SoftwareLevel):
        return value.pk
    return jsonable(value)


def current_values(customer: Customer, kind: str) -> dict[str, Any]:
    """What the account holds now for every field a request of ``kind`` is about."""
    if kind == ChangeRequest.Kind.PRIMARY_EMAIL:
        return {"primary_email": raw_value(customer, "primary_email")}
    return {
        spec.name: stored_value(raw_value(customer, spec.name))
        for spec in section_fields(Section(kind), customer.kind)
        if spec.stored
    }


def moved_since_submission(request: ChangeRequest, customer: Customer) -> list[str]:
    """The fields of the request's section that changed after it was submitted: the
    reviewer must look at the values as they are now before approving."""
    now = current_values(customer, request.kind)
    return [name for name, then in request.snapshot.items() if now.get(name) != then]


def label(name: str) -> str:
    spec = FIELDS_BY_NAME.get(name)
    return spec.label if spec else name


def shown(customer: Customer, name: str, value: Any) -> str:
    """A stored value in words, as the profile shows it ("Malaysia", "Yes", "—")."""
    if name == "software_level" and value not in (None, ""):
        level = SoftwareLevel.objects.filter(pk=value).first()
        value = level
    text = format_value(name, value, customer=customer)
    return text or "—"
