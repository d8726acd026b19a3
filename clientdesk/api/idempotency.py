"""``Idempotency-Key`` on POSTs that create things or move money.

The same key with the same request within 24 hours answers with the first response (and
``Idempotent-Replayed: true``) instead of acting twice; the same key with another request
is refused with 422; a second copy arriving while the first still runs waits for it, then
gets its answer (409 only if the stored row is somehow unfinished). Keys are per API key, so
two programs cannot collide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .context import Caller
from .models import IdempotentRequest
from .problems import problem

LIFETIME = timedelta(hours=24)
KEY_MAX = 255
KEPT_HEADERS = ("Content-Type", "ETag", "Location")


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.body):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def idempotent(
    request: HttpRequest, caller: Caller, run: Callable[[], HttpResponse]
) -> HttpResponse:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return run()
    if not key or len(key) > KEY_MAX or not key.isascii() or not key.isprintable():
        return problem(
            400, "invalid", f"Idempotency-Key must be 1–{KEY_MAX} printable ASCII characters."
        )
    fingerprint = _fingerprint(request)
    # The key's row, the action and the stored answer commit together: a request that dies
    # half-way leaves no row behind (the key may simply be retried), and a second copy sent
    # meanwhile waits on the row's unique index, then gets the stored answer.
    with transaction.atomic():
        IdempotentRequest.objects.filter(
            api_key=caller.key, key=key, created_at__lt=timezone.now() - LIFETIME
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    api_key=caller.key, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = None
        if record is not None:
            response = run()  # a refusal raises: everything above rolls back with it
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            record.status = response.status_code
            record.body = response.content
            record.headers = {
                name: response[name] for name in KEPT_HEADERS if response.has_header(name)
            }
            record.save(update_fields=["status", "body", "headers"])
            return response
    return _replay(caller, key, fingerprint)


def _replay(caller: Caller, key: str, fingerprint: str) -> HttpResponse:
    first = IdempotentRequest.objects.filter(api_key=caller.key, key=key).first()
    if first is None:  # removed meanwhile (the first attempt failed): try again
        return problem(
            409, "idempotency_in_progress", "Retry this request.", headers={"Retry-After": "1"}
        )
    if first.fingerprint != fingerprint:
        return problem(
            422,
            "idempotency_mismatch",
            "This Idempotency-Key was used for a different request. Use a new key.",
        )
    if first.status == 0:
        return problem(
            409,
            "idempotency_in_progress",
            "The first request with this Idempotency-Key is still being processed.",
            headers={"Retry-After": "1"},
        )
    response = HttpResponse(bytes(first.body), status=first.status)
    for name, value in first.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def prune() -> int:
    """Forget keys older than 24 hours (scheduled)."""
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=timezone.now() - LIFETIME).delete()
    return deleted
