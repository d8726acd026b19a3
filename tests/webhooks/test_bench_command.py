"""``manage.py bench_webhooks`` works and reports its figures (a tiny run; no timing asserted)."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from clientdesk.core.actor import Actor
from clientdesk.events.models import Event
from clientdesk.webhooks.management.commands.bench_webhooks import (
    percentile,
    slice_rates,
    tenth_costs,
)
from clientdesk.webhooks.models import Delivery, WebhookEndpoint
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db(transaction=True)  # the live phase publishes from a thread


def run_bench(tmp_path: Path, *args: str) -> tuple[dict, str]:
    out = io.StringIO()
    path = tmp_path / "bench.json"
    call_command(
        "bench_webhooks",
        "--threads",
        "4",
        "--no-progress",
        "--json",
        str(path),
        *args,
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(path.read_text()), out.getvalue()


# The live phase publishes from a second thread while the worker writes: the in-memory
# SQLite test database (shared cache, table locks that ignore the busy timeout) cannot host
# that; `make bench` runs it on a SQLite file in WAL mode, as production does.
@pytest.mark.postgres_only
def test_a_small_run_delivers_everything_and_reports_the_figures(tmp_path: Path) -> None:
    report, printed = run_bench(
        tmp_path, "--events", "60", "--endpoints", "3", "--live-events", "6", "--live-rate", "60"
    )

    assert report["events"] == 60
    assert report["deliveries"] == 60  # subscribe=own: one delivery per event
    assert report["per_second"] > 0
    assert report["latency_p95_s"] >= report["latency_p50_s"] >= 0
    assert len(report["slices"]) == 10
    assert sum(row["deliveries"] for row in report["slices"]) == 60
    assert all(row["per_second"] > 0 for row in report["slices"])
    # A batch may span two tenths of a tiny run: those tenths have no cost figures.
    costed = [row for row in report["slices"] if "cpu_ms" in row]
    assert all(row["cpu_ms"] > 0 and row["db_ms"] > 0 for row in costed)
    assert report["cpu_last_to_second"] is None or report["cpu_last_to_second"] > 0
    assert report["attempts"] == 60  # every POST answered 204 the first time
    assert report["worker_thread"]["relay"]["items"] >= 60
    assert report["worker_thread"]["record"]["items"] == 60
    assert report["worker_thread"]["sql_statements"] > 0
    assert report["live"]["events"] == 6
    assert report["live"]["deliveries"] == 6
    assert report["live"]["latency_max_s"] >= report["live"]["latency_p50_s"] >= 0
    # The receiver saw every POST, signed: the warm-up (20 per endpoint), backlog and live.
    assert report["receiver"]["requests"] == 3 * 20 + 60 + 6
    assert report["receiver"]["unsigned"] == 0
    assert report["receiver"]["cpu_seconds"] is not None
    # Every bench delivery was old enough to prune, and pruned with its attempt log.
    assert report["prune"]["removed"] == report["prune"]["aged_rows"] == 3 * 20 + 60 + 6
    assert report["prune"]["attempts_removed"] == report["prune"]["removed"]
    assert report["prune"]["left"] == 0
    assert report["setup"]["endpoints"] == 3
    assert report["setup"]["database"] in ("sqlite", "postgresql")

    assert "| **deliveries/s overall** |" in printed
    assert "| 90–100 % | 6 |" in printed
    assert "Target ≥ 200 deliveries/s:" in printed
    # The events carry the numbering publish gives them, and nothing is left behind.
    assert not Event.objects.filter(position__isnull=True, request_id__startswith="bench").exists()
    sequences = list(
        Event.objects.filter(request_id="bench-backlog")
        .order_by("customer_id", "sequence")
        .values_list("customer_id", "sequence")
    )
    for (customer, sequence), (next_customer, next_sequence) in itertools.pairwise(sequences):
        if customer == next_customer:
            assert next_sequence == sequence + 1
    # The bench switches its endpoints off at the end: no stray deliveries later.
    assert not WebhookEndpoint.objects.filter(is_active=True).exists()
    assert WebhookEndpoint.objects.filter(description="bench_webhooks").count() == 3


def test_subscribe_all_sends_every_event_to_every_endpoint_on_one_port(tmp_path: Path) -> None:
    report, printed = run_bench(
        tmp_path,
        *("--events", "20", "--endpoints", "2", "--subscribe", "all", "--live-events", "0"),
        "--one-port",
    )

    assert report["deliveries"] == 40
    assert report["live"] == {"events": 0}
    assert sum(row["deliveries"] for row in report["slices"]) == 40
    assert report["setup"]["one_port"] is True
    assert "2 endpoints on one port (subscribe=all)" in printed
    urls = list(WebhookEndpoint.objects.values_list("url", flat=True))
    assert len({url.rsplit("/hooks/", 1)[0] for url in urls}) == 1  # one host:port
    assert report["receiver"]["requests"] >= 40 + 2 * 20


def test_refuses_a_database_with_active_endpoints(tmp_path: Path, manager: Actor) -> None:
    make_endpoint(manager, "http://127.0.0.1:9/hook")

    with pytest.raises(CommandError, match="active webhook endpoints"):
        run_bench(tmp_path, "--events", "5")
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--events", "0"), ("--endpoints", "201"), ("--threads", "0"), ("--live-rate", "0")],
)
def test_refuses_nonsense_sizes(tmp_path: Path, flag: str, value: str) -> None:
    with pytest.raises(CommandError, match=flag):
        run_bench(tmp_path, flag, value)
    assert not WebhookEndpoint.objects.exists()


def test_slice_rates_measure_each_tenth_from_the_end_of_the_previous_one() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # 20 deliveries: the first ten one per second, the next ten two per second.
    finished = [start + timedelta(seconds=s) for s in range(1, 11)]
    finished += [start + timedelta(seconds=10 + 0.5 * s) for s in range(1, 11)]

    rows = slice_rates(start, list(reversed(finished)))

    assert [row["deliveries"] for row in rows] == [2] * 10
    assert [round(row["per_second"], 2) for row in rows] == [1.0] * 5 + [2.0] * 5


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) in (50.0, 51.0)
    assert percentile(values, 0.95) in (95.0, 96.0)
    assert percentile([], 0.5) == 0.0


def test_tenth_costs_divide_cpu_and_busy_time_by_the_deliveries_of_each_tenth() -> None:
    marks = [(0, 10.0, 0.0), (100, 10.2, 0.1), (100, 10.2, 0.1), (300, 10.6, 0.3)]

    rows = tenth_costs(marks)

    assert [round(row["cpu_ms"], 3) for row in rows] == [2.0, 2.0]
    assert [round(row["db_ms"], 3) for row in rows] == [1.0, 1.0]
