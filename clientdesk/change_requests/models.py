"""Change requests: changes a customer may ask for but not make, and their conversation.

A request holds the values asked for (``requested``) and the section as it was when it was
asked (``snapshot``), so a reviewer sees both what is asked and whether the account moved
since. At most one request per kind is open for a customer at a time (a database
constraint): a second one would race the first for the same fields.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from clientdesk.customers.models import Customer
from clientdesk.customers.policy import SECTION_TITLES, Section


class Kind(models.TextChoices):
    """What is asked for: the profile section whose approval fields change, or the primary
    (login) email, which has its own procedure."""

    PERSONAL = Section.PERSONAL.value, SECTION_TITLES[Section.PERSONAL]
    BUSINESS = Section.BUSINESS.value, SECTION_TITLES[Section.BUSINESS]
    EINVOICE = Section.EINVOICE.value, SECTION_TITLES[Section.EINVOICE]
    CONTACT = Section.CONTACT.value, SECTION_TITLES[Section.CONTACT]
    LEGAL = Section.LEGAL.value, SECTION_TITLES[Section.LEGAL]
    BILLING = Section.BILLING.value, SECTION_TITLES[Section.BILLING]
    PREFERENCES = Section.PREFERENCES.value, SECTION_TITLES[Section.PREFERENCES]
    PRIMARY_EMAIL = "primary_email", "Primary email"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    AWAITING_CUSTOMER = "awaiting_customer", "Awaiting customer"
    APPROVED = "approved", "Approved"
    PARTLY_APPROVED = "partly_approved", "Partly approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (Status.OPEN, Status.AWAITING_CUSTOMER)
DECIDED_STATUSES = (Status.APPROVED, Status.PARTLY_APPROVED, Status.REJECTED)


class ChangeRequest(models.Model):
    """``CR-000123``: the values asked for, the section as it was, who asked and why, and
    the decision. ``requested`` and ``snapshot`` map field names to values in the form a
    section form accepts (JSON: strings, numbers, booleans)."""

    Kind: ClassVar[type[Kind]] = Kind
    Status: ClassVar[type[Status]] = Status

    number = models.PositiveIntegerField(unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="change_requests")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    requested = models.JSONField(default=dict)
    snapshot = models.JSONField(default=dict)
    note = models.TextField(blank=True, help_text="What the requester said about the change.")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by_label = models.CharField(max_length=300)
    submitted_source = models.CharField(max_length=10)  # portal | staff | api | system
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    approved_fields = models.JSONField(default=list, blank=True)
    rejected_fields = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=models.Q(status__in=[s.value for s in OPEN_STATUSES]),
                name="change_requests_one_open_per_kind",
            ),
        ]
        indexes = [
            # The staff queue: a status, oldest first (keyset on id).
            models.Index(fields=["status", "id"], name="cr_status_idx"),
            models.Index(fields=["kind", "status", "id"], name="cr_kind_status_idx"),
            # A customer's requests, newest first.
            models.Index(fields=["customer", "-id"], name="cr_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return reference_for(self.number)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_decided(self) -> bool:
        return self.status in DECIDED_STATUSES

    @property
    def is_primary_email(self) -> bool:
        return self.kind == Kind.PRIMARY_EMAIL

    @property
    def section(self) -> Section | None:
        return None if self.is_primary_email else Section(self.kind)

    @property
    def title(self) -> str:
        return Kind(self.kind).label


class Message(models.Model):
    """One message in a request's conversation. Plain text, shown escaped."""

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    author_label = models.CharField(max_length=300)
    from_staff = models.BooleanField()
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["change_request", "id"], name="cr_message_thread_idx")]

    def __str__(self) -> str:
        return f"{self.author_label}: {self.body[:40]}"


def reference_for(number: int) -> str:
    return f"CR-{number:06d}"


def parse_reference(text: str) -> int | None:
    """``CR-000123``, ``cr-123`` or ``123`` → 123; anything else → None."""
    value = text.strip().upper().removeprefix("CR-").removeprefix("CR")
    return int(value) if value.isdecimal() and 0 < len(value) <= 9 else None


from .models_login_email import LoginEmailChange  # noqa: E402, F401
