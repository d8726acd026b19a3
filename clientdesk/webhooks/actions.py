"""Every state change of webhook endpoints and deliveries (DESIGN §4: managers keep the
integrations; any staff member may send a failed delivery again from a customer's page)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.access import parse_customer_number
from clientdesk.customers.models import Customer
from clientdesk.events import catalogue
from clientdesk.events.publish import publish
from clientdesk.notifications.actions import queue_email
from clientdesk.users.roles import MANAGER, STAFF_GROUPS, has_staff_role

from . import destinations, signing
from .models import Delivery, WebhookEndpoint

URL_MAX = 2000
TARGET_MAX = 60
DESCRIPTION_MAX = 300
ROTATION_GRACE = timedelta(hours=24)
REPLAY_MAX = 10_000  # one bulk replay; more is a second press


def may_manage_webhooks(user: Any) -> bool:
    return has_staff_role(user, MANAGER)


def _require_manager(actor: Actor) -> None:
    if actor.source != Source.SYSTEM and not may_manage_webhooks(actor.user):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only managers can change webhook endpoints.")


def endpoint_resource(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as events and the API show it (never its secret)."""
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "target": endpoint.target,
        "event_types": list(endpoint.event_types),
        "customers": [
            customer.client_id
            for customer in Customer.objects.filter(
                pk__in=endpoint.customers.values("pk")
            ).order_by("number")
        ]
        if endpoint.pk
        else [],
        "is_active": endpoint.is_active,
        "disabled_reason": endpoint.disabled_reason,
        "secret_hint": endpoint.secret_hint,
        "version": endpoint.version,
    }


def _clean(
    *, url: str, target: str, description: str, event_types: Iterable[str], customers: Iterable[str]
) -> tuple[str, str, str, list[str], list[Customer]]:
    errors: dict[str, list[str]] = {}
    url = (url or "").strip()
    if not url:
        errors["url"] = ["Enter the URL that receives the events."]
    elif len(url) > URL_MAX:
        errors["url"] = [f"Keep the URL under {URL_MAX} characters."]
    else:
        try:
            destinations.resolve(url)
        except DomainError as refused:
            errors["url"] = [refused.message]
    target = " ".join((target or "").split())
    if not target:
        errors["target"] = ['Name the system this feeds, e.g. "Billing", "cPanel" or "WHOIS".']
    elif len(target) > TARGET_MAX:
        errors["target"] = [f"Keep the name under {TARGET_MAX} characters."]
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"Keep the description under {DESCRIPTION_MAX} characters."]
    types = sorted(set(event_types))
    unknown = [pattern for pattern in types if not catalogue.is_known_pattern(pattern)]
    if unknown:
        errors["event_types"] = [f"Unknown event type: {unknown[0]}."]
    parsed = {parse_customer_number(str(given)) for given in customers if str(given).strip()}
    found = list(Customer.objects.filter(number__in=[n for n in parsed if n is not None]))
    if None in parsed or len(found) != len(parsed):
        errors["customers"] = ["One of the customers does not exist: use client IDs like C-100042."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(ErrorCode.INVALID, first, errors=errors)
    return url, target, description, types, found


@transaction.atomic
def create_endpoint(
    *,
    actor: Actor,
    url: str,
    target: str,
    description: str = "",
    event_types: Iterable[str] = (),
    customers: Iterable[str] = (),
    secret: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint. Returns it with its signing secret — the only time the secret
    is shown. ``customers`` are client IDs; none means every customer. ``secret`` is for the
    demo data only (a fixed secret its local receiver knows); otherwise one is generated."""
    _require_manager(actor)
    url, target, description, types, found = _clean(
        url=url,
        target=target,
        description=description,
        event_types=event_types,
        customers=customers,
    )
    secret = secret or signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        target=target,
        description=description,
        event_types=types,
        secret_encrypted=signing.encrypt(secret),
        secret_hint=signing.hint(secret),
        created_by=actor.user,
    )
    endpoint.customers.set(found)
    resource = endpoint_resource(endpoint)
    record(
        "webhook_endpoint.created",
        actor=actor,
        target=endpoint,
        changes={key: [None, value] for key, value in resource.items() if key != "version"},
        staff_only=True,
    )
    publish("webhook_endpoint.created", actor=actor, data=resource)
    return endpoint, secret


def _locked(endpoint: WebhookEndpoint, *, version: int | None) -> WebhookEndpoint:
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if version is not None and locked.version != version:
        raise DomainError(
            ErrorCode.STALE_VERSION,
            "Someone else changed this endpoint meanwhile. Reload it and make your change again.",
        )
    return locked


@transaction.atomic
def update_endpoint(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    version: int | None,
    url: str,
    target: str,
    description: str = "",
    event_types: Iterable[str] = (),
    customers: Iterable[str] = (),
) -> WebhookEndpoint:
    _require_manager(actor)
    locked = _locked(endpoint, version=version)
    before = endpoint_resource(locked)
    url, target, description, types, found = _clean(
        url=url,
        target=target,
        description=description,
        event_types=event_types,
        customers=customers,
    )
    locked.url, locked.target, locked.description, locked.event_types = (
        url,
        target,
        description,
        types,
    )
    locked.customers.set(found)
    after = endpoint_resource(locked)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if not changes:
        return locked
    locked.version += 1
    locked.save(update_fields=["url", "target", "description", "event_types", "version"])
    record("webhook_endpoint.updated", actor=actor, target=locked, changes=changes, staff_only=True)
    publish(
        "webhook_endpoint.updated",
        actor=actor,
        data={**endpoint_resource(locked), "changes": changes},
    )
    return locked


@transaction.atomic
def rotate_secret(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    grace: timedelta = ROTATION_GRACE,
    version: int | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Replace the signing secret. For ``grace`` (24 hours) every delivery is signed with
    both the new and the old secret, so the receiver can switch without losing events."""
    _require_manager(actor)
    locked = _locked(endpoint, version=version)
    secret = signing.new_secret()
    old_hint = locked.secret_hint
    locked.previous_secret_encrypted = locked.secret_encrypted
    old_valid_until = timezone.now() + grace
    locked.previous_secret_expires_at = old_valid_until
    locked.secret_encrypted = signing.encrypt(secret)
    locked.secret_hint = signing.hint(secret)
    locked.version += 1
    locked.save()
    record(
        "webhook_endpoint.secret_rotated",
        actor=actor,
        target=locked,
        changes={"secret_hint": [old_hint, locked.secret_hint]},
        staff_only=True,
    )
    publish(
        "webhook_endpoint.secret_rotated",
        actor=actor,
        data={
            **endpoint_resource(locked),
            "old_secret_valid_until": old_valid_until.isoformat(),
        },
    )
    return locked, secret


@transaction.atomic
def set_endpoint_active(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    active: bool,
    reason: str = "",
    version: int | None = None,
) -> WebhookEndpoint:
    """Switch an endpoint on or off. Switching on forgets its failure streak."""
    _require_manager(actor)
    locked = _locked(endpoint, version=version)
    if locked.is_active == active:
        return locked
    reason = " ".join(reason.split())[:300]
    _switch(locked, active=active, reason=reason or ("" if active else "Switched off by staff."))
    verb = "webhook_endpoint.enabled" if active else "webhook_endpoint.disabled"
    record(
        verb,
        actor=actor,
        target=locked,
        changes={"is_active": [not active, active]},
        reason=reason,
        staff_only=True,
    )
    publish(verb, actor=actor, data=endpoint_resource(locked))
    return locked


# Where a switched-off endpoint's waiting deliveries wait: out of the worker's way (the
# queue index is ordered by next_attempt_at), back to "now" when it is switched on.
PARKED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)


def _switch(endpoint: WebhookEndpoint, *, active: bool, reason: str) -> None:
    Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
        next_attempt_at=timezone.now() if active else PARKED_UNTIL
    )
    endpoint.is_active = active
    endpoint.disabled_reason = "" if active else reason
    endpoint.failing_since = None if active else endpoint.failing_since
    endpoint.version += 1
    endpoint.save(update_fields=["is_active", "disabled_reason", "failing_since", "version"])


