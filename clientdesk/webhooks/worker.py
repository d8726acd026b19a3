"""The delivery worker: relay events, claim due deliveries, POST them, record the outcome.

At-least-once, never stuck:

- a claimed delivery is ``sending`` with a lease; a worker that dies mid-POST leaves the
  lease to run out, and the next claim takes the delivery again (same ``webhook-id``);
- claims on PostgreSQL use ``FOR UPDATE SKIP LOCKED``, so several workers share the queue;
- the HTTP work runs in a thread pool, the database work only in the worker's own thread,
  and each endpoint gets at most ``per_endpoint`` requests in flight: a slow or dead
  endpoint holds a few threads, never the whole pool, so healthy endpoints keep flowing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from clientdesk.core.errors import DomainError
from clientdesk.events.feed import relay

from . import destinations, payload, schedule, sending, signing
from .fanout import fan_out
from .models import Delivery, DeliveryAttempt, WebhookEndpoint

logger = logging.getLogger(__name__)


def lease() -> timedelta:
    """How long a claim lasts: longer than any one attempt can take (DNS + 10 s of HTTP),
    so only a dead worker's claims run out (``CLIENTDESK_WEBHOOK_LEASE_SECONDS``)."""
    return timedelta(seconds=settings.CLIENTDESK_WEBHOOK_LEASE_SECONDS)


@dataclass(frozen=True)
class Job:
    """What a thread needs to make one POST: no database access from threads."""

    delivery_id: int
    endpoint_id: int
    url: str
    message_id: str
    body: bytes
    secrets: tuple[str, ...]
    # Set when the job could not even be prepared (a secret that no longer decrypts…):
    # recorded as a failed attempt and retried like any other failure.
    problem: str = ""


@dataclass(frozen=True)
class Outcome:
    job: Job
    started_at: datetime
    response: sending.Response


@dataclass
class Stats:
    relayed: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    per_status: Counter[str] = field(default_factory=Counter)


def reclaim_expired(*, now: datetime) -> int:
    """Put deliveries whose worker died back in the queue."""
    return Delivery.objects.filter(
        status=Delivery.Status.SENDING, lease_expires_at__lte=now
    ).update(status=Delivery.Status.PENDING, lease_expires_at=None, next_attempt_at=now)


def claim(*, limit: int, now: datetime, in_flight: Counter[int], per_endpoint: int) -> list[Job]:
    """Take up to ``limit`` due deliveries, at most ``per_endpoint`` in flight per endpoint."""
    if limit <= 0:
        return []
    with transaction.atomic():
        full = [endpoint_id for endpoint_id, count in in_flight.items() if count >= per_endpoint]
        candidates = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            .filter(endpoint__is_active=True)
            .exclude(endpoint_id__in=full)
            .order_by("next_attempt_at", "id")
            .values_list("id", "endpoint_id")[: limit * 4]
        )
        taken: list[int] = []
        planned = Counter(in_flight)
        for delivery_id, endpoint_id in candidates:
            if planned[endpoint_id] >= per_endpoint:
                continue
            planned[endpoint_id] += 1
            taken.append(delivery_id)
            if len(taken) == limit:
                break
        if not taken:
            return []
        Delivery.objects.filter(pk__in=taken).update(
            status=Delivery.Status.SENDING, lease_expires_at=now + lease()
        )
        deliveries = list(
            Delivery.objects.filter(pk__in=taken).select_related("event__customer", "endpoint")
        )
    return [_job(delivery, now=now) for delivery in deliveries]


def _job(delivery: Delivery, *, now: datetime) -> Job:
    try:
        return _prepared_job(delivery, now=now)
    except Exception as error:  # one bad delivery must not stop the others
        logger.exception("webhook delivery %s could not be prepared", delivery.pk)
        return Job(
            delivery_id=delivery.pk,
            endpoint_id=delivery.endpoint_id,
            url=delivery.endpoint.url,
            message_id=delivery.webhook_id,
            body=b"",
            secrets=(),
            problem=str(error)[:300] or type(error).__name__,
        )


