#!/usr/bin/env python3
"""The load test: Clientdesk on gunicorn and PostgreSQL under a mixed locust workload.

    .venv/bin/python scripts/loadtest.py --users 50 --duration 5m [--spawn-rate 5]
                                         [--json var/bench/loadtest.json]

What it does, every process on 127.0.0.1 only and stopped whatever happens:

1. runs itself again under ``scripts/with_postgres.py`` (a throwaway PostgreSQL server;
   without PostgreSQL binaries: an error under CI=true, a warning and a skip elsewhere),
   creates the database and migrates it;
2. prepares the data (``manage.py loadtest_prepare``: generated customers, portal
   accounts, staff with TOTP, API keys, a webhook endpoint for the local receiver);
3. starts the webhook receiver (``run_webhook_receiver``), the webhook worker
   (``run_webhooks``), the task worker (``db_worker``, for emails) and gunicorn with two
   workers (``config.wsgi``, development settings with DEBUG off, as behind one proxy);
4. runs locust headless in its own process (``loadtest/locustfile.py``);
5. waits (at most ``--drain`` seconds, 60 by default) for the outbox, the deliveries and
   the tasks to drain and checks the invariants (``manage.py check_invariants --strict``);
6. prints requests, failures, p50/p95/p99 per request type and overall and req/s, writes
   them with the outcomes and the invariants to ``--json``, and exits 1 on any failed
   request, invariant breach or crashed process.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
INNER = "CLIENTDESK_LOADTEST_INNER"  # set when running under with_postgres
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--duration", default="5m", help="how long, e.g. 60s, 1m, 5m")
    parser.add_argument(
        "--spawn-rate", type=float, default=0.0, help="users started per second (users/10)"
    )
    parser.add_argument("--json", default="", help="write the results here (JSON)")
    parser.add_argument("--customers", type=int, default=2000, help="generated customers")
    parser.add_argument(
        "--drain", type=float, default=60.0, help="seconds allowed for the outbox to drain"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be 1 or more")
    args.seconds = _seconds(parser, args.duration)
    args.spawn_rate = args.spawn_rate or max(1.0, args.users / 10)
    return args


def _seconds(parser: argparse.ArgumentParser, text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1:] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        parser.error(f"--duration: {text!r} is not a time such as 60s, 1m or 5m")
    raise AssertionError  # parser.error exits


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if os.environ.get(INNER) != "1":
        # Again, under a throwaway PostgreSQL server (DATABASE_URL set for us).
        started = time.monotonic()
        command = [sys.executable, str(ROOT / "scripts" / "with_postgres.py"), "--"]
        command += [sys.executable, str(Path(__file__).resolve()), *argv]
        code = subprocess.run(command, env={**os.environ, INNER: "1"}, check=False).returncode
        print(f"Load test script finished in {time.monotonic() - started:.0f} s (exit {code}).")
        return code
    return LoadTest(args).run()


# --- processes ---------------------------------------------------------------------------


class Processes:
    """Everything this script starts, each in its own process group, so stopping one
    stops its children (gunicorn's workers) and nothing else."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append((name, process, log))
        return process

    def check_alive(self) -> None:
        for name, process, _ in self.running:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} stopped (exit {process.returncode}); see {self.logs}/{name}.log"
                )

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        # Stray children of a stopped leader (none expected): the group, once more.
        _signal_group(process, signal.SIGKILL)

    def forget(self, process: subprocess.Popen[bytes]) -> None:
        """A process that has finished its work (locust): no longer watched."""
        for entry in list(self.running):
            if entry[1] is process:
                self.running.remove(entry)
                self.stop(process)
                entry[2].close()

    def stop_all(self) -> None:
        for _, process, log in reversed(self.running):
            try:
                self.stop(process)
            finally:
                log.close()
        self.running.clear()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)  # the group this script made (start_new_session)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, *, seconds: float, processes: Processes) -> None:
    deadline = time.monotonic() + seconds
    while True:
        processes.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")
        time.sleep(0.3)


def wait_for_port(port: int, *, seconds: float, processes: Processes) -> None:
    deadline = time.monotonic() + seconds
    while True:
        processes.check_alive()
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {HOST}:{port} after {seconds:.0f} s")
        time.sleep(0.2)


