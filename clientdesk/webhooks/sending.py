"""One POST to a vetted address, with the rules of delivery: a 10-second limit, no
redirects (a redirect is a failure), a short excerpt of the answer kept for staff."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import urllib3

from .destinations import Destination

TIMEOUT_SECONDS = 10.0
EXCERPT_BYTES = 500
USER_AGENT = "Clientdesk-Webhooks/1"
# Kept-alive connections per address: at least the worker's threads, so several endpoints
# on one host never find the pool full (each miss would be a new TLS handshake).
POOL_SIZE = 32


@dataclass(frozen=True)
class Response:
    status_code: int | None  # None: no HTTP answer (refused, timed out, TLS error…)
    duration_ms: int
    excerpt: str = ""
    error: str = ""
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


_pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


def _pool(destination: Destination) -> urllib3.HTTPConnectionPool:
    """One keep-alive pool per vetted address: the connection goes to the IP that was
    checked, while the Host header and TLS name (SNI, certificate) stay the URL's host."""
    key = (destination.scheme, destination.address, destination.port, destination.host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            timeout = urllib3.Timeout(total=TIMEOUT_SECONDS)
            if destination.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    destination.address,
                    destination.port,
                    maxsize=POOL_SIZE,
                    timeout=timeout,
                    retries=False,
                    server_hostname=destination.host,
                    assert_hostname=destination.host,
                    cert_reqs="CERT_REQUIRED",
                )
            else:
                pool = urllib3.HTTPConnectionPool(
                    destination.address,
                    destination.port,
                    maxsize=POOL_SIZE,
                    timeout=timeout,
                    retries=False,
                )
            _pools[key] = pool
        return pool


def post(destination: Destination, *, body: bytes, headers: dict[str, str]) -> Response:
    host_header = destination.host
    default_port = 443 if destination.scheme == "https" else 80
    if destination.port != default_port:
        host_header = f"{destination.host}:{destination.port}"
    request_headers = {
        "Host": host_header,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        **headers,
    }
    started = time.monotonic()
    try:
        response = _pool(destination).urlopen(
            "POST",
            destination.path,
            body=body,
            headers=request_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as error:
        return Response(None, _elapsed(started), error=_describe(error))
    try:
        chunk = response.read(EXCERPT_BYTES + 1, decode_content=True)
    except urllib3.exceptions.HTTPError as error:
        chunk = b""
        response.close()
        return Response(response.status, _elapsed(started), error=_describe(error))
    if len(chunk) > EXCERPT_BYTES or response.length_remaining:
        response.close()  # don't read a long answer; drop the connection instead
    else:
        response.release_conn()
    return Response(
        response.status,
        _elapsed(started),
        excerpt=chunk[:EXCERPT_BYTES].decode("utf-8", "replace"),
        retry_after=response.headers.get("Retry-After"),
    )


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(error: Exception) -> str:
    # NewConnectionError subclasses the timeout errors in urllib3: test it first.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return "Connection refused or unreachable."
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return f"No answer within {TIMEOUT_SECONDS:g} seconds."
    if isinstance(error, urllib3.exceptions.SSLError):
        return "TLS error: the certificate could not be verified."
    return str(error)[:300]
