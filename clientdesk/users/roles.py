"""Staff roles: the Django groups support, billing and manager (DESIGN.md §4).

Actions check them here, so every interface (console, API, command) meets the same rule.
"""

from __future__ import annotations

from typing import Any

SUPPORT = "support"
BILLING = "billing"
MANAGER = "manager"
STAFF_GROUPS = (SUPPORT, BILLING, MANAGER)


def has_staff_role(user: Any, *groups: str) -> bool:
    """Is ``user`` active staff in one of ``groups``? Superusers hold every role."""
    if user is None or not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    if not user.is_staff:
        return False
    return user.groups.filter(name__in=groups).exists()
