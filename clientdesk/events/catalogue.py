"""Every event type Clientdesk publishes, with one line on when. ``publish`` refuses a
type missing here, so this list (and docs/events.md, which details the payloads) cannot
fall behind the code. Webhook endpoints subscribe to these names or to a family (``contact.*``).
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    # Customers
    "customer.created": "An account is opened.",
    "customer.updated": "A profile section, the billing mode or the software level changed.",
    "customer.primary_email_changed": "The owner's login and primary email changed.",
    "customer.login_email_change_requested": "A login email change awaits verification.",
    "customer.flagged_for_review": "A change was flagged for staff review.",
    "customer.suspended": "Staff suspended the account.",
    "customer.unsuspended": "Staff lifted a suspension.",
    "customer.closed": "The account was closed.",
    "customer.reopened": "A closed account was reopened.",
    "customer.ownership_transferred": "Another contact became the owner.",
    "customer.anonymised": "A closed account's personal data was erased after retention.",
    # Contacts and portal access
    "contact.created": "A contact was added.",
    "contact.updated": "A contact's details or role changed.",
    "contact.deleted": "A contact was removed.",
    "contact.portal_access_granted": "Portal access was switched on (an invitation follows).",
    "contact.portal_access_revoked": "Portal access was switched off.",
    "invitation.sent": "A portal invitation was sent or resent.",
    "invitation.cancelled": "An invitation was cancelled.",
    "invitation.accepted": "An invited person accepted and can sign in.",
    "invitation.renewal_requested": "Someone with an expired link asked for a new one.",
    # Change requests
    "change_request.submitted": "A customer asked for a change that needs approval.",
    "change_request.commented": "A message was added to a change request's thread.",
    "change_request.approved": "Staff approved a change request; the change is applied.",
    "change_request.rejected": "Staff rejected a change request.",
    "change_request.cancelled": "The customer withdrew a change request.",
    # Money
    "ledger.entry_posted": "A ledger entry was posted (top-up, charge, refund, reversal…).",
    # Staff work
    "note.added": "Staff recorded a note (internal: the body is not in the event).",
    "support.login_as_started": "A staff member started a Login As session.",
    "support.login_as_ended": "A Login As session ended.",
    # Tax rules
    "tax_rule.added": "A tax rule was added.",
    "tax_rule.changed": "A tax rule was corrected.",
    "tax_rule.ended": "A tax rule was given an end date.",
    "tax_exemption.set": "A customer's tax exemption was set.",
    "tax_exemption.removed": "A customer's tax exemption was removed.",
    # Resources library and software levels
    "software_level.added": "Managers added a software level.",
    "software_level.changed": "A software level was renamed, retired, restored or moved.",
    "resource.created": "Staff wrote a new resource (a draft; customers do not see it yet).",
    "resource.updated": "A resource's content, level range or file changed.",
    "resource.published": "A resource was published (from its publish date customers see it).",
    "resource.withdrawn": "A published resource went back to draft.",
    "resource.deleted": "A draft resource nobody had downloaded was deleted.",
    "resource.downloaded": "Someone on a customer downloaded a resource's file.",
    # Integrations
    "api_key.created": "An API key was made (customer keys carry the customer).",
    "api_key.revoked": "An API key was revoked.",
    "webhook_endpoint.created": "A webhook endpoint was registered.",
    "webhook_endpoint.updated": "A webhook endpoint's settings changed.",
    "webhook_endpoint.secret_rotated": "A webhook endpoint's signing secret was replaced.",
    "webhook_endpoint.enabled": "A webhook endpoint was switched on.",
    "webhook_endpoint.disabled": "An endpoint was switched off (staff, a 410, days of failures).",
    "webhook.deliveries_replayed": "Staff asked for failed deliveries to be sent again.",
}

FAMILIES = sorted({name.split(".", 1)[0] for name in EVENT_TYPES})


def is_known_pattern(pattern: str) -> bool:
    """An exact type, or a family such as ``contact.*``."""
    if pattern.endswith(".*"):
        return pattern[:-2] in FAMILIES
    return pattern in EVENT_TYPES


def matches(patterns: list[str], event_type: str) -> bool:
    """Does a subscription (empty: everything) cover ``event_type``?"""
    if not patterns:
        return True
    family = event_type.split(".", 1)[0] + ".*"
    return event_type in patterns or family in patterns