def _prepared_job(delivery: Delivery, *, now: datetime) -> Job:
    endpoint = delivery.endpoint
    secrets = [signing.decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        secrets.append(signing.decrypt(endpoint.previous_secret_encrypted))
    return Job(
        delivery_id=delivery.pk,
        endpoint_id=endpoint.pk,
        url=endpoint.url,
        message_id=payload.message_id(delivery.event),
        body=payload.body(delivery.event),
        secrets=tuple(secrets),
    )


def attempt(job: Job, *, clock: Callable[[], datetime] = timezone.now) -> Outcome:
    """Resolve, vet and POST (runs in a pool thread: no database). Never raises: whatever
    goes wrong is this attempt's error, recorded and retried."""
    started_at = clock()
    try:
        return _attempt(job, started_at)
    except Exception as error:
        logger.exception("webhook delivery %s failed unexpectedly", job.delivery_id)
        return Outcome(job, started_at, sending.Response(None, 0, error=type(error).__name__))


def _attempt(job: Job, started_at: datetime) -> Outcome:
    if job.problem:
        return Outcome(job, started_at, sending.Response(None, 0, error=job.problem))
    try:
        destination = destinations.resolve(job.url)
    except DomainError as refused:
        return Outcome(job, started_at, sending.Response(None, 0, error=refused.message[:300]))
    timestamp = int(time.time())
    headers = {
        "webhook-id": job.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            list(job.secrets), message_id=job.message_id, timestamp=timestamp, body=job.body
        ),
    }
    return Outcome(job, started_at, sending.post(destination, body=job.body, headers=headers))


def record(outcomes: list[Outcome], *, now: datetime) -> None:
    """Write what happened, in one transaction: the attempt log, the delivery's new state,
    and the endpoint's health (a 410 or days of failures switch it off)."""
    from .actions import disable_endpoint  # actions import this module's neighbours

    if not outcomes:
        return
    with transaction.atomic():
        # Successes (nearly all of them) take plain UPDATEs; the per-row work is for failures.
        successes = [o for o in outcomes if o.response.succeeded]
        outcomes = [o for o in outcomes if not o.response.succeeded]
        if successes:
            _record_successes(
                successes, now=now, still_failing={o.job.endpoint_id for o in outcomes}
            )
        if not outcomes:
            return
        # Locked, and only rows still ours: a replay or prune in between is not undone.
        deliveries = {
            delivery.pk: delivery
            for delivery in Delivery.objects.select_for_update().filter(
                pk__in=[o.job.delivery_id for o in outcomes], status=Delivery.Status.SENDING
            )
        }
        attempts = []
        succeeded_endpoints: set[int] = set()
        failed_endpoints: set[int] = set()
        gone_endpoints: set[int] = set()
        for outcome in outcomes:
            delivery = deliveries.get(outcome.job.delivery_id)
            if delivery is None or delivery.status != Delivery.Status.SENDING:
                continue  # pruned or replayed meanwhile: the log of this attempt still counts
            response = outcome.response
            delivery.attempts += 1
            delivery.last_status_code = response.status_code
            delivery.last_error = response.error or _status_text(response)
            delivery.lease_expires_at = None
            attempts.append(
                DeliveryAttempt(
                    delivery_id=delivery.pk,
                    number=delivery.attempts,
                    started_at=outcome.started_at,
                    duration_ms=response.duration_ms,
                    status_code=response.status_code,
                    error=response.error[:300],
                    response_excerpt=response.excerpt[:500],
                )
            )
            if response.succeeded:
                delivery.status = Delivery.Status.DELIVERED
                delivery.finished_at = now
                delivery.last_error = ""
                succeeded_endpoints.add(delivery.endpoint_id)
                continue
            failed_endpoints.add(delivery.endpoint_id)
            delivery.schedule_step += 1
            delay = schedule.next_delay(delivery.schedule_step)
            if response.status_code == 410:
                gone_endpoints.add(delivery.endpoint_id)
                delay = None
            elif delay is not None:
                asked = schedule.retry_after(response.retry_after, now=now)
                if asked is not None and response.status_code in (429, 503):
                    delay = asked
            if delay is None:
                delivery.status = Delivery.Status.FAILED
                delivery.finished_at = now
            else:
                delivery.status = Delivery.Status.PENDING
                delivery.next_attempt_at = now + delay
        Delivery.objects.bulk_update(
            list(deliveries.values()),
            [
                "status",
                "attempts",
                "schedule_step",
                "next_attempt_at",
                "lease_expires_at",
                "last_status_code",
                "last_error",
                "finished_at",
            ],
        )
        DeliveryAttempt.objects.bulk_create(attempts)
        _update_health(
            succeeded=succeeded_endpoints - failed_endpoints,
            failed=failed_endpoints,
            gone=gone_endpoints,
            now=now,
            disable=disable_endpoint,
        )