# --- the run -----------------------------------------------------------------------------


class LoadTest:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="clientdesk-loadtest-"))
        self.processes = Processes(self.work)
        self.port = free_port()
        self.receiver_port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.env = self._django_env()
        self.started = time.monotonic()

    def _django_env(self) -> dict[str, str]:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith("postgres"):
            raise SystemExit("The load test runs under scripts/with_postgres.py (PostgreSQL).")
        var = self.work / "var"
        var.mkdir()
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            # DEBUG off: Django keeps no query log, templates are cached, errors are 500s.
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "SITE_URL": f"http://{HOST}:{self.port}",
            # As behind one reverse proxy: each simulated user sends its own
            # X-Forwarded-For, so per-address sign-in limits apply per person.
            "TRUSTED_PROXY_COUNT": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "CLIENTDESK_VAR_DIR": str(var),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "manage.py", *args]
        result = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    def step(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", flush=True)

    def run(self) -> int:
        interrupted = False

        def on_signal(signum: int, _: Any) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, on_signal)
        ok = False
        try:
            ok = self._run()
        except KeyboardInterrupt:
            interrupted = True
            print("Interrupted: stopping everything.", file=sys.stderr)
        except RuntimeError as error:
            print(f"ERROR: {error}", file=sys.stderr)
        finally:
            self.processes.stop_all()
            if ok and not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
            else:
                print(f"Logs kept in {self.work}", file=sys.stderr)
        if interrupted:
            return 130
        return 0 if ok else 1

    def _run(self) -> bool:
        args = self.args
        self.step(f"Creating the database ({self.env['DATABASE_URL'].rsplit('/', 1)[-1]})")
        create_database(self.env["DATABASE_URL"])
        self.manage("migrate", "--no-input", "-v0")
        fixture = self.work / "fixture.json"
        self.step(f"Preparing data ({args.customers:,} generated customers and the sign-ins)")
        prepared = self.manage(
            "loadtest_prepare",
            "--out",
            str(fixture),
            "--customers",
            str(args.customers),
            "--webhook-url",
            f"http://{HOST}:{self.receiver_port}/hooks",
        )
        print("         " + prepared.stdout.strip().splitlines()[-1], flush=True)
        secret = json.loads(fixture.read_text())["webhook"]["secret"]

        manage = [sys.executable, "manage.py"]
        self.step("Starting the webhook receiver, the webhook worker and the task worker")
        self.processes.start(
            "receiver",
            [
                *manage,
                "run_webhook_receiver",
                "--port",
                str(self.receiver_port),
                "--secret",
                secret,
            ],
            self.env,
        )
        wait_for_port(self.receiver_port, seconds=30, processes=self.processes)
        self.processes.start("webhooks", [*manage, "run_webhooks"], self.env)
        self.processes.start("worker", [*manage, "db_worker", "--interval", "1"], self.env)
        self.step(f"Starting gunicorn (2 workers) at {self.base_url}")
        self.processes.start(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "config.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"{HOST}:{self.port}",
                "--timeout",
                "60",
                "--graceful-timeout",
                "10",
                # No control socket in ~/.gunicorn: another gunicorn may be using it.
                "--no-control-socket",
            ],
            self.env,
        )
        wait_for_http(f"{self.base_url}/readyz", seconds=60, processes=self.processes)

        self.step(
            f"Load: {args.users} users (spawn rate {args.spawn_rate:g}/s) for {args.duration}"
        )
        stats_prefix = self.work / "locust"
        outcomes = self.work / "outcomes.json"
        load_started = time.monotonic()
        locust = self.processes.start(
            "locust",
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "loadtest" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.seconds}s",
                "--host",
                self.base_url,
                "--csv",
                str(stats_prefix),
                "--only-summary",
                "--stop-timeout",
                "15",
                "--loglevel",
                "WARNING",
            ],
            {
                **os.environ,
                "LOADTEST_FIXTURE": str(fixture),
                "LOADTEST_OUTCOMES": str(outcomes),
            },
        )
        self._wait_for_locust(locust, args.seconds)
        load_seconds = time.monotonic() - load_started
        locust_code = locust.returncode
        self.processes.forget(locust)

        self.step(f"Load stopped; waiting up to {args.drain:.0f} s for the outbox to drain")
        drain_started = time.monotonic()
        invariants_file = self.work / "invariants.json"
        checked = self.manage(
            "check_invariants",
            "--strict",
            "--wait",
            str(args.drain),
            "--json",
            str(invariants_file),
            check=False,
        )
        drain_seconds = time.monotonic() - drain_started
        self.processes.check_alive()  # a worker that died during the run is a failure
        printed = self.manage("shell", "--no-imports", "-c", COUNTS_SCRIPT).stdout.strip()
        counts = json.loads(printed.splitlines()[-1] if printed else "{}")

        errors = logged_errors(self.work)
        stats = read_stats(stats_prefix)
        result = {
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "duration": args.duration,
            "load_seconds": round(load_seconds, 1),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "server": "gunicorn 2 sync workers, PostgreSQL (throwaway, fsync off)",
            "aggregated": stats["aggregated"],
            "requests": stats["requests"],
            "failures": stats["failures"],
            "outcomes": json.loads(outcomes.read_text()) if outcomes.exists() else {},
            "invariants": json.loads(invariants_file.read_text())
            if invariants_file.exists()
            else {"ok": False, "error": checked.stderr[-2000:]},
            "logged_errors": errors,
            "drain_seconds": round(drain_seconds, 1),
            "counts": counts,
            "locust_exit_code": locust_code,
            "script_seconds": round(time.monotonic() - self.started, 1),
        }
        failed_requests = int(stats["aggregated"].get("failures", 0))
        ok = (
            locust_code == 0
            and failed_requests == 0
            and stats["aggregated"].get("requests", 0) > 0
            and checked.returncode == 0
            and not errors
        )
        result["ok"] = ok
        print_summary(result, checked)
        if args.json:
            path = Path(args.json)
            if not path.is_absolute():
                path = ROOT / path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            print(f"Results written to {path}")
        if not ok and locust_code not in (0, 1):
            print(f"locust exited {locust_code}; see {self.work}/locust.log", file=sys.stderr)
        return ok

    def _wait_for_locust(self, locust: subprocess.Popen[bytes], seconds: int) -> None:
        deadline = time.monotonic() + seconds + 120
        next_note = time.monotonic() + 60
        while locust.poll() is None:
            others = [entry for entry in self.processes.running if entry[1] is not locust]
            for name, process, _ in others:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} stopped during the load; see {self.work}/{name}.log"
                    )
            if time.monotonic() > deadline:
                raise RuntimeError("locust did not stop in time")
            if time.monotonic() > next_note:
                self.step("… load running")
                next_note += 60
            time.sleep(1)


