"""``manage.py bench_webhooks``: webhook delivery throughput on the current database.

What it does, on a database without active webhook endpoints (a fresh one: see
``make bench`` and docs/performance.md):

1. starts ``scripts/bench_receiver.py`` (a keep-alive HTTP server answering 204) on
   ``--endpoints`` loopback ports and registers one endpoint per port with the real
   ``create_endpoint`` action; with ``--subscribe own`` (the default) each endpoint is
   restricted to its own customer, so every event makes one delivery;
2. warms up (a few events through the worker, so connection pools are open);
3. writes a backlog of ``--events`` outbox events in bulk, numbered per customer as
   ``publish`` numbers them, and times the real ``Worker.run(idle_exit=True)`` draining it:
   deliveries/s overall and per 10 % slice (the rate must not fall as finished rows pile
   up), publish → delivered p50/p95, the relay rate, POST durations, and where the
   worker's own thread spent its time (relay, claim, record, waiting for answers);
4. the live phase: ``--live-events`` events through the real ``publish`` at
   ``--live-rate`` per second while the worker runs — the latency a receiver sees;
5. ages the delivered rows past ``CLIENTDESK_WEBHOOK_DELIVERED_DAYS`` and times
   ``webhooks.tasks.prune()``.

It prints a Markdown table and, with ``--json``, writes every figure to a file. Needs
settings that allow plain HTTP to loopback (``config.settings.dev``); run it with
``DEBUG=0``, or Django keeps every SQL statement in memory and the figures are lower.
"""

from __future__ import annotations

import cProfile
import functools
import io
import itertools
import json
import os
import platform
import pstats
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connection, transaction
from django.db.backends.signals import connection_created
from django.utils import timezone

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError
from clientdesk.customers.actions import create_customer
from clientdesk.customers.models import Customer
from clientdesk.events.models import CustomerStream, Event
from clientdesk.events.publish import actor_payload, publish
from clientdesk.webhooks import actions, tasks
from clientdesk.webhooks import worker as worker_module
from clientdesk.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

RECEIVER = Path(settings.BASE_DIR) / "scripts" / "bench_receiver.py"
EVENT_TYPES = ("customer.updated", "contact.updated", "ledger.entry_posted", "invitation.sent")
WRITE_BATCH = 2000
SLICES = 10