def _record_successes(outcomes: list[Outcome], *, now: datetime, still_failing: set[int]) -> None:
    """Delivered: one UPDATE per status code, the attempt log in one INSERT, and the end of
    a failure streak (unless the same endpoint also failed in this batch)."""
    made = dict(
        Delivery.objects.filter(
            pk__in=[o.job.delivery_id for o in outcomes], status=Delivery.Status.SENDING
        ).values_list("pk", "attempts")
    )
    by_code: dict[int | None, list[int]] = defaultdict(list)
    attempts = []
    endpoints = set()
    for outcome in outcomes:
        if outcome.job.delivery_id not in made:
            continue  # pruned or replayed meanwhile
        response = outcome.response
        by_code[response.status_code].append(outcome.job.delivery_id)
        endpoints.add(outcome.job.endpoint_id)
        attempts.append(
            DeliveryAttempt(
                delivery_id=outcome.job.delivery_id,
                number=made[outcome.job.delivery_id] + 1,
                started_at=outcome.started_at,
                duration_ms=response.duration_ms,
                status_code=response.status_code,
                error=response.error[:300],
                response_excerpt=response.excerpt[:500],
            )
        )
    for code, ids in by_code.items():
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.DELIVERED,
            attempts=F("attempts") + 1,
            last_status_code=code,
            last_error="",
            lease_expires_at=None,
            finished_at=now,
        )
    DeliveryAttempt.objects.bulk_create(attempts)
    WebhookEndpoint.objects.filter(
        pk__in=endpoints - still_failing, failing_since__isnull=False
    ).update(failing_since=None)


def _status_text(response: sending.Response) -> str:
    if response.succeeded or response.status_code is None:
        return ""
    if 300 <= response.status_code < 400:
        return f"HTTP {response.status_code}: redirects are not followed."
    return f"HTTP {response.status_code}"


def _update_health(
    *,
    succeeded: set[int],
    failed: set[int],
    gone: set[int],
    now: datetime,
    disable: Callable[..., object],
) -> None:
    if succeeded:
        WebhookEndpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(
            failing_since=None
        )
    if failed:
        WebhookEndpoint.objects.filter(pk__in=failed, failing_since__isnull=True).update(
            failing_since=now
        )
    limit = now - timedelta(days=settings.CLIENTDESK_WEBHOOK_DISABLE_AFTER_DAYS)
    for endpoint in WebhookEndpoint.objects.filter(is_active=True).filter(
        Q(pk__in=gone) | Q(pk__in=failed, failing_since__lte=limit)
    ):
        if endpoint.pk in gone:
            reason = "The endpoint answered 410 Gone: it asked not to receive more events."
        else:
            days = settings.CLIENTDESK_WEBHOOK_DISABLE_AFTER_DAYS
            reason = f"Every delivery failed for {days} days."
        disable(endpoint=endpoint, reason=reason)


