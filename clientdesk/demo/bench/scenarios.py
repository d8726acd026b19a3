"""What ``manage.py bench`` measures, each scenario with the floors of the same run.

A *page* scenario is a list of requests sent in turn through the real WSGI handler; its
floors replay each request's captured SQL (``floors``). The other scenarios time what a
page cannot show: concurrent writers, the share of a write that Activity takes, the balance
on a huge ledger, sign-in with the configured password hasher.
"""

from __future__ import annotations

import io
import json
import math
import random
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from time import perf_counter
from typing import Any
from unittest import mock

from django.contrib.auth.hashers import check_password, make_password
from django.core.management import call_command
from django.db import OperationalError, close_old_connections, connection, connections
from django.urls import reverse

from clientdesk.core.actor import Actor, Source
from clientdesk.customers import actions as customer_actions
from clientdesk.customers.models import Customer
from clientdesk.customers.notes import add_note
from clientdesk.ledger.queries import summary
from clientdesk.staff.customer_list import make_cursor

from . import floors
from .client import Answer, BenchClient
from .samples import COMMON_TERMS, Samples
from .setup import PASSWORD, Cast, open_requests, session_cookie
from .stats import Timing, timed


class BenchFailure(Exception):
    """A scenario answered something other than what it should: its figures mean nothing."""


@dataclass
class Target:
    """The issue's bar for a scenario: a p95 in ms, a share of a floor's throughput, a
    ceiling on a ratio, or a minimum rate."""

    p95_ms: float | None = None
    bare_throughput_share: float | None = None
    max_ratio: float | None = None
    min_rate: float | None = None
    text: str = ""


@dataclass
class Result:
    """One round of one scenario: its timing, the floors' timings, and extras."""

    timing: Timing
    sql: float = 0.0
    raw: Timing | None = None
    bare: Timing | None = None
    hello: Timing | None = None
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    group: str
    run: Callable[[int], Result]
    target: Target = field(default_factory=Target)
    note: str = ""
    once: bool = False  # minutes long and self-averaging: one round only


Send = Callable[[int], Answer]


def _checked(answer: Answer, expect: Sequence[int], what: str) -> Answer:
    if answer.status not in expect:
        body = answer.body[:300].decode("utf-8", "replace")
        raise BenchFailure(f"{what}: HTTP {answer.status}, expected {list(expect)}: {body}")
    return answer


