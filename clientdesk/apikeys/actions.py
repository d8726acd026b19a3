"""Every state change of API keys, and the check each API request makes.

Keys are made by people for themselves: a customer's owner or admin (in the portal) for
that customer, or a staff member (in the console) for their own work. Never during Login
As — a staff member acting as a customer must not mint that customer's credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import validators
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Capability, has_capability
from clientdesk.events.publish import publish
from clientdesk.users.roles import MANAGER, has_staff_role

from .models import ApiKey
from .scopes import CUSTOMER_SCOPES, SCOPES

TOKEN_PREFIX = "cdk_"  # noqa: S105 (a marker, not a secret)
NAME_MAX = 100
LONGEST_LIFETIME = timedelta(days=730)
# ``last_used_at`` is written at most this often per key: not one write per request.
LAST_USED_PRECISION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    """``cdk_<8 chars>_<43 chars>``: the first part is the visible prefix."""
    visible = TOKEN_PREFIX + secrets.token_hex(4)
    return visible, f"{visible}_{secrets.token_urlsafe(32)}"


def key_resource(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.pk,
        "name": key.name,
        "kind": key.kind,
        "prefix": key.prefix,
        "customer": key.customer.client_id if key.customer is not None else None,
        "scopes": list(key.scopes),
        "created_by_id": key.created_by_id,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked": key.revoked_at is not None,
    }


def _clean(
    name: str, scopes: Iterable[str], allowed: Iterable[str], expires_at: datetime | None
) -> tuple[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        name = validators.clean_text(str(name or ""))
    except ValidationError as error:
        errors["name"] = [str(message) for message in error.messages]
    if not errors and not name:
        errors["name"] = ["Name the key after the program that uses it."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"Keep the name under {NAME_MAX} characters."]
    chosen = sorted(set(scopes))
    allowed = set(allowed)
    if not chosen:
        errors["scopes"] = ["Choose at least one permission."]
    elif any(scope not in allowed for scope in chosen):
        errors["scopes"] = ["This key cannot hold one of those permissions."]
    now = timezone.now()
    if expires_at is not None and not (now < expires_at <= now + LONGEST_LIFETIME):
        errors["expires_at"] = ["Choose an expiry date in the next two years."]
    if errors:
        raise DomainError(ErrorCode.INVALID, next(iter(errors.values()))[0], errors=errors)
    return name, chosen


def _refuse_login_as(actor: Actor) -> None:
    if actor.impersonator is not None:
        raise DomainError(
            ErrorCode.NOT_ALLOWED, "API keys cannot be made or revoked during Login As."
        )


@transaction.atomic
def create_customer_key(
    *,
    actor: Actor,
    customer: Customer,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A key for one customer, made by its owner or an admin; returns the token (shown once)."""
    _refuse_login_as(actor)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    user = actor.user
    if actor.source != Source.PORTAL or user is None or not _manages_keys(user, locked):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only the owner or an admin can make API keys.")
    if locked.status != Customer.Status.ACTIVE:
        raise DomainError(ErrorCode.NOT_ALLOWED, "This account is not active.")
    name, chosen = _clean(name, scopes, CUSTOMER_SCOPES, expires_at)
    prefix, token = _new_token()
    key = ApiKey.objects.create(
        name=name,
        kind=ApiKey.Kind.CUSTOMER,
        prefix=prefix,
        token_hash=_hash(token),
        customer=locked,
        scopes=chosen,
        created_by=user,
        expires_at=expires_at,
    )
    _created(key, actor=actor, customer=locked)
    return key, token


@transaction.atomic
def create_staff_key(
    *,
    actor: Actor,
    name: str,
    scopes: Iterable[str],
    customers: Iterable[Customer] = (),
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A key for the staff member making it, acting with their groups at every request."""
    _refuse_login_as(actor)
    user = actor.user
    if actor.source != Source.STAFF or user is None or not user.is_staff:
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff can make staff API keys.")
    name, chosen = _clean(name, scopes, SCOPES, expires_at)
    prefix, token = _new_token()
    key = ApiKey.objects.create(
        name=name,
        kind=ApiKey.Kind.STAFF,
        prefix=prefix,
        token_hash=_hash(token),
        scopes=chosen,
        created_by=user,
        expires_at=expires_at,
    )
    key.customers.set(list(customers))
    _created(key, actor=actor, customer=None)
    return key, token


def _created(key: ApiKey, *, actor: Actor, customer: Customer | None) -> None:
    resource = key_resource(key)
    record(
        "api_key.created",
        actor=actor,
        customer=customer,
        target=key,
        changes={
            "scopes": [None, resource["scopes"]],
            "expires_at": [None, resource["expires_at"]],
        },
        staff_only=customer is None,
    )
    publish("api_key.created", actor=actor, customer=customer, data=resource)


def _manages_keys(user: Any, customer: Customer) -> bool:
    if user is None:
        return False
    role = (
        Contact.objects.filter(customer=customer, user=user, portal_access=True)
        .values_list("role", flat=True)
        .first()
    )
    return role is not None and has_capability(role, Capability.MANAGE_API_KEYS)


def may_revoke(user: Any, key: ApiKey) -> bool:
    if key.kind == ApiKey.Kind.CUSTOMER:
        assert key.customer is not None
        return _manages_keys(user, key.customer)
    return user is not None and (key.created_by_id == user.pk or has_staff_role(user, MANAGER))


@transaction.atomic
def revoke_key(*, actor: Actor, key: ApiKey, reason: str = "") -> ApiKey:
    """Stop a key at once: its next request gets 401. Revoking twice changes nothing."""
    _refuse_login_as(actor)
    locked = (
        ApiKey.objects.select_for_update(of=("self",)).select_related("customer").get(pk=key.pk)
    )
    if actor.source != Source.SYSTEM and not may_revoke(actor.user, locked):
        raise DomainError(ErrorCode.NOT_FOUND, "No such API key.")
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor.user
    locked.save(update_fields=["revoked_at", "revoked_by"])
    record(
        "api_key.revoked",
        actor=actor,
        customer=locked.customer,
        target=locked,
        changes={"revoked": [False, True]},
        reason=" ".join(reason.split())[:300],
        staff_only=locked.customer is None,
    )
    publish("api_key.revoked", actor=actor, customer=locked.customer, data=key_resource(locked))
    return locked


def authenticate(token: str) -> ApiKey | None:
    """The live key behind ``token``, or None: unknown, revoked, expired, its maker no
    longer active (or no longer staff / owner-or-admin), or its customer not active."""
    prefix = token[: len(TOKEN_PREFIX) + 8]
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200 or token[len(prefix) :][:1] != "_":
        return None
    key = ApiKey.objects.select_related("customer", "created_by").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.token_hash, _hash(token)):
        return None
    now = timezone.now()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    user = key.created_by
    if not user.is_active:
        return None
    if key.kind == ApiKey.Kind.STAFF and not user.is_staff:
        return None
    if key.kind == ApiKey.Kind.CUSTOMER:
        assert key.customer is not None
        if key.customer.status != Customer.Status.ACTIVE or not _manages_keys(user, key.customer):
            return None
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def actor_for(key: ApiKey, *, ip: str | None, request_id: str) -> Actor:
    """Who acts for a request made with ``key``: its maker, through the API. A staff key
    keeps the staff authority (the policy's staff rules), a customer key the customer's."""
    source = Source.STAFF if key.kind == ApiKey.Kind.STAFF else Source.API
    return Actor(key.created_by, source, ip=ip, request_id=request_id, api_key=key.prefix)