class Receiver:
    """``scripts/bench_receiver.py`` as a child process, on ``ports`` free loopback ports."""

    def __init__(self, *, ports: int, processes: int) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- our own script, fixed arguments
            [
                sys.executable,
                str(RECEIVER),
                "--ports",
                str(ports),
                "--processes",
                str(processes),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ports = self._read_ports(timeout=15)
        self.cpu_seconds: float | None = None

    def _read_ports(self, *, timeout: float) -> list[int]:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.stop()
                raise CommandError(f"The bench receiver did not start within {timeout:.0f} s.")
        line = self.process.stdout.readline().split()
        if not line or line[0] != "ports":
            self.stop()
            raise CommandError(f"The bench receiver did not start (said {line!r}).")
        return [int(port) for port in line[1:]]

    def stats(self) -> dict[str, int]:
        import urllib3

        answer = urllib3.request("GET", f"http://127.0.0.1:{self.ports[0]}/stats", timeout=5.0)
        return dict(json.loads(answer.data))

    def stop(self) -> None:
        """SIGTERM, then reap it with ``wait4`` to learn the CPU time it used."""
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                self.process.returncode = os.waitstatus_to_exitcode(status)
                self.cpu_seconds = usage.ru_utime + usage.ru_stime
                break
            time.sleep(0.05)
        else:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _retry_when_locked(work: Callable[[], Any]) -> Any:
    """Run ``work``, again if SQLite says a table is locked. Only the in-memory test database
    (shared cache: table locks that ignore the busy timeout) does that; a file database in
    WAL mode, like production SQLite, waits for the lock instead."""
    for _ in range(200):
        try:
            return work()
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            time.sleep(0.01)
    return work()


@dataclass
class Tally:
    calls: int = 0
    items: int = 0
    seconds: float = 0.0


@dataclass
class WorkerTimings:
    """Where the worker's own thread (the only one touching the database) spent its time."""

    relay: Tally = field(default_factory=Tally)
    claim: Tally = field(default_factory=Tally)
    record: Tally = field(default_factory=Tally)
    reclaim: Tally = field(default_factory=Tally)
    sql_statements: int = 0
    connections_opened: int = 0
    # (outcomes recorded, process CPU seconds, seconds in relay + claim + record) at the
    # start and whenever another tenth of the expected deliveries has been recorded.
    marks: list[tuple[int, float, float]] = field(default_factory=list)

    def mark(self) -> None:
        busy = self.relay.seconds + self.claim.seconds + self.record.seconds
        self.marks.append((self.record.items, time.process_time(), busy))


def _timed(tally: Tally, function: Callable[..., Any], count: Callable[[Any, Any], int]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = function(*args, **kwargs)
        tally.seconds += time.perf_counter() - started
        tally.calls += 1
        tally.items += count(args, result)
        return result

    return wrapper


def _marking(
    timings: WorkerTimings, tenths: list[int], record: Callable[..., Any]
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = record(*args, **kwargs)
        while (
            len(timings.marks) <= len(tenths)
            and timings.record.items >= tenths[len(timings.marks) - 1]
        ):
            timings.mark()
        return result

    return wrapper


def tenth_costs(marks: list[tuple[int, float, float]]) -> list[dict[str, float]]:
    """Worker CPU and time in its database steps per delivery, tenth by tenth: unlike the
    rate, barely moved by other work on the machine."""
    rows = []
    for (done_before, cpu_before, busy_before), (done, cpu, busy) in itertools.pairwise(marks):
        if done > done_before:
            rows.append(
                {
                    "cpu_ms": 1000 * (cpu - cpu_before) / (done - done_before),
                    "db_ms": 1000 * (busy - busy_before) / (done - done_before),
                }
            )
    return rows


@contextmanager
def instrumented(*, expected: int = 0) -> Iterator[WorkerTimings]:
    """Time the worker's database steps by wrapping the functions ``Worker`` calls (the
    module attributes it looks up at each call), count SQL statements and new connections
    on this thread, and mark the CPU used at each tenth of ``expected`` deliveries.
    Everything is put back afterwards."""
    timings = WorkerTimings()
    tenths = [expected * k // SLICES for k in range(1, SLICES + 1) if expected * k // SLICES]
    names = ("relay", "claim", "record", "reclaim_expired")
    originals = {name: getattr(worker_module, name) for name in names}
    wrapped = {
        "relay": _timed(timings.relay, originals["relay"], lambda _a, result: int(result)),
        "claim": _timed(timings.claim, originals["claim"], lambda _a, result: len(result)),
        "record": _marking(
            timings,
            tenths,
            _timed(timings.record, originals["record"], lambda args, _r: len(args[0])),
        ),
        "reclaim_expired": _timed(
            timings.reclaim, originals["reclaim_expired"], lambda _a, result: int(result)
        ),
    }
    thread = threading.get_ident()

    def count_statement(execute: Callable[..., Any], *args: Any) -> Any:
        timings.sql_statements += 1
        return execute(*args)

    def count_connection(sender: Any, **kwargs: Any) -> None:
        if threading.get_ident() == thread:
            timings.connections_opened += 1

    for name, function in wrapped.items():
        setattr(worker_module, name, function)
    timings.mark()
    connection_created.connect(count_connection, weak=False)
    try:
        with connection.execute_wrapper(count_statement):
            yield timings
    finally:
        connection_created.disconnect(count_connection)
        for name, function in originals.items():
            setattr(worker_module, name, function)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def slice_rates(started: datetime, finished: list[datetime]) -> list[dict[str, float]]:
    """Deliveries/s in each tenth of the backlog, in the order deliveries finished: slice k
    runs from when the previous tenth was done (the start, for the first) to its own end."""
    ordered = sorted(finished)
    total = len(ordered)
    rows = []
    previous = started
    for k in range(SLICES):
        low, high = k * total // SLICES, (k + 1) * total // SLICES
        if high <= low:
            continue
        end = ordered[high - 1]
        seconds = max((end - previous).total_seconds(), 1e-3)
        rows.append(
            {
                "slice": k + 1,
                "deliveries": high - low,
                "seconds": seconds,
                "per_second": (high - low) / seconds,
            }
        )
        previous = end
    return rows


class Command(BaseCommand):
    help = "Measure webhook delivery throughput (deliveries/s, latency, prune) on this database."
    options: dict[str, Any]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=20_000, help="backlog size")
        parser.add_argument("--endpoints", type=int, default=8, help="endpoints (receiver ports)")
        parser.add_argument("--threads", type=int, default=16, help="the worker's HTTP threads")
        parser.add_argument("--per-endpoint", type=int, default=4, help="in flight per endpoint")
        parser.add_argument(
            "--subscribe",
            choices=["own", "all"],
            default="own",
            help="own: each endpoint gets its own customer's events (a delivery per event); "
            "all: every endpoint gets every event (events × endpoints deliveries)",
        )
        parser.add_argument("--live-events", type=int, default=1000)
        parser.add_argument("--live-rate", type=float, default=100.0, help="live events/s")
        parser.add_argument("--receiver-processes", type=int, default=1)
        parser.add_argument("--json", dest="json_path", default="", help="write figures here")
        parser.add_argument(
            "--profile", default="", help="cProfile the drain (worker thread) into this file"
        )
        parser.add_argument(
            "--one-port",
            action="store_true",
            help="every endpoint on one receiver port (one host serving several endpoints: "
            "they share one connection pool in the worker)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        self.options = options
        self._check_arguments(options)
        self._check_database()
        load_before = os.getloadavg()
        receiver = Receiver(
            ports=1 if options["one_port"] else options["endpoints"],
            processes=options["receiver_processes"],
        )
        endpoints: list[WebhookEndpoint] = []
        try:
            ports = [receiver.ports[i % len(receiver.ports)] for i in range(options["endpoints"])]
            customers, endpoints = self._set_up(ports)
            self._warm_up(customers)
            report = self._drain_backlog(customers)
            report["live"] = self._live(customers)
            report["prune"] = self._prune(endpoints)
            report["receiver"] = receiver.stats()
        finally:
            receiver.stop()
            for endpoint in endpoints:
                actions.set_endpoint_active(
                    actor=Actor.system(), endpoint=endpoint, active=False, reason="Bench finished."
                )
        report["receiver"]["cpu_seconds"] = receiver.cpu_seconds
        report["setup"] = self._setup_description(load_before)
        self._print(report)
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(report, indent=2, default=str) + "\n")
            self.stdout.write(f"Figures written to {options['json_path']}.")

    # -- preparation ---------------------------------------------------------------------

    def _check_arguments(self, options: dict[str, Any]) -> None:
        limits = {
            "events": (1, 10_000_000),
            "endpoints": (1, 200),
            "threads": (1, 256),
            "per_endpoint": (1, 256),
            "live_events": (0, 1_000_000),
            "receiver_processes": (1, 16),
        }
        for name, (low, high) in limits.items():
            if not low <= options[name] <= high:
                flag = "--" + name.replace("_", "-")
                raise CommandError(f"{flag} must be between {low} and {high:,}.")
        if not 0.1 <= options["live_rate"] <= 10_000:
            raise CommandError("--live-rate must be between 0.1 and 10 000 events/s.")
        if not RECEIVER.exists():
            raise CommandError(f"{RECEIVER} is missing.")

    def _check_database(self) -> None:
        if WebhookEndpoint.objects.filter(is_active=True).exists():
            raise CommandError(
                "This database has active webhook endpoints: they would receive the bench's "
                "made-up events. Run the bench on a fresh database (see `make bench`)."
            )
        if Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
            raise CommandError("Deliveries are waiting here: run the bench on a fresh database.")
        if settings.DEBUG:
            self.stderr.write(
                "Warning: DEBUG is on, so Django keeps every SQL statement in memory; set "
                "DEBUG=0 for figures that mean something."
            )

    def _set_up(self, ports: list[int]) -> tuple[list[Customer], list[WebhookEndpoint]]:
        system = Actor.system()
        run = timezone.now().strftime("%H%M%S")
        customers = [
            create_customer(display_name=f"Bench {run} Customer {i + 1} Sdn Bhd", actor=system)
            for i in range(len(ports))
        ]
        endpoints = []
        for i, port in enumerate(ports):
            only = [customers[i].client_id] if self.options["subscribe"] == "own" else []
            try:
                endpoint, _secret = actions.create_endpoint(
                    actor=system,
                    url=f"http://127.0.0.1:{port}/hooks/{i + 1}",
                    target="Bench",
                    description="bench_webhooks",
                    customers=only,
                )
            except DomainError as refused:
                raise CommandError(
                    f"{refused.message} The bench posts to http://127.0.0.1: run it with "
                    "settings that allow that (DJANGO_SETTINGS_MODULE=config.settings.dev)."
                ) from refused
            endpoints.append(endpoint)
        return customers, endpoints

    def _write_backlog(self, customers: list[Customer], count: int, *, tag: str) -> float:
        """``count`` events in bulk, round-robin over the customers, numbered per customer
        like ``publish`` numbers them. Returns the seconds it took."""
        templates = {
            customer.pk: Event.objects.filter(customer=customer, type="customer.created")
            .values_list("data", flat=True)
            .first()
            or {}
            for customer in customers
        }
        actor = actor_payload(Actor(user=None, source=Source.SYSTEM))
        started = time.perf_counter()
        for start in range(0, count, WRITE_BATCH):
            with transaction.atomic():
                streams = {
                    stream.customer_id: stream
                    for stream in CustomerStream.objects.select_for_update().filter(
                        customer__in=customers
                    )
                }
                events = []
                for i in range(start, min(count, start + WRITE_BATCH)):
                    customer = customers[i % len(customers)]
                    stream = streams.get(customer.pk)
                    if stream is None:
                        stream = streams[customer.pk] = CustomerStream.objects.create(
                            customer=customer
                        )
                    stream.last_sequence += 1
                    events.append(
                        Event(
                            type=EVENT_TYPES[i % len(EVENT_TYPES)],
                            customer=customer,
                            sequence=stream.last_sequence,
                            data={
                                "customer": templates[customer.pk],
                                "changes": {"billing_name": [f"Old name {i}", f"New name {i}"]},
                            },
                            actor=actor,
                            request_id=tag,
                        )
                    )
                Event.objects.bulk_create(events, batch_size=500)
                CustomerStream.objects.bulk_update(list(streams.values()), ["last_sequence"])
        return time.perf_counter() - started

    def _warm_up(self, customers: list[Customer]) -> None:
        """Deliver the setup's own events and a few more: pools open, caches warm."""
        self._write_backlog(customers, 20 * len(customers), tag="bench-warm-up")
        worker_module.Worker(
            threads=self.options["threads"], per_endpoint=self.options["per_endpoint"]
        ).run(stop=threading.Event(), idle_exit=True)

    def _expected(self, events: int) -> int:
        return events * (self.options["endpoints"] if self.options["subscribe"] == "all" else 1)

    # -- the backlog ---------------------------------------------------------------------

    def _drain_backlog(self, customers: list[Customer]) -> dict[str, Any]:
        options = self.options
        tag = "bench-backlog"
        events = options["events"]
        expected = self._expected(events)
        write_seconds = self._write_backlog(customers, events, tag=tag)
        self._progress(f"Backlog of {events:,} events written in {write_seconds:.1f} s.")

        worker = worker_module.Worker(
            threads=options["threads"], per_endpoint=options["per_endpoint"]
        )
        stop = threading.Event()
        watcher = self._watch(worker, expected, stop)
        profiler = cProfile.Profile() if options["profile"] else None
        started_at = timezone.now()
        cpu_started = time.process_time()
        started = time.perf_counter()
        with instrumented(expected=expected) as timings:
            if profiler is not None:
                profiler.enable()
            worker.run(stop=stop, idle_exit=True)
            if profiler is not None:
                profiler.disable()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        stop.set()
        watcher.join()
        if profiler is not None:
            profiler.dump_stats(options["profile"])
            self._print_profile(profiler)

        rows = list(
            Delivery.objects.filter(event__request_id=tag).values_list(
                "status", "finished_at", "event__occurred_at"
            )
        )
        delivered = [
            (done, occurred)
            for status, done, occurred in rows
            if status == Delivery.Status.DELIVERED and done is not None
        ]
        if len(delivered) != expected:
            raise CommandError(
                f"Only {len(delivered):,} of {expected:,} deliveries were delivered "
                f"({len(rows):,} exist): the bench is broken, not slow."
            )
        post_ms = [
            float(ms)
            for ms in DeliveryAttempt.objects.filter(delivery__event__request_id=tag).values_list(
                "duration_ms", flat=True
            )
        ]
        latencies = [(done - occurred).total_seconds() for done, occurred in delivered]
        slices = slice_rates(started_at, [done for done, _ in delivered])
        costs = tenth_costs(timings.marks)
        if len(costs) == len(slices):
            for row, cost in zip(slices, costs, strict=True):
                row.update(cost)
        second = slices[min(1, len(slices) - 1)]
        return {
            "events": events,
            "deliveries": expected,
            "write_seconds": write_seconds,
            "drain_seconds": seconds,
            "per_second": expected / seconds,
            "slices": slices,
            "last_to_first": slices[-1]["per_second"] / slices[0]["per_second"],
            # The first tenth also relays the whole backlog (the worker numbers 1 000 events
            # per turn before it claims), so steadiness is judged from the second tenth on.
            "last_to_second": slices[-1]["per_second"] / second["per_second"],
            "cpu_last_to_second": (
                slices[-1]["cpu_ms"] / second["cpu_ms"] if "cpu_ms" in second else None
            ),
            "latency_p50_s": percentile(latencies, 0.50),
            "latency_p95_s": percentile(latencies, 0.95),
            "post_p50_ms": percentile(post_ms, 0.50),
            "post_p95_ms": percentile(post_ms, 0.95),
            "attempts": len(post_ms),
            "worker_cpu_seconds": cpu_seconds,
            "worker_thread": asdict(timings),
            "relay_per_second": timings.relay.items / max(timings.relay.seconds, 1e-9),
        }

    def _watch(
        self, worker: worker_module.Worker, expected: int, stop: threading.Event
    ) -> threading.Thread:
        """Say how far the drain is every 15 s (from the worker's counters: no queries)."""

        def watch() -> None:
            started = time.perf_counter()
            while not stop.wait(15):
                done = worker.stats.delivered
                elapsed = time.perf_counter() - started
                self._progress(
                    f"  {done:,} / {expected:,} delivered in {elapsed:.0f} s "
                    f"({done / elapsed:,.0f}/s)"
                )

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return thread

    # -- live ----------------------------------------------------------------------------

    def _live(self, customers: list[Customer]) -> dict[str, Any]:
        """Events through the real ``publish`` at a steady rate while the worker runs."""
        count, rate = self.options["live_events"], self.options["live_rate"]
        if count == 0:
            return {"events": 0}
        tag = "bench-live"
        expected = self._expected(count)
        actor = Actor(user=None, source=Source.SYSTEM, request_id=tag)
        stop = threading.Event()
        failures: list[BaseException] = []

        def publish_one(i: int) -> None:
            with transaction.atomic():
                publish(
                    "customer.updated",
                    actor=actor,
                    customer=customers[i % len(customers)],
                    data={"changes": {"billing_name": [f"Old {i}", f"New {i}"]}},
                )

        def delivered() -> int:
            return Delivery.objects.filter(
                event__request_id=tag, status=Delivery.Status.DELIVERED
            ).count()

        def publisher() -> None:
            try:
                due = time.perf_counter()
                for i in range(count):
                    _retry_when_locked(functools.partial(publish_one, i))
                    due += 1 / rate
                    time.sleep(max(0.0, due - time.perf_counter()))
                deadline = time.perf_counter() + 60 + count / 50
                while time.perf_counter() < deadline:
                    done = _retry_when_locked(delivered)
                    if done >= expected:
                        break
                    time.sleep(0.2)
            except BaseException as error:  # reported by the main thread
                failures.append(error)
            finally:
                stop.set()
                connection.close()

        thread = threading.Thread(target=publisher, name="bench-publisher")
        worker = worker_module.Worker(
            threads=self.options["threads"], per_endpoint=self.options["per_endpoint"]
        )
        thread.start()
        worker.run(stop=stop, idle_exit=False)
        thread.join()
        if failures:
            raise CommandError(f"The live publisher failed: {failures[0]!r}") from failures[0]
        # Where the time goes: publish → relayed (the delivery row is made by the relay's
        # fan-out) → POST started (claimed) → recorded as delivered.
        rows = [
            (occurred, relayed, started, done)
            for occurred, relayed, started, done in DeliveryAttempt.objects.filter(
                delivery__event__request_id=tag, delivery__status=Delivery.Status.DELIVERED
            ).values_list(
                "delivery__event__occurred_at",
                "delivery__created_at",
                "started_at",
                "delivery__finished_at",
            )
            if done is not None
        ]
        if len(rows) != expected:
            raise CommandError(f"Live: only {len(rows):,} of {expected:,} delivered.")
        latencies = [(done - occurred).total_seconds() for occurred, _, _, done in rows]
        steps = {
            "to_relay": [(relayed - occurred).total_seconds() for occurred, relayed, _, _ in rows],
            "to_post": [(started - relayed).total_seconds() for _, relayed, started, _ in rows],
            "to_recorded": [(done - started).total_seconds() for _, _, started, done in rows],
        }
        return {
            "events": count,
            "rate": rate,
            "deliveries": expected,
            "latency_p50_s": percentile(latencies, 0.50),
            "latency_p95_s": percentile(latencies, 0.95),
            "latency_max_s": max(latencies),
            "steps_p50_s": {name: percentile(values, 0.50) for name, values in steps.items()},
            "poll_seconds": worker.poll_seconds,
        }

    # -- prune ---------------------------------------------------------------------------

    def _prune(self, endpoints: list[WebhookEndpoint]) -> dict[str, Any]:
        """Make the bench's deliveries old enough to prune, then time the scheduled job."""
        aged = timezone.now() - timedelta(days=settings.CLIENTDESK_WEBHOOK_DELIVERED_DAYS + 1)
        bench = Delivery.objects.filter(endpoint__in=endpoints)
        with transaction.atomic():
            rows = bench.filter(status=Delivery.Status.DELIVERED).update(finished_at=aged)
        attempts_before = DeliveryAttempt.objects.count()
        started = time.perf_counter()
        removed = tasks.prune()
        seconds = time.perf_counter() - started
        return {
            "aged_rows": rows,
            "removed": removed,
            "attempts_removed": attempts_before - DeliveryAttempt.objects.count(),
            "seconds": seconds,
            "per_second": removed / max(seconds, 1e-9),
            "left": bench.count(),
        }

    # -- output --------------------------------------------------------------------------

    def _setup_description(self, load_before: tuple[float, float, float]) -> dict[str, Any]:
        database = connection.vendor
        version = ""
        with connection.cursor() as cursor:
            if database == "sqlite":
                cursor.execute("select sqlite_version()")
                version = cursor.fetchone()[0]
                cursor.execute("PRAGMA journal_mode")
                version += f" ({cursor.fetchone()[0]})"
            elif database == "postgresql":
                cursor.execute("show server_version")
                version = cursor.fetchone()[0]
        options = self.options
        return {
            "database": database,
            "database_version": version,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "endpoints": options["endpoints"],
            "subscribe": options["subscribe"],
            "threads": options["threads"],
            "per_endpoint": options["per_endpoint"],
            "receiver_processes": options["receiver_processes"],
            "one_port": options["one_port"],
            "debug": settings.DEBUG,
        }

    def _progress(self, line: str) -> None:
        if not self.options["no_progress"]:
            self.stderr.write(line)

    def _print_profile(self, profiler: cProfile.Profile) -> None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        self.stderr.write(out.getvalue())

    def _print(self, report: dict[str, Any]) -> None:
        setup, live, prune = report["setup"], report["live"], report["prune"]
        thread = report["worker_thread"]
        deliveries = report["deliveries"]
        load = " ".join(f"{value:.2f}" for value in setup["load_before"])
        write = self.stdout.write
        write("")
        write(
            f"Webhook delivery on {setup['database']} {setup['database_version']}, Python "
            f"{setup['python']}, {setup['cpus']} CPUs, load average before {load}"
        )
        write(
            f"{report['events']:,} events → {deliveries:,} deliveries to {setup['endpoints']} "
            f"endpoints{' on one port' if setup['one_port'] else ''} "
            f"(subscribe={setup['subscribe']}), worker threads={setup['threads']}, "
            f"per endpoint={setup['per_endpoint']}"
        )
        write("")
        write("| measure | value |")
        write("|---|---:|")
        rows = [
            ("backlog written (bulk insert)", f"{report['write_seconds']:.1f} s"),
            ("drain time", f"{report['drain_seconds']:.1f} s"),
            ("**deliveries/s overall**", f"**{report['per_second']:,.0f}**"),
            (
                "last tenth / second tenth (/ first tenth)",
                f"{report['last_to_second']:.2f} ({report['last_to_first']:.2f})",
            ),
            (
                "relay (numbering + fan-out, in the worker)",
                f"{thread['relay']['items']:,} events in {thread['relay']['seconds']:.1f} s "
                f"= {report['relay_per_second']:,.0f}/s",
            ),
            (
                "backlog: publish → delivered p50 / p95",
                f"{report['latency_p50_s']:.1f} s / {report['latency_p95_s']:.1f} s",
            ),
            ("POST p50 / p95", f"{report['post_p50_ms']:.0f} ms / {report['post_p95_ms']:.0f} ms"),
            (
                "worker process CPU",
                f"{report['worker_cpu_seconds']:.1f} s "
                f"({1000 * report['worker_cpu_seconds'] / deliveries:.2f} ms per delivery)",
            ),
            (
                "worker thread: relay / claim / record",
                f"{thread['relay']['seconds']:.1f} / {thread['claim']['seconds']:.1f} / "
                f"{thread['record']['seconds']:.1f} s",
            ),
            (
                "claims / records (batches)",
                f"{thread['claim']['calls']:,} / {thread['record']['calls']:,} "
                f"(avg {deliveries / max(thread['record']['calls'], 1):.1f} per record)",
            ),
            (
                "SQL statements per delivery",
                f"{thread['sql_statements'] / deliveries:.2f} "
                f"({thread['connections_opened']:,} connections opened)",
            ),
        ]
        if live["events"]:
            rows.append(
                (
                    f"live: publish → delivered p50 / p95 ({live['rate']:g} events/s)",
                    f"{live['latency_p50_s']:.2f} s / {live['latency_p95_s']:.2f} s "
                    f"(max {live['latency_max_s']:.2f} s; worker polls every "
                    f"{live['poll_seconds']:g} s when idle)",
                )
            )
            steps = live["steps_p50_s"]
            rows.append(
                (
                    "live p50: publish → relayed → POST started → recorded",
                    f"{steps['to_relay']:.3f} s + {steps['to_post']:.3f} s + "
                    f"{steps['to_recorded']:.3f} s",
                )
            )
        rows.append(
            (
                "prune (scheduled task)",
                f"{prune['removed']:,} deliveries + {prune['attempts_removed']:,} attempts in "
                f"{prune['seconds']:.1f} s = {prune['per_second']:,.0f} deliveries/s",
            )
        )
        receiver = report["receiver"]
        cpu = receiver.get("cpu_seconds")
        rows.append(
            (
                "receiver",
                f"{receiver['requests']:,} POSTs ({receiver['unsigned']} unsigned)"
                + (f", {cpu:.1f} s CPU" if cpu is not None else ""),
            )
        )
        for name, value in rows:
            write(f"| {name} | {value} |")
        write("")
        write(
            "| tenth of the backlog | deliveries | seconds | deliveries/s "
            "| worker CPU ms per delivery | relay+claim+record ms per delivery |"
        )
        write("|---|---:|---:|---:|---:|---:|")
        for row in report["slices"]:
            low = (row["slice"] - 1) * 100 // SLICES
            high = row["slice"] * 100 // SLICES
            cpu = f"{row['cpu_ms']:.2f}" if "cpu_ms" in row else "–"
            busy = f"{row['db_ms']:.2f}" if "db_ms" in row else "–"
            write(
                f"| {low}–{high} % | {row['deliveries']:,} | {row['seconds']:.1f} | "
                f"{row['per_second']:,.0f} | {cpu} | {busy} |"
            )
        write("")
        met = report["per_second"] >= 200
        steady = report["last_to_second"] >= 0.85
        write(
            f"Target ≥ 200 deliveries/s: {'met' if met else 'MISSED'}. Last tenth's rate within "
            f"15 % of the second's (or faster): {'met' if steady else 'MISSED'} (the first "
            "tenth also relays the whole backlog, so it is the slow one)."
        )
        cost_ratio = report["cpu_last_to_second"]
        if cost_ratio is not None:
            write(
                f"CPU per delivery, last tenth / second tenth: {cost_ratio:.2f} "
                f"({'steady' if cost_ratio <= 1.15 else 'GROWING'}; the rate also moves with "
                "other work on the machine, the CPU per delivery much less)."
            )
        if setup["load_after"][0] > (setup["cpus"] or 1):
            write(
                f"Note: load average {setup['load_after'][0]:.1f} on {setup['cpus']} CPUs at "
                "the end — other work shared the machine."
            )
