"""Portal roles and what each may do: the one table every portal check reads.

``docs/permissions.md`` holds the same table; a test keeps the two equal.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    BILLING = "billing", "Billing"
    TECHNICAL = "technical", "Technical"
    MEMBER = "member", "Member"


class Capability(StrEnum):
    VIEW_PROFILE = "profile.view"
    EDIT_PROFILE = "profile.edit"
    EDIT_BILLING_PROFILE = "profile.edit_billing"
    MANAGE_CONTACTS = "contacts.manage"
    EDIT_OWN_CONTACT = "contacts.edit_own"
    VIEW_BILLING = "billing.view"
    VIEW_ACTIVITY = "activity.view"
    TRANSFER_OWNERSHIP = "account.transfer_ownership"
    CLOSE_ACCOUNT = "account.close"
    MANAGE_API_KEYS = "api_keys.manage"
    VIEW_RESOURCES = "resources.view"


_EVERYONE = {Capability.VIEW_PROFILE, Capability.EDIT_OWN_CONTACT, Capability.VIEW_RESOURCES}

CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.OWNER: frozenset(
        _EVERYONE
        | {
            Capability.EDIT_PROFILE,
            Capability.EDIT_BILLING_PROFILE,
            Capability.MANAGE_CONTACTS,
            Capability.VIEW_BILLING,
            Capability.VIEW_ACTIVITY,
            Capability.TRANSFER_OWNERSHIP,
            Capability.CLOSE_ACCOUNT,
            Capability.MANAGE_API_KEYS,
        }
    ),
    Role.ADMIN: frozenset(
        _EVERYONE
        | {
            Capability.EDIT_PROFILE,
            Capability.EDIT_BILLING_PROFILE,
            Capability.MANAGE_CONTACTS,
            Capability.VIEW_BILLING,
            Capability.VIEW_ACTIVITY,
            Capability.MANAGE_API_KEYS,
        }
    ),
    Role.BILLING: frozenset(_EVERYONE | {Capability.EDIT_BILLING_PROFILE, Capability.VIEW_BILLING}),
    Role.TECHNICAL: frozenset(_EVERYONE),
    Role.MEMBER: frozenset(_EVERYONE),
}


def has_capability(role: str, capability: Capability) -> bool:
    return capability in CAPABILITIES.get(Role(role), frozenset())