# The app's JSON log lines, and gunicorn's own ("[CRITICAL] WORKER TIMEOUT").
ERROR_MARKERS = ('"level": "ERROR"', '"level": "CRITICAL"', "[ERROR]", "[CRITICAL]")


def logged_errors(folder: Path, shown: int = 20) -> list[str]:
    """ERROR lines and tracebacks the app's processes logged (a 500, a worker crash, a
    task that raised): none is expected, even when every request looked fine."""
    found: list[str] = []
    for name in ("gunicorn", "worker", "webhooks"):
        path = folder / f"{name}.log"
        if not path.exists():
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if any(marker in line for marker in ERROR_MARKERS) or line.startswith("Traceback"):
                    found.append(f"{name}: {line.strip()[:300]}")
                    if len(found) >= shown:
                        return found
    return found


def create_database(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


COUNTS_SCRIPT = """
import json
from django.db.models import Count
from clientdesk.change_requests.models import ChangeRequest
from clientdesk.events.models import Event
from clientdesk.ledger.models import Entry
from clientdesk.notifications.models import MailLog
from clientdesk.webhooks.models import Delivery
def by(model, field):
    rows = model.objects.values(field).annotate(n=Count("pk")).order_by(field)
    return {row[field]: row["n"] for row in rows}
print(json.dumps({
    "events": Event.objects.count(),
    "deliveries": by(Delivery, "status"),
    "emails": by(MailLog, "status"),
    "ledger_entries": Entry.objects.count(),
    "change_requests": by(ChangeRequest, "status"),
}))
"""


# --- results -------------------------------------------------------------------------------


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def read_stats(prefix: Path) -> dict[str, Any]:
    """Locust's CSV files: per request type and the aggregate, plus the failures."""
    requests: list[dict[str, Any]] = []
    aggregated: dict[str, Any] = {}
    stats_file = Path(f"{prefix}_stats.csv")
    if stats_file.exists():
        with stats_file.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                entry = {
                    "method": row["Type"],
                    "name": row["Name"],
                    "requests": int(_number(row["Request Count"])),
                    "failures": int(_number(row["Failure Count"])),
                    "rps": round(_number(row["Requests/s"]), 2),
                    "avg_ms": round(_number(row["Average Response Time"]), 1),
                    "p50_ms": _number(row["50%"]),
                    "p95_ms": _number(row["95%"]),
                    "p99_ms": _number(row["99%"]),
                    "max_ms": round(_number(row["Max Response Time"]), 1),
                }
                if row["Name"] == "Aggregated":
                    aggregated = entry
                else:
                    requests.append(entry)
    failures: list[dict[str, Any]] = []
    failures_file = Path(f"{prefix}_failures.csv")
    if failures_file.exists():
        with failures_file.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                failures.append(
                    {
                        "method": row["Method"],
                        "name": row["Name"],
                        "error": row["Error"],
                        "occurrences": int(_number(row["Occurrences"])),
                    }
                )
    return {"requests": requests, "aggregated": aggregated, "failures": failures}


def print_summary(result: dict[str, Any], checked: subprocess.CompletedProcess[str]) -> None:
    rows = result["requests"]
    width = max([len(f"{r['method']} {r['name']}") for r in rows] + [10])
    print()
    print(
        f"{'request':<{width}} {'count':>7} {'fail':>5} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    )
    for r in [*rows, {**result["aggregated"], "method": "", "name": "ALL"}]:
        if not r.get("name"):
            continue
        label = f"{r['method']} {r['name']}".strip()
        print(
            f"{label:<{width}} {r['requests']:>7} {r['failures']:>5} {r['rps']:>7.2f} "
            f"{r['p50_ms']:>7.0f} {r['p95_ms']:>7.0f} {r['p99_ms']:>7.0f}"
        )
    expected = {
        f"{name}: {outcome}": count
        for name, outcomes in result["outcomes"].items()
        for outcome, count in outcomes.items()
        if "expected" in outcome or "replayed" in outcome
    }
    if expected:
        print("\nExpected refusals and replays (counted as successes):")
        for label, count in sorted(expected.items()):
            print(f"  {count:>6}  {label}")
    print("\nFailures by kind:" if result["failures"] else "\nFailures: none")
    for failure in result["failures"]:
        print(
            f"  {failure['occurrences']:>6}  {failure['method']} {failure['name']}: "
            f"{failure['error'][:160]}"
        )
    if result["logged_errors"]:
        print("\nErrors in the app's logs:")
        for line in result["logged_errors"]:
            print(f"  {line}")
    print(f"\nInvariants (after the drain, {result['drain_seconds']:.0f} s):")
    print(checked.stdout.rstrip())
    if checked.stderr.strip():
        print(checked.stderr.rstrip())
    print(f"\nCounts: {json.dumps(result['counts'])}")
    aggregated = result["aggregated"]
    print(
        f"\n{'PASSED' if result['ok'] else 'FAILED'}: {aggregated.get('requests', 0)} requests, "
        f"{aggregated.get('failures', 0)} failures, {aggregated.get('rps', 0):.1f} req/s, "
        f"p50 {aggregated.get('p50_ms', 0):.0f} ms, p95 {aggregated.get('p95_ms', 0):.0f} ms, "
        f"p99 {aggregated.get('p99_ms', 0):.0f} ms; {result['users']} users for "
        f"{result['duration']}; script {result['script_seconds']:.0f} s."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
