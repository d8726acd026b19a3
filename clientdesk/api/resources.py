"""Resources as the API shows them (contacts share ``customers/resources.py`` with the
events, so a contact looks the same in a webhook and in a response)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from clientdesk.change_requests.models import ChangeRequest
from clientdesk.customers.models import Customer


def customer_resource(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.client_id,
        "display_name": customer.display_name,
        "kind": customer.kind,
        "status": customer.status,
        "country": str(customer.country or ""),
        "currency": customer.currency,
        "timezone": customer.timezone,
        "language": customer.language,
        "billing_mode": customer.billing_mode,
        "version": customer.version,
        "created_at": customer.created_at.isoformat(),
        "url": reverse("api:get_customer", args=[customer.client_id]),
    }


def change_request_resource(request: ChangeRequest) -> dict[str, Any]:
    return {
        "id": request.reference,
        "customer": request.customer.client_id,
        "kind": request.kind,
        "title": request.title,
        "status": request.status,
        "requested": request.requested,
        "current": request.snapshot,
        "approved_fields": request.approved_fields,
        "rejected_fields": request.rejected_fields,
        "decision_reason": request.decision_reason,
        "submitted_source": request.submitted_source,
        "created_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
    }
