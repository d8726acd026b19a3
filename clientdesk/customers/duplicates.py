"""Likely duplicates of a customer about to be opened (seed 001, "Create Organization").

Before staff open an account they are warned when the owner's email, the registration
number or the TIN is already on a customer, and may open that one instead. Every lookup is
an exact match on an indexed, normalised value:

- contact emails: ``lower(email)``, the expression of the per-customer unique index;
- login emails: ``users.User.email_key`` (unique), then the contacts of that user;
- ``Customer.registration_number`` and ``Customer.tin``: the stored, normalised values
  (B-tree indexes from the search migration).

So the check costs the same at a million customers; it never scans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models.functions import Lower

from clientdesk.users.emails import email_key, normalize_email

from .models import Contact, Customer

MAX_MATCHES = 20
EMAIL_REASON = "a contact has this email"


@dataclass
class DuplicateMatch:
    """A customer that looks like the one being opened, and why."""

    customer: Customer
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_text(self) -> str:
        return ", ".join(self.reasons)


def duplicate_matches(
    *, owner_email: str = "", registration_number: str = "", tin: str = ""
) -> list[DuplicateMatch]:
    """The customers sharing the owner email (any contact's email or a contact's login
    email, case-insensitively), the registration number or the TIN, by client ID. Pass the
    values as the profile stores them (normalised); blank values are not looked up."""
    reasons: dict[int, list[str]] = {}

    def found(customer_ids: list[int], reason: str) -> None:
        for customer_id in customer_ids:
            matched = reasons.setdefault(customer_id, [])
            if reason not in matched:
                matched.append(reason)

    email = normalize_email(owner_email or "")
    if email:
        by_contact = (
            Contact.objects.alias(email_lower=Lower("email"))
            .filter(email_lower=email)
            .values_list("customer_id", flat=True)[:MAX_MATCHES]
        )
        found(list(by_contact), EMAIL_REASON)
        by_login = Contact.objects.filter(user__email_key=email_key(email)).values_list(
            "customer_id", flat=True
        )[:MAX_MATCHES]
        found(list(by_login), EMAIL_REASON)
    if registration_number:
        by_number = Customer.objects.filter(registration_number=registration_number).values_list(
            "pk", flat=True
        )[:MAX_MATCHES]
        found(list(by_number), "same registration number")
    if tin:
        by_tin = Customer.objects.filter(tin=tin).values_list("pk", flat=True)[:MAX_MATCHES]
        found(list(by_tin), "same TIN")
    if not reasons:
        return []
    customers = Customer.objects.filter(pk__in=list(reasons)).order_by("number")[:MAX_MATCHES]
    return [DuplicateMatch(customer, reasons[customer.pk]) for customer in customers]


def likely_duplicates(
    *, owner_email: str = "", registration_number: str = "", tin: str = ""
) -> list[Customer]:
    """The customers :func:`duplicate_matches` finds, without the reasons."""
    return [
        match.customer
        for match in duplicate_matches(
            owner_email=owner_email, registration_number=registration_number, tin=tin
        )
    ]
