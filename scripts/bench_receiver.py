#!/usr/bin/env python3
"""A fast local webhook receiver for ``manage.py bench_webhooks``: it must not be the bottleneck.

    python scripts/bench_receiver.py --ports 8 [--processes 2]

Listens on 127.0.0.1 only, on ``--ports`` free ports (one per benchmark endpoint, so each
endpoint gets its own keep-alive connection pool in the worker, as distinct receivers
would). HTTP/1.1 keep-alive, one thread per connection (``ThreadingHTTPServer``); every
POST has its body read and gets ``204 No Content`` with ``Content-Length: 0``. With
``--processes P`` > 1, P forked processes share each port through ``SO_REUSEPORT``.

Prints one line ``ports 41001 41002 …`` on stdout when ready. ``GET /stats`` on any port
answers JSON: ``{"requests": n, "unsigned": m}`` (POSTs without a ``webhook-signature``
header), summed over all processes. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


class Counters:
    """Request counts shared by every thread and process (shared memory, one lock)."""

    def __init__(self) -> None:
        self.requests = multiprocessing.Value("q", 0)
        self.unsigned = multiprocessing.Value("q", 0)

    def add(self, *, signed: bool) -> None:
        with self.requests.get_lock():
            self.requests.value += 1
            if not signed:
                self.unsigned.value += 1

    def snapshot(self) -> dict[str, int]:
        with self.requests.get_lock():
            return {"requests": int(self.requests.value), "unsigned": int(self.unsigned.value)}


def make_handler(counters: Counters) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the worker reuses its connections
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            counters.add(signed=bool(self.headers.get("webhook-signature")))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            body = json.dumps(counters.snapshot()).encode()
            self.send_response(200 if self.path == "/stats" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would cost more than answering it

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], *, reuse_port: bool):
        self.reuse_port = reuse_port
        super().__init__((HOST, port), handler)

    def server_bind(self) -> None:
        if self.reuse_port:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def serve(servers: list[Server]) -> None:
    """Serve every port from this process until SIGTERM/SIGINT."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, args=(0.2,), daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", type=int, default=1, help="how many ports to listen on")
    parser.add_argument("--processes", type=int, default=1, help="processes sharing the ports")
    args = parser.parse_args(argv)
    if not 1 <= args.ports <= 1000 or not 1 <= args.processes <= 64:
        parser.error("--ports must be 1-1000 and --processes 1-64")

    counters = Counters()
    handler = make_handler(counters)
    reuse = args.processes > 1
    servers = [Server(0, handler, reuse_port=reuse) for _ in range(args.ports)]
    ports = [server.server_address[1] for server in servers]
    # The other processes bind the same ports (SO_REUSEPORT spreads connections over them).
    children: list[int] = []
    for _ in range(args.processes - 1):
        pid = os.fork()
        if pid == 0:
            for server in servers:
                server.server_close()
            serve([Server(port, handler, reuse_port=True) for port in ports])
            os._exit(0)
        children.append(pid)
    print("ports " + " ".join(str(port) for port in ports), flush=True)
    try:
        serve(servers)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)  # reaped, so its CPU time counts in ours (wait4 rusage)
            except ChildProcessError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
