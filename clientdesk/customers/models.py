"""Customers (the accounts a provider bills) and the people on them (contacts)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from clientdesk.core.models import TimeStampedModel

from .roles import Role

NUMBER_PREFIX = "C-"


class Customer(TimeStampedModel):
    """An account a provider bills: a business or an individual.

    ``number`` is the client ID shown as ``C-100042``; it is never reused. ``version``
    rises on every change so that two people saving at once cannot overwrite each other.
    """

    class Kind(models.TextChoices):
        BUSINESS = "business", "Business"
        INDIVIDUAL = "individual", "Individual"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    number = models.PositiveBigIntegerField(unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.BUSINESS)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    display_name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.client_id})"

    @property
    def client_id(self) -> str:
        return f"{NUMBER_PREFIX}{self.number}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Contact(TimeStampedModel):
    """A person on a customer. With portal access the contact is linked to a ``User`` whose
    login email is this contact's email. Exactly one contact per customer is the owner."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.MEMBER)
    portal_access = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["customer", "first_name", "last_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(role=Role.OWNER),
                name="customers_contact_one_owner_per_customer",
            ),
            models.UniqueConstraint(
                Lower("email"), "customer", name="customers_contact_unique_email_per_customer"
            ),
            models.UniqueConstraint(
                fields=["customer", "user"],
                condition=models.Q(user__isnull=False),
                name="customers_contact_one_contact_per_user",
            ),
            models.CheckConstraint(
                condition=models.Q(portal_access=False) | models.Q(user__isnull=False),
                name="customers_contact_portal_access_needs_user",
            ),
        ]
        indexes = [models.Index(fields=["user", "customer"], name="customers_contact_user_idx")]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
