"""Who hears about each step of a change request, and the emails they get.

Customer side: the person who asked, plus the customer's contacts who chose the request's
notification topic (billing for billing and e-invoice details, account & security for the
rest). Staff side: ``CLIENTDESK_CHANGE_REQUEST_INBOX`` when set, otherwise the managers;
a customer's reply goes to the staff member who asked the question. Call these inside the
action's transaction: ``queue_email`` delivers after commit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from clientdesk.customers.models import Contact, NotificationTopic
from clientdesk.notifications.actions import queue_email
from clientdesk.users.models import User

from .models import ChangeRequest, Kind, Message, Status
from .values import label, shown

BILLING_KINDS = frozenset({Kind.BILLING, Kind.EINVOICE})


def topic_for(request: ChangeRequest) -> str:
    if request.kind in BILLING_KINDS:
        return NotificationTopic.BILLING.value
    return NotificationTopic.ACCOUNT.value


def customer_recipients(request: ChangeRequest) -> list[str]:
    """The requester (when a contact of the customer) and the contacts following the topic.
    A primary-email request is the owner's own business: only the owner is told."""
    topic = topic_for(request)
    contacts = Contact.objects.filter(customer_id=request.customer_id).only(
        "email", "user_id", "role", "notification_topics"
    )
    addresses: list[str] = []
    for contact in contacts:
        if not contact.email:
            continue
        asked = request.submitted_by_id is not None and contact.user_id == request.submitted_by_id
        if request.kind == Kind.PRIMARY_EMAIL:
            follows = contact.role == "owner"
        else:
            follows = topic in (contact.notification_topics or [])
        if asked or follows:
            addresses.append(contact.email)
    return list(dict.fromkeys(addresses))


def staff_recipients(request: ChangeRequest, *, reply_to_asker: bool = False) -> list[str]:
    if reply_to_asker:
        asker = (
            Message.objects.filter(change_request=request, from_staff=True)
            .exclude(author=None)
            .select_related("author")
            .order_by("-id")
            .first()
        )
        if asker is not None and asker.author is not None and asker.author.is_active:
            return [asker.author.email]
    inbox = list(getattr(settings, "CLIENTDESK_CHANGE_REQUEST_INBOX", []) or [])
    if inbox:
        return inbox
    managers = User.objects.filter(is_staff=True, is_active=True, groups__name="manager")
    return sorted(set(managers.values_list("email", flat=True)))


def portal_url(request: ChangeRequest) -> str:
    path = reverse("portal:change-request", args=[request.customer.number, request.number])
    return settings.SITE_URL.rstrip("/") + path


def staff_url(request: ChangeRequest) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("staff:change-request", args=[request.number])


def changes_listed(request: ChangeRequest) -> list[dict[str, Any]]:
    """The requested changes in words, for the emails."""
    customer = request.customer
    return [
        {
            "label": label(name),
            "old": shown(customer, name, request.snapshot.get(name)),
            "new": shown(customer, name, value),
            "approved": name in request.approved_fields,
        }
        for name, value in request.requested.items()
    ]


def _send(to: list[str], template: str, request: ChangeRequest, **context: Any) -> None:
    if not to:
        return
    queue_email(
        to=to,
        template=f"change_requests/email/{template}",
        context={
            "request": request,
            "customer": request.customer,
            "changes": changes_listed(request),
            **context,
        },
        customer_id=request.customer_id,
    )


def submitted(request: ChangeRequest) -> None:
    _send(customer_recipients(request), "received", request, url=portal_url(request))
    _send(staff_recipients(request), "new_request", request, url=staff_url(request))


def staff_wrote(request: ChangeRequest, message: Message) -> None:
    _send(
        customer_recipients(request),
        "staff_message",
        request,
        message=message,
        awaiting=request.status == Status.AWAITING_CUSTOMER,
        url=portal_url(request),
    )


def customer_wrote(request: ChangeRequest, message: Message) -> None:
    _send(
        staff_recipients(request, reply_to_asker=True),
        "customer_message",
        request,
        message=message,
        url=staff_url(request),
    )


def cancelled(request: ChangeRequest, *, by_staff: bool) -> None:
    if by_staff:
        _send(customer_recipients(request), "cancelled", request, url=portal_url(request))
    else:
        _send(staff_recipients(request), "cancelled_staff", request, url=staff_url(request))


def decided(request: ChangeRequest) -> None:
    _send(customer_recipients(request), "decided", request, url=portal_url(request))
