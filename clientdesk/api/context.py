"""Who is calling: the API key, the actor it acts as, and what it may see."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja.security import HttpBearer

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.core.actor import Actor, client_ip
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.access import parse_customer_number
from clientdesk.customers.models import Customer


class RateLimitedError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


class MissingScopeError(Exception):
    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    actor: Actor

    @property
    def is_staff(self) -> bool:
        return self.key.kind == ApiKey.Kind.STAFF

    def require(self, scope: str) -> None:
        if scope not in self.key.scopes:
            raise MissingScopeError(scope)

    def customers(self) -> QuerySet[Customer]:
        """The customers this key may see: its own for a customer key; every one (or the
        listed ones) for a staff key."""
        if self.key.kind == ApiKey.Kind.CUSTOMER:
            return Customer.objects.filter(pk=self.key.customer_id or 0)
        restricted = list(self.key.customers.values_list("pk", flat=True))
        queryset = Customer.objects.all()
        return queryset.filter(pk__in=restricted) if restricted else queryset

    def customer(self, client_id: str) -> Customer:
        """One visible customer by client ID (``C-100042`` or ``100042``), else 404 — the
        same answer whether it does not exist or belongs to someone else."""
        number = parse_customer_number(client_id)
        if number is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such customer.")
        customer = self.customers().filter(number=number).first()
        if customer is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such customer.")
        return customer


def _rate_limit(key: ApiKey) -> None:
    """A fixed one-minute window per key (``CLIENTDESK_API_REQUESTS_PER_MINUTE``), counted in
    the shared cache so every app process enforces the same budget."""
    limit = settings.CLIENTDESK_API_REQUESTS_PER_MINUTE
    now = time.time()
    window = int(now // 60)
    counter = f"api-rate:{key.pk}:{window}"
    cache.add(counter, 0, timeout=120)
    try:
        used = cache.incr(counter)
    except ValueError:  # evicted between add and incr: start again
        cache.set(counter, 1, timeout=120)
        used = 1
    if used > limit:
        raise RateLimitedError(retry_after=max(1, int((window + 1) * 60 - now)))


class BearerKey(HttpBearer):
    """``Authorization: Bearer cdk_…``. A revoked or expired key, or the key of a suspended
    customer, gets 401 on its next request."""

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        key = keys.authenticate(token)
        if key is None:
            return None
        _rate_limit(key)
        actor = keys.actor_for(
            key, ip=client_ip(request), request_id=getattr(request, "request_id", "")
        )
        return Caller(key=key, actor=actor)


def caller(request: HttpRequest) -> Caller:
    auth = getattr(request, "auth", None)
    assert isinstance(auth, Caller)
    return auth
