"""At-least-once: a worker killed after the receiver got the POST, before it recorded the
answer, leads to a redelivery with the same webhook-id — never a lost or stuck event."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from werkzeug import Request, Response

ROOT = Path(__file__).resolve().parents[2]


def _run(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.webhooks.crash_worker", str(directory), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={key: value for key, value in os.environ.items() if key != "DATABASE_URL"},
    )


def test_a_killed_worker_leads_to_a_redelivery_with_the_same_id(httpserver, tmp_path):
    setup = _run(tmp_path, "setup", httpserver.url_for("/hook"))
    assert setup.returncode == 0, setup.stderr

    received: list[str] = []
    worker: subprocess.Popen[str] | None = None

    def kill_the_worker_on_first_receipt(request: Request) -> Response:
        received.append(request.headers["webhook-id"])
        if len(received) == 1 and worker is not None:
            os.kill(worker.pid, signal.SIGKILL)  # the receiver has it; the worker never hears
            worker.wait(timeout=30)
        return Response(status=204)

    httpserver.expect_request("/hook").respond_with_handler(kill_the_worker_on_first_receipt)
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.webhooks.crash_worker", str(tmp_path), "work"],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={key: value for key, value in os.environ.items() if key != "DATABASE_URL"},
    )
    worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL
    after_crash = json.loads(_run(tmp_path, "status").stdout)
    assert after_crash["status"] == "sending" and after_crash["leased"]  # claimed, unrecorded
    assert after_crash["attempts"] == 0

    time.sleep(1.2)  # the dead worker's one-second lease runs out
    again = _run(tmp_path, "work")
    assert again.returncode == 0, again.stderr
    final = json.loads(_run(tmp_path, "status").stdout)
    assert final["status"] == "delivered" and not final["leased"]
    assert received == [final["webhook_id"], final["webhook_id"]]
