#!/usr/bin/env python3
"""Do two app processes against one PostgreSQL serve more than one? (docs/operations.md)

    .venv/bin/python scripts/bench_scaleout.py [--duration 30] [--warmup 5] [--clients 6]
        [--customers 20000] [--two-nodes] [--json var/bench/scaleout.json]

On a throwaway PostgreSQL server (``scripts/with_postgres.py``; the script re-runs itself
under it), with production settings over plain HTTP on 127.0.0.1:

1. creates the database, ``migrate``, ``generate_dataset --customers N`` (customers,
   contacts and their history) while ``collectstatic`` runs beside it;
2. prepares a way in through the real actions: a staff user (support, billing, manager)
   with TOTP, a signed-in session for it and a staff API key (``customers:read``), made by
   ``create_staff_key``; posts ``--postings`` ledger entries through ``post_entry`` so the
   outbox has real events; measures bytes per row of the big tables
   (``pg_total_relation_size``: heap, TOAST and indexes) for the sizing in the docs;
3. for each configuration — (a) gunicorn with 1 sync worker, (b) with 2 sync workers and,
   with ``--two-nodes``, (c) two gunicorn "nodes" of 1 worker on two ports, the load generator
   choosing the node round-robin per request — starts gunicorn, then a closed-loop load
   generator in its own process (``--clients`` threads, plain ``http.client``, no think
   time) that drives a fixed mix for ``--warmup`` + ``--duration`` seconds:

   - 30 % ``GET /api/v1/customers?limit=25&cursor=…`` (a page of the customer list),
   - 30 % ``GET /api/v1/customers/C-…`` (one customer),
   - 30 % ``GET /staff/customers/<number>/`` (the staff customer 360 page),
   - 10 % ``GET /staff/search/?q=…`` (staff search, a name prefix);

4. reports requests/s, p50/p95/p99 per kind and overall, the ratio of (b) to (a), the CPU used
   in the measured window by gunicorn, the PostgreSQL server processes, the load generator
   and the whole machine (``/proc``), the server-side p95 per route from the app's own
   request log lines (as production monitoring would compute it), and the load average.

Settings: ``config.settings.prod`` with ``SECURE_SSL_REDIRECT=0`` and the database cache (no
``CACHE_URL``), so every API request also counts its rate limit in PostgreSQL;
``CLIENTDESK_API_REQUESTS_PER_MINUTE`` is raised so the bench key is never limited. Variables
such as ``DATABASE_POOL=1`` pass through to gunicorn. Everything it starts is stopped, and the
server and its files removed, whatever happens. Exit status 1 if any request failed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
INNER = "CLIENTDESK_SCALEOUT_INNER"
MIX = (("api_list", 30), ("api_detail", 30), ("staff_360", 30), ("staff_search", 10))
TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105 (a throwaway bench user's)
HOLE = "NUMBER"  # in a URL pattern of the fixture: where each request puts a customer number


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--clients", type=int, default=6, help="concurrent closed-loop clients")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--postings", type=int, default=1_000, help="ledger postings (events)")
    parser.add_argument("--two-nodes", action="store_true", help="also run (c): two nodes")
    parser.add_argument("--json", type=Path, help="write the figures here")
    # Internal modes: the Django-side preparation and the load generator process.
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- /proc: CPU of process trees and of the machine ----------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, list[str]] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), fields  # ppid, fields[0] is the state


def tree_cpu_seconds(root_pid: int | None) -> float:
    """CPU of a process and its live children, plus what its reaped children used
    (``cutime``/``cstime``): a connection that ends in the window is still counted."""
    if root_pid is None:
        return 0.0
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        found = _stat(pid)
        if found is None:
            continue
        ppid, fields = found
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        if pid == root_pid:
            total += utime + stime + cutime + cstime
        elif ppid == root_pid:
            total += utime + stime
    return total / TICK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


def loadavg() -> list[float]:
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


def postmaster_pid(port: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"/postgres") and str(port).encode() in args:
            return int(entry.name)
    return None


# --- the load generator (its own process; standard library only) ----------------------------


def drive(spec_path: Path) -> None:
    """Closed loop: each client sends its next request as soon as the last one answered.
    Writes every request that finished in the measured window, and its own CPU time."""
    spec = json.loads(spec_path.read_text())
    fixture = json.loads(Path(spec["fixture"]).read_text())
    ports: list[int] = spec["ports"]
    start, warm = spec["start_at"], spec["start_at"] + spec["warmup"]
    end = warm + spec["duration"]
    api = {"Authorization": f"Bearer {fixture['token']}", "Accept": "application/json"}
    staff = {"Cookie": f"{fixture['cookie_name']}={fixture['cookie']}", "Accept": "text/html"}
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    numbers, terms = fixture["numbers"], fixture["terms"]
    results: list[tuple[str, float, float, int]] = []  # kind, finished, seconds, status
    lock = threading.Lock()
    turn = iter(range(10**12))  # round-robin over the nodes, shared by the clients

    def request_for(rng: random.Random) -> tuple[str, str, dict[str, str]]:
        kind = rng.choice(kinds)
        if kind == "api_list":
            cursor = rng.choice(numbers)
            return kind, f"{fixture['api_list']}?limit=25&cursor={cursor}", api
        if kind == "api_detail":
            return kind, fixture["api_detail"].replace(HOLE, str(rng.choice(numbers))), api
        if kind == "staff_360":
            return kind, fixture["staff_360"].replace(HOLE, str(rng.choice(numbers))), staff
        return kind, f"{fixture['staff_search']}?q={rng.choice(terms)}", staff

    def client(index: int) -> None:
        rng = random.Random(index)  # noqa: S311 (a load mix, not a secret)
        connections = {
            port: http.client.HTTPConnection("127.0.0.1", port, timeout=60) for port in ports
        }
        mine: list[tuple[str, float, float, int]] = []
        while time.time() < start:
            time.sleep(0.001)
        while True:
            now = time.time()
            if now >= end:
                break
            kind, path, headers = request_for(rng)
            with lock:
                port = ports[next(turn) % len(ports)]
            connection = connections[port]
            began = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                status = 0
            seconds = time.perf_counter() - began
            finished = time.time()
            if warm <= finished < end:
                mine.append((kind, finished, seconds, status))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(spec["clients"])]
    for thread in threads:
        thread.start()
    while time.time() < warm:
        time.sleep(0.001)
    cpu_at_warm = sum(os.times()[:2])
    while time.time() < end:
        time.sleep(0.001)
    cpu_in_window = sum(os.times()[:2]) - cpu_at_warm
    for thread in threads:
        thread.join()
    Path(spec["out"]).write_text(json.dumps({"requests": results, "cpu_seconds": cpu_in_window}))


# --- the Django side: data and credentials (runs in its own process) ------------------------


def prepare(out: Path, postings: int) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from allauth.mfa.totp.internal.auth import TOTP
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from clientdesk.apikeys.actions import create_staff_key
    from clientdesk.core.actor import Actor, Source
    from clientdesk.customers.models import Customer
    from clientdesk.events.feed import relay
    from clientdesk.ledger.actions import post_entry
    from clientdesk.users.actions import create_user

    user = create_user(
        email="scaleout-bench@staff.example",
        full_name="Scale-out Bench",
        password=None,
        staff_roles=["support", "billing", "manager"],
        actor=Actor.system(),
    )
    TOTP.activate(user, TOTP_SECRET)
    actor = Actor(user=user, source=Source.STAFF)
    _, token = create_staff_key(actor=actor, name="Scale-out bench", scopes=["customers:read"])
    browser = Client()
    browser.force_login(user)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value

    active = Customer.objects.filter(status=Customer.Status.ACTIVE)
    sample = list(active.order_by("?").values_list("number", "display_name")[:500])
    numbers = [number for number, _ in sample]
    terms = sorted({name.split()[0][:4].lower() for _, name in sample if name.split()})
    started = time.perf_counter()
    for index, customer in enumerate(active.order_by("?")[:postings]):
        post_entry(
            customer,
            kind="top_up",
            amount="25.00",
            description="Scale-out bench top-up",
            idempotency_key=f"scaleout-{index}",
            actor=actor,
        )
    posting_seconds = time.perf_counter() - started
    while relay():  # number the events as run_webhooks would: relayed rows, as in production
        pass
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    out.write_text(
        json.dumps(
            {
                "token": token,
                "cookie_name": settings.SESSION_COOKIE_NAME,
                "cookie": cookie,
                "numbers": numbers,
                "terms": terms,
                "api_list": reverse("api:list_customers"),
                # HOLE is replaced by a customer number per request.
                "api_detail": reverse("api:get_customer", args=[f"C-{HOLE}"]),
                "staff_360": reverse("staff:customer", args=[HOLE]),
                "staff_search": reverse("staff:search"),
                "postings": postings,
                "posting_seconds": round(posting_seconds, 2),
            }
        )
    )


SIZE_TABLES = {
    "customers_customer": "customer",
    "customers_contact": "contact",
    "audit_activity": "activity row",
    "ledger_entry": "ledger entry",
    "ledger_balance": "balance",
    "change_requests_changerequest": "change request",
    "events_event": "outbox event",
    "events_customerstream": "event counter",
    "customers_name_word": "search dictionary word",
}


EVENT_COPIES = 19


def table_sizes(url: str) -> dict[str, dict[str, Any]]:
    """Rows and bytes (heap + TOAST + indexes) of the big tables; bytes per row.

    The outbox holds only the events of the ``--postings`` (real ``post_entry`` calls, relayed
    by the real ``relay``): too few rows for a per-row figure that is not mostly the fixed
    pages of seven indexes. They are copied ``EVENT_COPIES`` times first — same payloads, new
    ids, sequences and positions — so ``events_event`` is measured at a size that counts."""
    import psycopg

    sizes: dict[str, dict[str, Any]] = {}
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "INSERT INTO events_event (id, type, customer_id, sequence, position, data, actor,"
            " occurred_at, request_id)"
            " SELECT gen_random_uuid(), type, customer_id, sequence + copy * 1000000,"
            " (SELECT max(position) FROM events_event)"
            " + row_number() OVER (ORDER BY copy, position), data, actor, occurred_at, request_id"
            " FROM events_event, generate_series(1, %s) AS copy",
            [EVENT_COPIES],
        )
        db.execute("VACUUM ANALYZE")
        for table, label in SIZE_TABLES.items():
            row = db.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()
            if not row or not row[0]:
                continue
            rows = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            total, heap, indexes = db.execute(
                "SELECT pg_total_relation_size(%s), pg_table_size(%s), pg_indexes_size(%s)",
                [table, table, table],
            ).fetchone()
            sizes[table] = {
                "label": label,
                "rows": rows,
                "total_bytes": total,
                "table_bytes": heap,
                "index_bytes": indexes,
                "bytes_per_row": round(total / rows) if rows else None,
                "index_bytes_per_row": round(indexes / rows) if rows else None,
            }
        sizes["_database"] = {
            "total_bytes": db.execute("SELECT pg_database_size(current_database())").fetchone()[0],
            # What one signed-in session stores (for sizing Redis): the bench's staff session.
            "session_data_bytes": db.execute(
                "SELECT max(length(session_data)) FROM django_session"
            ).fetchone()[0],
        }
    return sizes


# --- the orchestration ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, **kwargs)


def wait_ready(port: int, deadline: float) -> None:
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz", headers={"Host": "127.0.0.1"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn on port {port} did not become ready")


class Gunicorn:
    """One gunicorn master ("node") and its sync workers, in its own process group."""

    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(requests: list[list[Any]], seconds: float) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for kind, _finished, duration, status in requests:
        by_kind[kind].append(duration * 1000)
        if not 200 <= status < 300:
            errors[f"{kind} {status}"] += 1
    everything = [value for values in by_kind.values() for value in values]

    def stats(values: list[float]) -> dict[str, float]:
        return {
            "requests": len(values),
            "per_second": round(len(values) / seconds, 1),
            "p50_ms": round(percentile(values, 0.50), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "mean_ms": round(statistics.fmean(values), 1) if values else 0.0,
        }

    return {
        "overall": stats(everything),
        "by_kind": {kind: stats(values) for kind, values in sorted(by_kind.items())},
        "errors": dict(errors),
    }


ROUTES = (
    ("/api/v1/customers/", "api_detail"),
    ("/api/v1/customers", "api_list"),
    ("/staff/search/", "staff_search"),
    ("/staff/customers/", "staff_360"),
)


def server_side(log: Path, window: tuple[float, float]) -> dict[str, dict[str, float]]:
    """p50/p95 of ``duration_ms`` per route from the app's JSON request lines (the log a
    production node writes), for the requests that finished in the measured window."""
    durations: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
            # The log's local time, as logging wrote it.
            local = datetime.strptime(record["time"], "%Y-%m-%d %H:%M:%S,%f")  # noqa: DTZ007
            when = local.timestamp()
        except (ValueError, KeyError):
            continue
        if "duration_ms" not in record or not window[0] <= when < window[1]:
            continue
        path = record.get("path", "")
        route = next((name for prefix, name in ROUTES if path.startswith(prefix)), "other")
        durations[route].append(float(record["duration_ms"]))
    return {
        route: {
            "requests": len(values),
            "p50_ms": round(percentile(values, 0.5), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
        }
        for route, values in sorted(durations.items())
    }


def run_configuration(
    name: str,
    *,
    nodes: int,
    workers: int,
    env: dict[str, str],
    args: argparse.Namespace,
    workdir: Path,
    fixture: Path,
    pg_pid: int | None,
) -> dict[str, Any]:
    log = workdir / f"gunicorn-{name}.log"
    servers = [Gunicorn(env, workers, log) for _ in range(nodes)]
    driver: subprocess.Popen[bytes] | None = None
    try:
        for server in servers:
            wait_ready(server.port, time.time() + 60)
        out = workdir / f"requests-{name}.json"
        spec = workdir / f"drive-{name}.json"
        start_at = time.time() + 1.0
        spec.write_text(
            json.dumps(
                {
                    "fixture": str(fixture),
                    "ports": [server.port for server in servers],
                    "clients": args.clients,
                    "start_at": start_at,
                    "warmup": args.warmup,
                    "duration": args.duration,
                    "out": str(out),
                }
            )
        )
        driver = subprocess.Popen([PYTHON, __file__, "--drive", str(spec)], cwd=ROOT)
        load_before = loadavg()
        time.sleep(max(0.0, start_at + args.warmup - time.time()))

        def snapshot() -> dict[str, float]:
            busy, total = machine_cpu()
            return {
                "gunicorn": sum(tree_cpu_seconds(server.process.pid) for server in servers),
                "postgres": tree_cpu_seconds(pg_pid),
                "driver": tree_cpu_seconds(driver.pid if driver else None),
                "machine_busy": busy,
                "machine_total": total,
            }

        before, window_start = snapshot(), time.time()
        time.sleep(max(0.0, start_at + args.warmup + args.duration - time.time()))
        after, window_end = snapshot(), time.time()
        load_after = loadavg()
        if driver.wait(timeout=120) != 0:
            raise RuntimeError("the load generator failed")
        measured = json.loads(out.read_text())
    finally:
        if driver is not None and driver.poll() is None:
            driver.kill()
            driver.wait()
        for server in servers:
            server.stop()
    seconds = window_end - window_start
    cores = os.cpu_count() or 1
    used = {key: after[key] - before[key] for key in before}
    cpu = {
        "seconds": round(seconds, 2),
        "cores": cores,
        # Shares of the machine's CPU capacity (cores × seconds) in the window.
        "gunicorn_share": round(used["gunicorn"] / (seconds * cores), 3),
        "postgres_share": round(used["postgres"] / (seconds * cores), 3),
        "load_generator_share": round(used["driver"] / (seconds * cores), 3),
        "load_generator_self_reported_share": round(measured["cpu_seconds"] / (seconds * cores), 3),
        "machine_busy_share": round(used["machine_busy"] / used["machine_total"], 3)
        if used["machine_total"]
        else None,
    }
    summary = summarise(measured["requests"], args.duration)
    cpu_ms = used["gunicorn"] * 1000 / max(summary["overall"]["requests"], 1)
    pg_ms = used["postgres"] * 1000 / max(summary["overall"]["requests"], 1)
    return {
        "name": name,
        "nodes": nodes,
        "workers_per_node": workers,
        "clients": args.clients,
        **summary,
        "app_cpu_ms_per_request": round(cpu_ms, 2),
        "postgres_cpu_ms_per_request": round(pg_ms, 2),
        "cpu": cpu,
        "server_side_by_route": server_side(log, (window_start, window_end)),
        "load_average_before": load_before,
        "load_average_after": load_after,
    }


def print_run(run: dict[str, Any]) -> None:
    overall, cpu = run["overall"], run["cpu"]
    print(
        f"\n== ({run['name']}) {run['nodes']} node(s) × {run['workers_per_node']} sync "
        f"worker(s), {run['clients']} clients: {overall['per_second']} req/s, "
        f"p50 {overall['p50_ms']} ms, p95 {overall['p95_ms']} ms, p99 {overall['p99_ms']} ms, "
        f"errors {sum(run['errors'].values())}"
    )
    for kind, stats in run["by_kind"].items():
        print(
            f"   {kind:<13} {stats['per_second']:>7} req/s  p50 {stats['p50_ms']:>6} ms  "
            f"p95 {stats['p95_ms']:>6} ms"
        )
    print(
        f"   CPU of {cpu['cores']} cores: gunicorn {cpu['gunicorn_share']:.0%}, PostgreSQL "
        f"{cpu['postgres_share']:.0%}, load generator {cpu['load_generator_share']:.0%}, "
        f"machine busy {cpu['machine_busy_share']:.0%}; per request: app "
        f"{run['app_cpu_ms_per_request']} ms, PostgreSQL {run['postgres_cpu_ms_per_request']} ms"
    )
    print(
        "   server side (request log) p95: "
        + ", ".join(
            f"{route} {stats['p95_ms']} ms" for route, stats in run["server_side_by_route"].items()
        )
    )
    print(
        f"   load average before/after: {run['load_average_before']} / {run['load_average_after']}"
    )


def inner(args: argparse.Namespace) -> int:
    import psycopg

    began = time.perf_counter()
    url = os.environ["DATABASE_URL"]
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as db:
        db.execute("CREATE DATABASE clientdesk")
    workdir = Path(tempfile.mkdtemp(prefix="clientdesk-scaleout-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "CLIENTDESK_VAR_DIR": str(workdir),
        "CLIENTDESK_API_REQUESTS_PER_MINUTE": str(10**9),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CACHE_URL", None)
    quiet = {"stdout": subprocess.DEVNULL}
    result: dict[str, Any] = {"load_average_at_start": loadavg()}
    statics: subprocess.Popen[bytes] | None = None
    try:
        statics = subprocess.Popen(
            [PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env
        )
        step = time.perf_counter()
        manage(env, "migrate", "--no-input", "-v0")
        manage(env, "generate_dataset", "--customers", str(args.customers), "--no-progress")
        result["data_seconds"] = round(time.perf_counter() - step, 1)
        fixture = workdir / "fixture.json"
        subprocess.run(
            [PYTHON, __file__, "--prepare", str(fixture), "--postings", str(args.postings)],
            cwd=ROOT,
            env={**env, "LOG_LEVEL": "WARNING"},
            check=True,
            **quiet,
        )
        if statics.wait() != 0:
            raise RuntimeError("collectstatic failed")
        prepared = json.loads(fixture.read_text())
        result["postings"] = {
            "count": prepared["postings"],
            "seconds": prepared["posting_seconds"],
        }
        result["table_sizes"] = table_sizes(url)
        for table, size in result["table_sizes"].items():
            if "rows" in size:
                megabytes = size["total_bytes"] / 2**20
                print(
                    f"   {table:<32} {size['rows']:>9,} rows  {megabytes:8.1f} MB  "
                    f"{size['bytes_per_row'] or 0:>5} B/row "
                    f"({size['index_bytes_per_row'] or 0} in indexes)"
                )
        pg_pid = postmaster_pid(port)
        configurations = [("a", 1, 1), ("b", 1, 2)]
        if args.two_nodes:
            configurations.append(("c", 2, 1))
        runs = []
        for name, nodes, workers in configurations:
            run = run_configuration(
                name,
                nodes=nodes,
                workers=workers,
                env=env,
                args=args,
                workdir=workdir,
                fixture=fixture,
                pg_pid=pg_pid,
            )
            print_run(run)
            runs.append(run)
        result["runs"] = runs
        one, two = runs[0]["overall"]["per_second"], runs[1]["overall"]["per_second"]
        result["ratio_two_workers_to_one"] = round(two / one, 2) if one else None
        if args.two_nodes and one:
            result["ratio_two_nodes_to_one"] = round(runs[2]["overall"]["per_second"] / one, 2)
        result["load_average_at_end"] = loadavg()
        result["seconds_total"] = round(time.perf_counter() - began, 1)
        result["settings"] = {
            "duration": args.duration,
            "warmup": args.warmup,
            "clients": args.clients,
            "customers": args.customers,
            "mix": dict(MIX),
            "database_pool": env.get("DATABASE_POOL", ""),
        }
        print(
            f"\n2 workers / 1 worker: {result['ratio_two_workers_to_one']}×"
            + (
                f"; 2 nodes / 1 worker: {result['ratio_two_nodes_to_one']}×"
                if args.two_nodes
                else ""
            )
            + f"  (whole bench {result['seconds_total']} s, load average "
            f"{result['load_average_at_start']} → {result['load_average_at_end']})"
        )
    finally:
        if statics is not None and statics.poll() is None:
            statics.kill()
            statics.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"Figures written to {args.json}")
    failed = sum(sum(run["errors"].values()) for run in result.get("runs", []))
    if failed:
        print(f"FAILED: {failed} requests did not answer 2xx", file=sys.stderr)
    return 1 if failed else 0


def main() -> int:
    args = parse_args(sys.argv[1:])
    if args.drive:
        drive(args.drive)
        return 0
    if args.prepare:
        prepare(args.prepare, args.postings)
        return 0
    if os.environ.get(INNER):
        return inner(args)
    # The same options again, under a throwaway PostgreSQL (the JSON path made absolute: the
    # inner run works in the repository's root).
    forwarded = [
        f"--duration={args.duration}",
        f"--warmup={args.warmup}",
        f"--clients={args.clients}",
        f"--customers={args.customers}",
        f"--postings={args.postings}",
        *(["--two-nodes"] if args.two_nodes else []),
        *([f"--json={args.json.resolve()}"] if args.json else []),
    ]
    env = {**os.environ, INNER: "1"}
    command = [PYTHON, str(ROOT / "scripts" / "with_postgres.py"), "--", PYTHON, __file__]
    return subprocess.run([*command, *forwarded], cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