class Worker:
    """The loop behind ``manage.py run_webhooks``; ``run_once`` drains what is due now."""

    def __init__(
        self,
        *,
        threads: int = 16,
        per_endpoint: int = 4,
        poll_seconds: float = 0.5,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.threads = threads
        self.per_endpoint = per_endpoint
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.stats = Stats()
        self._last_reclaim = 0.0
        self._last_connection_check = 0.0

    def relay_all(self) -> int:
        total = 0
        while True:
            count = relay(fan_out=fan_out)
            total += count
            if count == 0:
                break
        self.stats.relayed += total
        return total

    def run_once(self) -> Stats:
        """Relay, then deliver everything due now and wait for the answers (tests, cron)."""
        self.relay_all()
        reclaim_expired(now=self.clock())
        with ThreadPoolExecutor(self.threads) as pool:
            while True:
                jobs = claim(
                    limit=self.threads * 4,
                    now=self.clock(),
                    in_flight=Counter(),
                    per_endpoint=self.threads * 4,
                )
                if not jobs:
                    break
                outcomes = list(pool.map(lambda job: attempt(job, clock=self.clock), jobs))
                self._record(outcomes)
        return self.stats

    def run(self, *, stop: threading.Event, idle_exit: bool = False) -> Stats:
        """Work until ``stop`` is set (or, with ``idle_exit``, until nothing is left to do).

        A turn that fails (the database went away, a bug) is logged and the loop goes on
        after a pause: the deliveries it held are claimed again when their lease runs out.
        """
        in_flight: dict[Future[Outcome], Job] = {}
        per_endpoint: Counter[int] = Counter()
        with ThreadPoolExecutor(self.threads) as pool:
            while not stop.is_set():
                try:
                    if self._turn(pool, in_flight, per_endpoint, stop=stop, idle_exit=idle_exit):
                        break
                except Exception:
                    logger.exception("webhook worker turn failed; going on in a second")
                    stop.wait(1)
            # Stopping: wait for the requests already sent and record them.
            for future in in_flight:
                self._record([future.result()])
        return self.stats

    def _turn(
        self,
        pool: ThreadPoolExecutor,
        in_flight: dict[Future[Outcome], Job],
        per_endpoint: Counter[int],
        *,
        stop: threading.Event,
        idle_exit: bool,
    ) -> bool:
        """One turn of the loop; True when an ``idle_exit`` run is done."""
        if (
            not connection.in_atomic_block  # (a test's transaction: keep it)
            and time.monotonic() - self._last_connection_check > 30
        ):
            # Now and then, not every turn: with CONN_MAX_AGE=0 each check reconnects,
            # which costs more than a delivery.
            close_old_connections()
            self._last_connection_check = time.monotonic()
        relayed = relay(fan_out=fan_out)
        self.stats.relayed += relayed
        if time.monotonic() - self._last_reclaim > 10:
            reclaim_expired(now=self.clock())
            self._last_reclaim = time.monotonic()
        free = self.threads * 2 - len(in_flight)
        jobs = claim(
            limit=free, now=self.clock(), in_flight=per_endpoint, per_endpoint=self.per_endpoint
        )
        for job in jobs:
            in_flight[pool.submit(attempt, job, clock=self.clock)] = job
            per_endpoint[job.endpoint_id] += 1
        if not in_flight:
            if idle_exit and not relayed and not jobs and not self._anything_due():
                return True
            if not jobs and not relayed:
                stop.wait(self.poll_seconds)
            return False
        done, _ = wait(list(in_flight), timeout=0.05, return_when=FIRST_COMPLETED)
        outcomes = []
        for future in done:
            job = in_flight.pop(future)
            per_endpoint[job.endpoint_id] -= 1
            outcomes.append(future.result())
        self._record(outcomes)
        return False

    def _anything_due(self) -> bool:
        return Delivery.objects.filter(
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=self.clock(),
            endpoint__is_active=True,
        ).exists()

    def _record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        record(outcomes, now=self.clock())
        for outcome in outcomes:
            if outcome.response.succeeded:
                self.stats.delivered += 1
            else:
                self.stats.failed_attempts += 1
            self.stats.per_status[str(outcome.response.status_code)] += 1
