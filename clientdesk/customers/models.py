"""Customers (the accounts a provider bills) and the people on them (contacts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django_countries.fields import CountryField

from clientdesk.audit.models import AppendOnlyError
from clientdesk.core.models import TimeStampedModel

from .roles import Role

NUMBER_PREFIX = "C-"


class SoftwareLevel(models.Model):
    """A product release level customers run (``4.0 SP2``), in the order staff keep.

    Customers choose theirs in Preferences; resources are filtered by it. A retired level
    (``is_active=False``) can no longer be chosen but stays valid for customers that have it.
    """

    label = models.CharField(max_length=60, unique=True)
    position = models.PositiveIntegerField(unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.label


class Customer(TimeStampedModel):
    """An account a provider bills: a business or an individual, and its profile.

    ``number`` is the client ID shown as ``C-100042``; it is never reused. ``version`` rises
    on every change (for API ETags and conflict checks). The fields are grouped by profile
    section; ``customers/policy.py`` says who may see and change each one.
    """

    class Kind(models.TextChoices):
        BUSINESS = "business", "Business"
        INDIVIDUAL = "individual", "Individual"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    class PricingModel(models.TextChoices):
        STANDARD = "standard", "Standard list prices"
        CUSTOM = "custom", "Custom (discount or markup)"

    class BillingMode(models.TextChoices):
        PREPAID = "prepaid", "Prepaid"
        POSTPAID = "postpaid", "Postpaid"

    class IdType(models.TextChoices):
        NRIC = "nric", "MyKad / NRIC"
        PASSPORT = "passport", "Passport"
        ARMY = "army", "Army / police ID"
        OTHER = "other", "Other"

    # Account (set by staff)
    number = models.PositiveBigIntegerField(unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.BUSINESS)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    display_name = models.CharField(max_length=200)
    pricing_model = models.CharField(
        max_length=10, choices=PricingModel.choices, default=PricingModel.STANDARD
    )
    price_adjustment_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Custom pricing only: negative is a discount, positive a markup.",
    )
    billing_mode = models.CharField(
        max_length=10, choices=BillingMode.choices, default=BillingMode.PREPAID
    )
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Set by the ledger when the first entry is posted; locks the currency.
    first_ledger_entry_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The lifecycle (lifecycle/actions.py): when the account was closed (cleared on reopen),
    # and when its personal data was erased after the retention period (final).
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1)

    # Personal Details (an individual, or the person who holds a business account)
    full_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    nationality = CountryField(blank=True)
    id_type = models.CharField(max_length=10, choices=IdType.choices, blank=True)
    id_number = models.CharField(max_length=40, blank=True)

    # Business Details (the registered company name is ``legal_name``)
    trading_name = models.CharField(max_length=200, blank=True)
    registration_number = models.CharField(max_length=30, blank=True)
    website = models.URLField(max_length=200, blank=True)

    # E-Invoice Information
    tin = models.CharField("TIN", max_length=20, blank=True)
    sst_number = models.CharField("SST registration number", max_length=20, blank=True)
    tourism_tax_number = models.CharField(max_length=20, blank=True)
    msic_code = models.CharField("MSIC code", max_length=5, blank=True)
    business_activity = models.CharField(max_length=300, blank=True)
    einvoice_email = models.EmailField("e-invoice email", blank=True)

    # Contact Information (the primary email is the owner's login email, not stored here)
    billing_email = models.EmailField(blank=True)
    other_emails = models.JSONField(default=list, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    mobile = models.CharField(max_length=20, blank=True)
    postal_line1 = models.CharField(max_length=200, blank=True)
    postal_line2 = models.CharField(max_length=200, blank=True)
    postal_city = models.CharField(max_length=100, blank=True)
    postal_postcode = models.CharField(max_length=12, blank=True)
    postal_state = models.CharField(max_length=10, blank=True)
    postal_country = CountryField(blank=True)

    # Legal identity; ``country`` is the legal address's country and decides tax
    legal_name = models.CharField(max_length=200, blank=True)
    legal_line1 = models.CharField(max_length=200, blank=True)
    legal_line2 = models.CharField(max_length=200, blank=True)
    legal_city = models.CharField(max_length=100, blank=True)
    legal_postcode = models.CharField(max_length=12, blank=True)
    legal_state = models.CharField(max_length=10, blank=True)
    country = CountryField(blank=True)

    # Billing identity: follows legal until the customer decouples it; while it follows,
    # the billing_* columns stay blank so no copy can drift from the legal values.
    billing_follows_legal = models.BooleanField(default=True)
    billing_name = models.CharField(max_length=200, blank=True)
    billing_line1 = models.CharField(max_length=200, blank=True)
    billing_line2 = models.CharField(max_length=200, blank=True)
    billing_city = models.CharField(max_length=100, blank=True)
    billing_postcode = models.CharField(max_length=12, blank=True)
    billing_state = models.CharField(max_length=10, blank=True)
    billing_country = CountryField(blank=True)

    # Preferences
    currency = models.CharField(max_length=3, default="MYR")
    timezone = models.CharField(max_length=64, default="Asia/Kuala_Lumpur")
    language = models.CharField(max_length=10, default="en")
    software_level = models.ForeignKey(
        SoftwareLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["number"]
        # The staff customer list sorts and filters on these (keyset pagination).
        indexes = [
            models.Index(fields=["created_at", "id"], name="customers_customer_created_idx"),
            models.Index(fields=["display_name", "id"], name="customers_customer_name_idx"),
            models.Index(fields=["status", "number"], name="customers_customer_status_idx"),
            models.Index(fields=["country", "number"], name="customers_customer_country_idx"),
            # Country filter + name sort: without it SQLite reads every customer of the
            # country (78 % of them) through the country index and sorts them for each page
            # (its statistics know only the average rows per country, not which is large).
            models.Index(
                fields=["country", "display_name", "id"],
                name="customers_country_name_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pricing_model="custom", price_adjustment_percent__isnull=False)
                | models.Q(pricing_model="standard", price_adjustment_percent__isnull=True),
                name="customers_customer_adjustment_iff_custom_pricing",
            ),
            models.CheckConstraint(
                condition=models.Q(status="closed", closed_at__isnull=False)
                | (~models.Q(status="closed") & models.Q(closed_at__isnull=True)),
                name="customers_customer_closed_iff_closed_at",
            ),
            models.CheckConstraint(
                condition=models.Q(billing_mode="postpaid") | models.Q(credit_limit__isnull=True),
                name="customers_customer_credit_limit_only_postpaid",
            ),
            models.CheckConstraint(
                condition=models.Q(credit_limit__isnull=True)
                | models.Q(credit_limit__gte=Decimal("0")),
                name="customers_customer_credit_limit_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(billing_follows_legal=False)
                | models.Q(
                    billing_name="",
                    billing_line1="",
                    billing_line2="",
                    billing_city="",
                    billing_postcode="",
                    billing_state="",
                    billing_country="",
                ),
                name="customers_customer_following_billing_has_no_copy",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.client_id})"

    @property
    def client_id(self) -> str:
        return f"{NUMBER_PREFIX}{self.number}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_business(self) -> bool:
        return self.kind == self.Kind.BUSINESS

    @property
    def currency_locked(self) -> bool:
        return self.first_ledger_entry_at is not None


class NotificationTopic(models.TextChoices):
    """What a contact wants to hear about; later emails choose their recipients by topic."""

    ACCOUNT = "account", "Account & security"
    BILLING = "billing", "Billing"
    TECHNICAL = "technical", "Technical"
    MARKETING = "marketing", "Marketing"


DEFAULT_TOPICS = [NotificationTopic.ACCOUNT.value]


class Contact(TimeStampedModel):
    """A person on a customer. Exactly one contact per customer is the owner.

    ``portal_access`` is whether the contact may use the portal. It is switched on before the
    person has a sign-in: the invitation they accept links ``user``. A linked user always has
    access (revoking access unlinks), and a linked contact's ``email`` is its user's login
    email: the contact actions keep the two equal inside one transaction and refuse to edit
    it apart from the login-email flows.
    """

    # No single-column indexes on the two keys: customers_contact_list_idx starts with
    # customer and customers_contact_user_idx with user, so they serve those lookups, and
    # every contact written would otherwise update two more indexes.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        db_index=False,
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +60123456789")
    job_title = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.MEMBER)
    notification_topics = models.JSONField(default=list, blank=True)
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
                condition=models.Q(user__isnull=True) | models.Q(portal_access=True),
                name="customers_contact_linked_user_has_access",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="customers_contact_role_valid"
            ),
        ]
        indexes = [
            # Only contacts with a sign-in (a few of them): SQLite's statistics count the NULLs
            # of every other contact as one value, so a full index looked useless for
            # "user_id = ?" and the portal's account list scanned customers by name instead
            # (44 ms per page at 50 000 customers, measured with manage.py bench).
            models.Index(
                fields=["user", "customer"],
                condition=models.Q(user__isnull=False),
                name="customers_contact_user_idx",
            ),
            models.Index(
                fields=["customer", "first_name", "last_name", "id"],
                name="customers_contact_list_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class Invitation(TimeStampedModel):
    """An emailed, single-use link that lets a contact with portal access sign in.

    Only a hash of the token is stored, so the database never holds a usable link; resending
    makes a new token (the old link stops working) and a new expiry. At most one invitation
    per contact is pending, by a database constraint.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254, help_text="Where the link was sent.")
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_by_label = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField()
    sent_count = models.PositiveIntegerField(default=1)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=40, blank=True)
    renewal_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(status="pending"),
                name="customers_invitation_one_pending_per_contact",
            ),
        ]
        indexes = [models.Index(fields=["customer", "status"], name="customers_invite_status_idx")]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    def is_expired(self, now: Any = None) -> bool:
        from django.utils import timezone

        return self.expires_at <= (now or timezone.now())


class NoteQuerySet(models.QuerySet["Note"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Notes are append-only: write a correcting note instead.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Notes are append-only: write a correcting note instead.")


class Note(models.Model):
    """A structured staff note on a customer (seed 003 step 9): what was done, why and on
    whose authority. Never shown to customers. Append-only: a correction is a new note that
    points at the one it corrects."""

    class Kind(models.TextChoices):
        GENERAL = "general", "General"
        IDENTITY = "identity_verification", "Identity verification"
        EMAIL_CHANGE = "email_change", "Email change"
        BILLING = "billing", "Billing"
        COMPLAINT = "complaint", "Complaint"
        OTHER = "other", "Other"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="notes")
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.GENERAL)
    body = models.TextField(max_length=5000)
    reason = models.CharField(max_length=300)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notes_written"
    )
    authorised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notes_authorised"
    )
    pinned = models.BooleanField(default=False)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NoteQuerySet.as_manager()

    class Meta:
        ordering = ["-pinned", "-id"]
        indexes = [models.Index(fields=["customer", "-id"], name="customers_note_customer_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="customers_note_reason_required"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} note on {self.customer_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Notes are append-only: write a correcting note instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Notes are append-only: write a correcting note instead.")