def disable_endpoint(*, endpoint: WebhookEndpoint, reason: str) -> None:
    """The system switches off an endpoint that answered 410 or failed for days, and tells
    the managers. Runs inside the worker's recording transaction."""
    actor = Actor.system()
    _switch(endpoint, active=False, reason=reason)
    record(
        "webhook_endpoint.disabled",
        actor=actor,
        target=endpoint,
        changes={"is_active": [True, False]},
        reason=reason,
        staff_only=True,
    )
    publish("webhook_endpoint.disabled", actor=actor, data=endpoint_resource(endpoint))
    managers = list(
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name=MANAGER)
        .values_list("email", flat=True)
        .distinct()
    )
    if managers:
        queue_email(
            to=managers,
            template="webhooks/email/endpoint_disabled",
            context={
                "endpoint": endpoint,
                "reason": reason,
                "endpoint_path": reverse("staff:webhook-detail", args=[endpoint.pk]),
            },
        )


@transaction.atomic
def replay_deliveries(
    *, actor: Actor, deliveries: Iterable[Delivery], customer: Customer | None = None
) -> int:
    """Send finished deliveries again now, with a fresh retry schedule and the same
    ``webhook-id``. Any staff role may replay (from a customer's Integrations tab);
    replaying across customers from an endpoint's page is for managers."""
    if customer is None:
        _require_manager(actor)
    elif not has_staff_role(actor.user, *STAFF_GROUPS):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff can send deliveries again.")
    ids = [delivery.pk for delivery in deliveries][:REPLAY_MAX]
    queryset = Delivery.objects.filter(
        pk__in=ids, status__in=[Delivery.Status.FAILED, Delivery.Status.DELIVERED]
    )
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    replayed = list(queryset.select_for_update().values_list("pk", "endpoint_id"))
    if not replayed:
        raise DomainError(
            ErrorCode.CONFLICT, "Nothing to send again: those deliveries are already queued."
        )
    Delivery.objects.filter(pk__in=[pk for pk, _ in replayed]).update(
        status=Delivery.Status.PENDING,
        schedule_step=0,
        next_attempt_at=timezone.now(),
        finished_at=None,
    )
    endpoints = sorted({endpoint_id for _, endpoint_id in replayed})
    record(
        "webhook.deliveries_replayed",
        actor=actor,
        customer=customer,
        changes={"deliveries": [None, len(replayed)], "endpoints": [None, endpoints]},
        staff_only=True,
    )
    publish(
        "webhook.deliveries_replayed",
        actor=actor,
        data={"deliveries": [pk for pk, _ in replayed], "endpoints": endpoints},
    )
    return len(replayed)