class Bench:
    """Builds the scenarios for one database, with its cast and samples."""

    def __init__(self, cast: Cast, *, runs: int, seed: int) -> None:
        self.cast, self.runs = cast, runs
        self.rng = random.Random(seed)  # noqa: S311 -- sampling, not secrets
        self.samples = Samples(self.rng, 50)
        self.anonymous = BenchClient()
        self.staff = self._signed_in(cast.support)
        self.manager = self._signed_in(cast.manager)
        self.owner = self._signed_in(cast.owner)
        self.large_owner = self._signed_in(cast.large_owner)
        self.api = BenchClient(HTTP_AUTHORIZATION=f"Bearer {cast.api_token}")

    @staticmethod
    def _signed_in(user: Any) -> BenchClient:
        client = BenchClient()
        client.set_cookie("sessionid", session_cookie(user))
        return client

    # --- page scenarios ---------------------------------------------------------------------

    def page(
        self,
        name: str,
        group: str,
        client: BenchClient,
        paths: Sequence[str],
        *,
        target: Target | None = None,
        note: str = "",
    ) -> Scenario:
        """GET ``paths`` in turn; floors replay each path's captured SQL."""

        def send(i: int) -> Answer:
            path = paths[i % len(paths)]
            return _checked(client.get(path), (200,), f"{name} {path}")

        def run(_round: int) -> Result:
            for i in range(min(len(paths), 10)):
                send(i)  # warm-up: caches, the connection, prepared plans
            timing = timed_sends(send, self.runs)
            captured = []
            for i, path in enumerate(paths):
                with floors.capturing() as sql:
                    send(i)
                key = f"{_slug(name)}-{i}"
                floors.REPLAYS[key] = sql
                captured.append((key, sql))
                del path
            return self._with_floors(timing, captured)

        return Scenario(name, group, run, target or Target(), note)

    def _with_floors(self, timing: Timing, captured: list[tuple[str, floors.Captured]]) -> Result:
        runs = self.runs

        def raw(i: int) -> None:
            floors.replay_raw(captured[i % len(captured)][1])

        def bare(i: int) -> Answer:
            key = captured[i % len(captured)][0]
            return _checked(self.anonymous.get(f"/__bench__/replay/{key}/"), (200,), "bare view")

        def hello(i: int) -> Answer:
            return _checked(self.anonymous.get("/__bench__/hello/"), (200,), "hello view")

        counts = sorted(sql.count for _, sql in captured)
        return Result(
            timing=timing,
            sql=counts[len(counts) // 2],
            raw=timed_sends(raw, runs),
            bare=timed_sends(bare, runs),
            hello=timed_sends(hello, runs),
        )

    def write(
        self,
        name: str,
        group: str,
        prepare: Callable[[int], Callable[[], Answer]],
        *,
        runs: int,
        target: Target | None = None,
        note: str = "",
    ) -> Scenario:
        """``prepare(i)`` does the untimed part (a fresh ETag, a fresh request to approve)
        and returns the timed call. The floors replay the SQL of one captured write, rolled
        back."""

        def run(_round: int) -> Result:
            for i in range(3):
                prepare(-1 - i)()  # warm-up
            seconds = []
            started = perf_counter()
            for i in range(runs):
                call = prepare(i)
                begin = perf_counter()
                call()
                seconds.append(perf_counter() - begin)
            elapsed = sum(seconds) or perf_counter() - started
            call = prepare(runs)
            with floors.capturing() as sql:
                call()
            key = _slug(name)
            floors.REPLAYS[key] = sql
            result = self._with_floors(Timing.of(seconds, elapsed), [(key, sql)])
            return result

        return Scenario(name, group, run, target or Target(), note)

    # --- the scenarios -------------------------------------------------------------------

    def scenarios(self) -> list[Scenario]:
        cast, samples = self.cast, self.samples
        search = reverse("staff:search")
        selective = Target(p95_ms=30, text="p95 ≤ 30 ms")
        page_target = Target(
            p95_ms=50, bare_throughput_share=0.5, text="p95 ≤ 50 ms, ≥ 50 % of bare view"
        )
        api_target = Target(bare_throughput_share=0.7, text="≥ 70 % of bare view throughput")
        customers = cast.customers
        large_activity = reverse("staff:customer-activity", args=[cast.large.client_id])
        deep_before = self._deep_activity_id(cast.large.pk)
        global_before = self._deep_activity_id(None)
        return [
            self.page(
                "search: selective name",
                "search",
                self.staff,
                [_q(search, samples.customer(i).display_name) for i in range(50)],
                target=selective,
            ),
            self.page(
                "search: common 3-letter term",
                "search",
                self.staff,
                [_q(search, term) for term in COMMON_TERMS],
                target=Target(p95_ms=100, text="p95 ≤ 100 ms"),
            ),
            self.page(
                "search: exact email",
                "search",
                self.staff,
                [_q(search, samples.contact(i).email) for i in range(50)],
                target=selective,
            ),
            self.page(
                "search: client ID",
                "search",
                self.staff,
                [_q(search, samples.customer(i).client_id) for i in range(50)],
                target=selective,
            ),
            self.page(
                "search: phone",
                "search",
                self.staff,
                [_q(search, samples.phone(i)) for i in range(50)],
                target=selective,
            ),
            self.page(
                "customer 360",
                "pages",
                self.staff,
                [reverse("staff:customer", args=[c.client_id]) for c in customers[:30]],
                target=page_target,
            ),
            self.page(
                "My Account",
                "pages",
                self.owner,
                [reverse("portal:account", args=[cast.typical.client_id])],
                target=page_target,
            ),
            self.page(
                f"contacts page ({cast.large.contacts.count()} contacts)",
                "pages",
                self.large_owner,
                [reverse("portal:contacts", args=[cast.large.client_id])],
                target=page_target,
            ),
            self.page(
                "customers list, page 1",
                "lists",
                self.staff,
                [reverse("staff:customers")],
            ),
            self.page(
                "customers list, deep page",
                "lists",
                self.staff,
                [self._deep_customers_page()],
                target=Target(max_ratio=1.3, text="p50 ≤ 1.3 × page 1"),
                note="after the 500 000th customer (or the middle of a smaller set)",
            ),
            self.page(
                "Activity (all customers), page 1",
                "lists",
                self.staff,
                [reverse("staff:activity")],
            ),
            self.page(
                "Activity (all customers), deep page",
                "lists",
                self.staff,
                [f"{reverse('staff:activity')}?before={global_before}"],
                target=Target(max_ratio=1.3, text="p50 ≤ 1.3 × page 1"),
            ),
            self.page(
                "360 Activity tab, page 1",
                "lists",
                self.staff,
                [large_activity],
            ),
            self.page(
                "360 Activity tab, deep page",
                "lists",
                self.staff,
                [f"{large_activity}?before={deep_before}"],
                target=Target(max_ratio=1.3, text="p50 ≤ 1.3 × page 1"),
                note="the large customer's trail, past its 10 000th entry",
            ),
            self.page(
                "API: customer list",
                "api",
                self.api,
                ["/api/v1/customers?limit=50"],
                target=api_target,
            ),
            self.page(
                "API: one customer",
                "api",
                self.api,
                [f"/api/v1/customers/{c.client_id}" for c in customers[:30]],
                target=api_target,
            ),
            self._api_update(),
            self._approval(),
        ]

    def special(self) -> list[Scenario]:
        return [
            Scenario(
                "ledger posting, 30 concurrent writers on one customer",
                "writes",
                self._ledger_concurrent,
                Target(text="no errors; p95 reported"),
            ),
            Scenario(
                "50 concurrent writers (staff notes)",
                "writes",
                self._many_writers,
                Target(min_rate=300, text='≥ 300 writes/s, no "database is locked"'),
            ),
            Scenario(
                "Activity's share of a write",
                "writes",
                self._activity_share,
                Target(max_ratio=1.25, text="write with Activity ≤ 1.25 × without"),
            ),
            Scenario(
                "ledger balance, 10 000 entries vs a few",
                "writes",
                self._balance_size,
                Target(max_ratio=1.3, text="same time whatever the ledger size"),
            ),
            Scenario(
                "sign-in (configured hasher)",
                "pages",
                self._login,
                Target(text="the hasher dominates"),
            ),
        ]

    def heavy(self, *, webhook_events: int, import_rows: int) -> list[Scenario]:
        """The two throughput runs with their own commands (each minutes long at full
        size; run last: the import adds customers)."""
        return [
            Scenario(
                f"webhook delivery ({webhook_events:,} events)",
                "throughput",
                lambda _r: _webhooks(webhook_events),
                Target(min_rate=200, text="≥ 200 deliveries/s"),
                once=True,
            ),
            Scenario(
                f"CSV import ({import_rows:,} customers)",
                "throughput",
                lambda _r: _csv_import(import_rows),
                Target(min_rate=5000, text="≥ 5 000 customers/s"),
                once=True,
            ),
        ]

    # --- helpers for the scenarios ---------------------------------------------------------

    def _deep_customers_page(self) -> str:
        total = Customer.objects.filter(status__in=["active", "suspended"]).count()
        depth = min(500_000, total // 2)
        row = (
            Customer.objects.filter(status__in=["active", "suspended"])
            .order_by("-number")
            .only("number")[depth : depth + 1]
            .first()
        )
        if row is None:
            raise BenchFailure("No customers for the deep customers page.")
        return f"{reverse('staff:customers')}?after={make_cursor(row, '-number')}"

    @staticmethod
    def _deep_activity_id(customer_id: int | None) -> int:
        from clientdesk.audit.models import Activity

        rows = (
            Activity.objects.all()
            if customer_id is None
            else Activity.objects.filter(customer_id=customer_id)
        )
        ids = rows.order_by("-id").values_list("id", flat=True)
        total = rows.count()
        depth = min(total // 2, 5_000_000 if customer_id is None else 10_000)
        found = ids[depth : depth + 1].first() if hasattr(ids, "first") else None
        if found is None:
            raise BenchFailure("No Activity for the deep page: generate history first.")
        return int(found)

    def _api_update(self) -> Scenario:
        customers = self.cast.customers[:30]
        stamp = uuid.uuid4().hex[:8]  # every update changes the value

        def prepare(i: int) -> Callable[[], Answer]:
            customer = customers[i % len(customers)]
            path = f"/api/v1/customers/{customer.client_id}/profile/contact"
            read = _checked(self.api.get(path), (200,), "API section read")
            etag = read.header("ETag")
            body = json.dumps(
                {
                    "values": {"billing_email": f"billing{i}-{stamp}@bench.example"},
                    "reason": "Bench: the customer asked by phone.",
                }
            )
            return lambda: _checked(
                self.api.send_json("PATCH", path, body, HTTP_IF_MATCH=etag), (200,), "API update"
            )

        return self.write(
            "API: update a profile section",
            "api",
            prepare,
            runs=min(self.runs, 100),
            target=Target(p95_ms=50, text="p95 ≤ 50 ms"),
        )

    def _approval(self) -> Scenario:
        runs = min(self.runs, 60)
        pending: list[Any] = []

        def prepare(i: int) -> Callable[[], Answer]:
            if not pending:
                pending.extend(open_requests(self.cast, runs + 5, self.rng))
            request = pending.pop()
            path = reverse("staff:change-request-approve", args=[request.number])
            detail = reverse("staff:change-request", args=[request.number])
            _checked(self.manager.get(detail), (200,), "change request page")
            return lambda: _checked(
                self.manager.post(path, {"apply": list(request.requested)}),
                (302, 303),
                "approve",
            )

        return self.write(
            "change-request approval",
            "writes",
            prepare,
            runs=runs,
            target=Target(p95_ms=100, text="p95 ≤ 100 ms"),
        )

    def _ledger_concurrent(self, _round: int) -> Result:
        """30 API clients post top-ups to one customer at once: each waits for the
        customer's row lock in turn; none may fail."""
        customer = self.cast.typical
        path = f"/api/v1/customers/{customer.client_id}/ledger/entries"
        body = json.dumps({"kind": "top_up", "amount": "1.00", "description": "Bench top-up"})
        writers, each = 30, max(3, self.runs // 10)
        seconds, statuses = _concurrently(
            writers,
            each,
            lambda client, _n: client.send_json(
                "POST", path, body, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
            ),
            lambda: BenchClient(HTTP_AUTHORIZATION=f"Bearer {self.cast.api_token}"),
        )
        failures = sum(n for status, n in statuses.items() if status != 201)
        if failures:
            raise BenchFailure(f"ledger postings failed: {dict(statuses)}")
        single = self.api
        with floors.capturing() as sql:
            _checked(
                single.send_json("POST", path, body, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())),
                (201,),
                "ledger posting",
            )
        floors.REPLAYS["ledger"] = sql
        result = self._with_floors(seconds, [("ledger", sql)])
        alone = timed_sends(
            lambda _i: single.send_json("POST", path, body, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())),
            min(self.runs, 50),
        )
        result.extra = {"writers": writers, "postings": seconds.count, "alone_p50": alone.p50}
        return result

    def _many_writers(self, _round: int) -> Result:
        """50 threads each add staff notes to their own customer through the action: the
        database's write path under contention ("database is locked" must never reach a
        user)."""
        writers, each = 50, max(4, self.runs // 10)
        pool = self.cast.customers
        support = self.cast.support
        locked = 0
        lock = threading.Lock()

        def write(_client: Any, n: int) -> Answer:
            nonlocal locked
            customer = pool[n % len(pool)]
            try:
                add_note(
                    customer,
                    kind="general",
                    body="Bench note: called about the invoice.",
                    reason="Customer called",
                    actor=Actor(support, Source.STAFF),
                )
            except OperationalError as error:
                if "locked" in str(error):
                    with lock:
                        locked += 1
                    return Answer(500, [], b"")
                raise
            return Answer(201, [], b"")

        timing, statuses = _concurrently(writers, each, write, lambda: None)
        # Writes per second counts the writes that happened, not the refused ones.
        timing.throughput *= statuses[201] / max(timing.count, 1)
        return Result(
            timing=timing,
            extra={
                "writers": writers,
                "writes": timing.count,
                "locked": locked,
                "errors": sum(n for s, n in statuses.items() if s != 201),
            },
        )

    def _activity_share(self, _round: int) -> Result:
        """The same profile save with Activity recorded and with ``record`` made a no-op."""
        customers = self.cast.customers[:20]
        actor = Actor(self.cast.support, Source.STAFF)
        counter = iter(range(10**9))
        stamp = uuid.uuid4().hex[:8]  # a new value in every round and every run

        def save() -> None:
            i = next(counter)
            customer_actions.update_profile_section(
                Customer.objects.get(pk=customers[i % len(customers)].pk),
                section="contact",
                values={"billing_email": f"share{i}-{stamp}@bench.example"},  # always a change
                actor=actor,
                reason="Bench",
            )

        runs = min(self.runs, 200)
        for _ in range(5):
            save()
        with_activity = timed(save, runs)
        with mock.patch.object(customer_actions, "record", return_value=None):
            without = timed(save, runs)
        return Result(
            timing=with_activity,
            extra={"without_p50": without.p50, "ratio": with_activity.p50 / without.p50},
        )

    def _balance_size(self, _round: int) -> Result:
        large, typical = self.cast.large, self.cast.typical
        runs = max(self.runs, 200)
        big = timed(lambda: summary(large), runs)
        small = timed(lambda: summary(typical), runs)
        return Result(
            timing=big,
            extra={
                "small_p50": small.p50,
                "ratio": big.p50 / small.p50 if small.p50 else 0.0,
                "large_entries": float(summary(large).entry_count),
                "small_entries": float(summary(typical).entry_count),
            },
        )

    def _login(self, _round: int) -> Result:
        """Email and password through allauth's form, as a browser posts it; a new client
        (and address, under the per-address limit) each time."""
        login = reverse("account_login")
        email = self.cast.owner.email
        seconds = []
        started = perf_counter()
        runs = min(self.runs, 40)
        for n in range(runs + 3):
            client = BenchClient(REMOTE_ADDR=str(IPv4Address(0x0A000000 + n + 1 + 1000 * _round)))
            _checked(client.get(login), (200,), "sign-in page")
            begin = perf_counter()
            _checked(client.post(login, {"login": email, "password": PASSWORD}), (302,), "sign-in")
            if n >= 3:
                seconds.append(perf_counter() - begin)
        encoded = make_password(PASSWORD)
        hasher = timed(lambda: check_password(PASSWORD, encoded), runs)
        return Result(
            timing=Timing.of(seconds, perf_counter() - started),
            raw=hasher,
            extra={"hasher_p50": hasher.p50},
        )


def _command_figures(name: str, *args: str) -> dict[str, Any]:
    """Run another bench command, quietly, and read the JSON figures it writes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "figures.json")
        call_command(name, *args, "--json", str(path), stdout=io.StringIO(), stderr=io.StringIO())
        return dict(json.loads(path.read_text(encoding="utf-8")))


def _webhooks(events: int) -> Result:
    """``bench_webhooks``: deliveries/s to local receivers through the real worker; its
    p50/p95 are the POST times, the floor the receiver's own answer time."""
    figures = _command_figures("bench_webhooks", "--events", str(events), "--no-progress")
    rate = float(figures["per_second"])
    return Result(
        timing=Timing(
            p50=float(figures["post_p50_ms"]),
            p95=float(figures["post_p95_ms"]),
            p99=math.nan,  # bench_webhooks reports p50 and p95 only
            throughput=rate,
            count=int(figures["deliveries"]),
        ),
        extra={
            "drain_seconds": float(figures["drain_seconds"]),
            "live_p95_seconds": float(figures.get("live", {}).get("latency_p95_s", 0.0)),
        },
    )


def _csv_import(rows: int) -> Result:
    """``bench_import``: a generated CSV through the real import (checked, then written)."""
    figures = _command_figures("bench_import", "--rows", str(rows))
    seconds = float(figures["seconds"])
    per_row = seconds / max(rows, 1)
    return Result(
        timing=Timing(
            p50=per_row * 1000,
            p95=per_row * 1000,
            p99=per_row * 1000,
            throughput=float(figures["customers_per_second"]),
            count=rows,
        ),
        extra={
            "seconds": seconds,
            "validate_seconds": float(figures.get("validate_seconds", 0.0)),
            "write_seconds": float(figures.get("write_seconds", 0.0)),
        },
    )


def timed_sends(send: Callable[[int], Any], runs: int) -> Timing:
    seconds = []
    started = perf_counter()
    for i in range(runs):
        begin = perf_counter()
        send(i)
        seconds.append(perf_counter() - begin)
    return Timing.of(seconds, perf_counter() - started)


def _concurrently(
    writers: int,
    each: int,
    call: Callable[[Any, int], Answer],
    make_client: Callable[[], Any],
) -> tuple[Timing, Counter[int]]:
    """``writers`` threads, each making ``each`` calls after a common start signal; every
    thread has its own database connection, closed at the end."""
    start = threading.Barrier(writers + 1)
    seconds: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        client = make_client()
        mine, codes = [], Counter[int]()
        try:
            start.wait()
            for k in range(each):
                begin = perf_counter()
                try:
                    answer = call(client, w * each + k)
                except Exception as error:  # reported with the figures, never lost
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}")
                    answer = Answer(599, [], b"")
                mine.append(perf_counter() - begin)
                codes[answer.status] += 1
        finally:
            with lock:
                seconds.extend(mine)
                statuses.update(codes)
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = perf_counter()
    for thread in threads:
        thread.join()
    elapsed = perf_counter() - began
    close_old_connections()
    if errors:
        raise BenchFailure(f"{len(errors)} of {writers * each} calls failed, first: {errors[0]}")
    return Timing.of(seconds, elapsed), statuses


def _q(path: str, term: str) -> str:
    from urllib.parse import urlencode

    return f"{path}?{urlencode({'q': term})}"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")[:60]


def vendor() -> str:
    return connection.vendor
