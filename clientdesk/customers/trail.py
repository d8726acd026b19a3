"""A customer's activity trail in words: "Aisha Rahman changed Billing email from a@… to b@…".

Reads Activity rows newest first with keyset pagination (``before`` = the last id seen), so a
page costs the same whatever the trail's length. For customers, staff-only rows are left out
and sensitive values (identity numbers, dates of birth) are masked. The staff console's
customer 360 shows every row (staff notes and reveals included) and masks sensitive values
too (``mask_sensitive=True``): staff see them only through a recorded reveal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from clientdesk.audit.models import Activity

from . import policy
from .display import format_value, masked_for_customer
from .models import Customer

PAGE_SIZE = 25
VALUE_PREVIEW = 80

# verb → (filter group, what the actor did); ``{target}`` is the row's target.
VERBS: dict[str, tuple[str, str]] = {
    "customer.created": ("account", "opened the account"),
    "customer.updated": ("profile", "changed the profile"),
    "contact.created": ("contacts", "added the contact {target}"),
    "contact.updated": ("contacts", "changed the contact {target}"),
    "contact.deleted": ("contacts", "removed the contact {target}"),
    "contact.portal_access_granted": ("contacts", "switched on portal access for {target}"),
    "contact.portal_access_revoked": ("contacts", "switched off portal access for {target}"),
    "invitation.sent": ("contacts", "sent a portal invitation to {target}"),
    "invitation.cancelled": ("contacts", "cancelled the portal invitation of {target}"),
    "invitation.accepted": ("contacts", "accepted the portal invitation and can now sign in"),
    "note.added": ("notes", "added a staff note"),  # staff_only: customers never see it
    "invitation.renewal_requested": ("contacts", "asked for a new invitation for {target}"),
    # staff_only: "revealed the Identity document number" (the field's name is in changes)
    "customer.field_revealed": ("reveals", "revealed a masked value"),
    # staff_only: the exemption's reference is staff business; customers see "Tax-exempt"
    "tax_exemption.set": ("tax", "made the account tax-exempt"),
    "tax_exemption.removed": ("tax", "ended the account's tax exemption"),
    # no customer: shown in staff-wide views only
    "customers.exported": ("account", "exported the customer list"),
    "customers.imported": ("account", "imported customers from a CSV file"),
    "software_level.added": ("resources", "added the software level {target}"),
    "software_level.changed": ("resources", "changed the software level {target}"),
    "resource.created": ("resources", "wrote the resource {target}"),
    "resource.updated": ("resources", "changed the resource {target}"),
    "resource.published": ("resources", "published the resource {target}"),
    "resource.withdrawn": ("resources", "withdrew the resource {target}"),
    "resource.deleted": ("resources", "deleted the draft resource {target}"),
    # recorded in Login As only (customers see what staff did as them)
    "resource.downloaded": ("support", "downloaded the file of {target}"),
    "tax_rule.added": ("tax_rules", "added the tax rule {target}"),
    "tax_rule.changed": ("tax_rules", "changed the tax rule {target}"),
    "tax_rule.ended": ("tax_rules", "ended the tax rule {target}"),
    "customer.primary_email_changed": ("profile", "changed the primary (login) email"),
    "customer.login_email_change_requested": (
        "profile",
        "asked to change the primary (login) email; waiting for the new address to be confirmed",
    ),
    "customer.login_email_change_cancelled": (
        "profile",
        "stopped a requested change of the primary (login) email",
    ),
    # staff_only: a "this was not me" report from the old login address
    "customer.flagged_for_review": ("review", "flagged the account for staff review"),
    "change_request.submitted": ("requests", "asked for a change ({target})"),
    "change_request.commented": ("requests", "wrote on {target}"),
    "change_request.cancelled": ("requests", "cancelled {target}"),
    "change_request.approved": ("requests", "approved {target}"),
    "change_request.rejected": ("requests", "rejected {target}"),
    "ledger.entry_posted": ("billing", "posted {target}"),
    "customer.billing_mode_changed": ("billing", "changed the billing mode or credit limit"),
    "customer.suspended": ("account", "suspended the account"),
    "customer.unsuspended": ("account", "lifted the account's suspension"),
    "customer.closed": ("account", "closed the account"),
    "customer.reopened": ("account", "reopened the account"),
    "customer.anonymised": ("account", "erased the closed account's personal data"),
    "customer.ownership_transferred": ("account", "transferred ownership to {target}"),
    # Read by customers as "Support (Sam Tan) accessed your account: <reason>".
    "support.login_as_started": ("support", "accessed your account: {reason}"),
    "support.login_as_ended": ("support", "ended the support session"),
    # Integrations (staff-only rows; the customer-scoped one is a replay from the 360).
    "webhook_endpoint.created": ("integrations", "registered the webhook endpoint {target}"),
    "webhook_endpoint.updated": ("integrations", "changed the webhook endpoint {target}"),
    "webhook_endpoint.secret_rotated": (
        "integrations",
        "replaced the signing secret of {target}",
    ),
    "webhook_endpoint.enabled": ("integrations", "switched on the webhook endpoint {target}"),
    "webhook_endpoint.disabled": ("integrations", "switched off the webhook endpoint {target}"),
    "webhook.deliveries_replayed": ("integrations", "sent webhook deliveries again"),
    # Customers see their own keys being made and revoked (staff keys are staff-only rows).
    "api_key.created": ("account", "made the API key {target}"),
    "api_key.revoked": ("account", "revoked the API key {target}"),
}
# Verbs whose change lines are worth listing under the sentence.
DETAILED_VERBS = frozenset(
    {
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "customer.primary_email_changed",
        "customer.login_email_change_requested",
        "change_request.submitted",
        "change_request.commented",
        "change_request.approved",
        "customer.billing_mode_changed",
        "customer.ownership_transferred",
    }
)
GROUPS: dict[str, str] = {
    "profile": "Profile changes",
    "contacts": "Contacts and portal access",
    "account": "Account",
    "requests": "Change requests",
    "billing": "Billing and credits",
    "support": "Support sessions (Login As)",
}
# Groups of staff-only verbs: filters in the staff console only (customers never see them).
STAFF_GROUPS: dict[str, str] = {
    "notes": "Staff notes",
    "reveals": "Revealed values",
    "tax": "Tax exemption",
    "tax_rules": "Tax rules",
    "review": "Flagged for review",
    "integrations": "Integrations (webhooks)",
    "resources": "Resources library",
}


@dataclass(frozen=True)
class ChangeLine:
    label: str
    old: str
    new: str
    asked: bool = False  # a change request's line: asked for, not made

    @property
    def sentence(self) -> str:
        if self.asked:
            return f"asked to change {self.label} from {self.old or '(empty)'} to {self.new}"
        if not self.old:
            return f"set {self.label} to {self.new}"
        if not self.new:
            return f"cleared {self.label} (was {self.old})"
        return f"changed {self.label} from {self.old} to {self.new}"


@dataclass(frozen=True)
class TrailEntry:
    id: int
    verb: str
    occurred_at: datetime
    actor: str
    source: str
    summary: str
    lines: tuple[ChangeLine, ...]
    reason: str
    target_id: str = ""
    staff_only: bool = False

    @property
    def sentence(self) -> str:
        # A one-field profile change reads best as that change; anything else names its
        # target in the summary ("switched off portal access for Farid Ismail").
        if self.verb == "customer.updated" and len(self.lines) == 1:
            return f"{self.actor} {self.lines[0].sentence}"
        return f"{self.actor} {self.summary}"

    @property
    def detailed(self) -> bool:
        """Whether the change lines add to the sentence."""
        if self.verb == "customer.updated":
            return len(self.lines) > 1
        return self.verb in DETAILED_VERBS and bool(self.lines)


@dataclass(frozen=True)
class TrailPage:
    entries: list[TrailEntry]
    next_before: int | None  # pass as ``before`` for the next (older) page


def customer_trail(
    customer: Customer,
    *,
    for_customer: bool,
    actor_id: int | None = None,
    group: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    mask_sensitive: bool | None = None,
) -> TrailPage:
    """One page of ``customer``'s trail, newest first, filtered by who, what and when.
    ``mask_sensitive`` (default: ``for_customer``) masks identity numbers and birth dates."""
    masked = for_customer if mask_sensitive is None else mask_sensitive
    rows = Activity.objects.for_customer(customer.pk, include_staff_only=not for_customer)
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if group:
        rows = rows.filter(verb__in=[verb for verb, (g, _) in VERBS.items() if g == group])
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    if until is not None:
        rows = rows.filter(occurred_at__lt=until)
    if before is not None:
        rows = rows.filter(id__lt=before)
    found = list(rows.order_by("-id")[: limit + 1])
    entries = [describe(row, customer, for_customer=masked) for row in found[:limit]]
    next_before = found[limit - 1].id if len(found) > limit else None
    return TrailPage(entries, next_before)


def staff_wide_trail(
    *,
    group: str = "",
    actor_id: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[tuple[TrailEntry, Customer | None]], int | None]:
    """The staff console's activity across every customer (and the rows with no customer:
    tax rules, exports), newest first in keyset pages, each entry with its customer.
    Sensitive values stay masked, as on the customer 360."""
    rows = Activity.objects.select_related("customer")
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if group:
        every = {**GROUPS, **STAFF_GROUPS}
        verbs = [verb for verb, (g, _) in VERBS.items() if g == group] if group in every else []
        rows = rows.filter(verb__in=verbs)
    if before is not None:
        rows = rows.filter(id__lt=before)
    found = list(rows.order_by("-id")[: limit + 1])
    nobody = Customer()  # formats values with the defaults when a row has no customer
    entries = [
        (describe(row, row.customer or nobody, for_customer=True), row.customer)
        for row in found[:limit]
    ]
    return entries, (found[limit - 1].id if len(found) > limit else None)


def describe(row: Activity, customer: Customer, *, for_customer: bool) -> TrailEntry:
    """``row`` in words; ``for_customer`` masks sensitive values."""
    _, summary = VERBS.get(row.verb, ("", row.verb.replace(".", " ").replace("_", " ")))
    # In the profile's field order: PostgreSQL's jsonb does not keep the keys' order.
    changes = sorted((row.changes or {}).items(), key=lambda item: _field_order(item[0]))
    lines = tuple(
        _change_line(name, change, customer, for_customer=for_customer)
        for name, change in changes
        if isinstance(change, list) and len(change) == 2
    )
    if row.verb == "change_request.submitted":
        lines = tuple(replace(line, asked=True) for line in lines)
    if row.verb == "customer.updated" and lines:
        labels = [line.label for line in lines]
        summary = "changed " + _join(labels)
    if row.verb == "customer.field_revealed":
        summary, lines = _revealed_summary(row), ()
    actor, reason = row.actor_label, row.reason
    if row.verb.startswith("support.login_as"):
        # The staff member is named as support; the reason is part of the sentence.
        actor = f"Support ({actor.removesuffix(' (staff)')})"
        summary, reason = summary.replace("{reason}", reason), ""
    return TrailEntry(
        id=row.id,
        verb=row.verb,
        occurred_at=row.occurred_at,
        actor=actor,
        source=row.get_source_display(),
        summary=summary.replace("{target}", row.target_repr),
        lines=lines,
        reason=reason,
        target_id=row.target_id,
        staff_only=row.staff_only,
    )


def _revealed_summary(row: Activity) -> str:
    change = (row.changes or {}).get("field")
    name = change[1] if isinstance(change, list) and len(change) == 2 else ""
    spec = policy.FIELDS_BY_NAME.get(str(name))
    return f"revealed the {spec.label}" if spec else "revealed a masked value"


FIELD_ORDER = {spec.name: index for index, spec in enumerate(policy.FIELDS)}


def _field_order(name: str) -> tuple[int, str]:
    return (FIELD_ORDER.get(name, len(FIELD_ORDER)), name)


def _change_line(
    name: str, change: list[Any], customer: Customer, *, for_customer: bool
) -> ChangeLine:
    spec = policy.FIELDS_BY_NAME.get(name)
    label = spec.label if spec else name.replace("_", " ").capitalize()
    old, new = (_word(name, value, customer) for value in change)
    if spec is not None and for_customer:
        old, new = masked_for_customer(spec, old), masked_for_customer(spec, new)
    return ChangeLine(label, old, new)


def _word(name: str, value: Any, customer: Customer) -> str:
    text = format_value(name, value, customer=customer)
    return text if len(text) <= VALUE_PREVIEW else text[: VALUE_PREVIEW - 1] + "…"


def _join(labels: list[str]) -> str:
    if len(labels) <= 3:
        return ", ".join(labels[:-1]) + (" and " if len(labels) > 1 else "") + labels[-1]
    return f"{', '.join(labels[:2])} and {len(labels) - 2} more fields"
