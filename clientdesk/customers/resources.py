"""Resources as other systems see them: the shapes in outbox events (and later the API).

One function per resource, so a contact looks the same in ``contact.created``,
``contact.updated`` and an API response.
"""

from __future__ import annotations

from typing import Any

from .models import Contact


def contact_resource(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "customer": contact.customer.client_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "job_title": contact.job_title,
        "role": contact.role,
        "notification_topics": list(contact.notification_topics or []),
        "portal_access": contact.portal_access,
        "has_login": contact.user_id is not None,
        "version": contact.version,
    }
