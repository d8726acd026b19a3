"""``manage.py run_webhooks``: the webhook delivery worker (one per machine is plenty;
several share the queue safely on PostgreSQL)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from clientdesk.webhooks.worker import Worker


class Command(BaseCommand):
    help = "Deliver webhook events until stopped (Ctrl-C finishes the requests in flight)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--threads", type=int, default=16, help="HTTP requests in flight")
        parser.add_argument(
            "--per-endpoint", type=int, default=4, help="most requests in flight to one endpoint"
        )
        parser.add_argument(
            "--until-idle", action="store_true", help="stop when nothing is due (scripts, tests)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        worker = Worker(threads=options["threads"], per_endpoint=options["per_endpoint"])
        self.stdout.write("Delivering webhooks. Ctrl-C to stop.")
        stats = worker.run(stop=stop, idle_exit=options["until_idle"])
        self.stdout.write(
            f"Relayed {stats.relayed} events; {stats.delivered} delivered, "
            f"{stats.failed_attempts} failed attempts."
        )
