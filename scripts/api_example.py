#!/usr/bin/env python3
"""Clientdesk REST API v1, end to end, with nothing but the standard library.

With a staff API key (scopes ``customers:write``, ``contacts:write``, ``contacts:read``,
``change_requests:write``; its maker in the support or manager group) this script:

1. opens a customer account, with its owner (who is emailed a portal invitation);
2. adds a contact with portal access (an invitation is emailed to them too);
3. changes that contact's job title the safe way: read the ETag, send ``If-Match``;
4. submits a change request on the customer's behalf (the legal name and registered
   address, which need a manager's approval).

Every POST carries an ``Idempotency-Key`` derived from ``--run-id``: run the script again
with the same run id after a network failure and nothing is created twice — the API replays
its first answers. Errors come back as ``application/problem+json``; the script prints the
``code`` and ``detail`` and stops.

    python scripts/api_example.py --base-url http://127.0.0.1:8000 --token cdk_…
    CLIENTDESK_API_URL=… CLIENTDESK_API_TOKEN=… python scripts/api_example.py

It prints what it did and, last, one line of JSON with the ids it created.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("title") or "error"
        super().__init__(f"HTTP {status} {problem.get('code', '')}: {detail}")
        self.status = status
        self.problem = problem


class Api:
    """A tiny client: JSON in and out, the bearer token, and the response headers."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("The base URL must start with http:// or https://.")
        self.root = base_url.rstrip("/")
        self.base = self.root + "/api/v1"
        self.token = token
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        # A path, or a Location the API answered (``/api/v1/…``), or a full URL.
        if path.startswith(("http://", "https://")):
            url = path
        elif path.startswith("/api/"):
            url = self.root + path
        else:
            url = self.base + path
        # Only http(s): the base URL is checked in __init__ and Location is a path.
        request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
                return (json.loads(raw) if raw else {}), dict(response.headers)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                problem = json.loads(raw)
            except ValueError:
                problem = {"detail": raw[:200].decode(errors="replace")}
            raise ApiError(error.code, problem) from None


def run(api: Api, *, run_id: str, name: str, owner_email: str, contact_email: str) -> dict:
    def step(text: str) -> None:
        print(f"· {text}", file=sys.stderr)

    # 1. A customer and its owner. The owner gets a portal invitation by email.
    customer, _ = api.call(
        "POST",
        "/customers",
        {
            "display_name": name,
            "kind": "business",
            "country": "MY",
            "owner": {"first_name": "Aisha", "last_name": "Rahman", "email": owner_email},
        },
        {"Idempotency-Key": f"{run_id}-customer"},
    )
    client_id = customer["id"]
    step(f"opened {client_id} ({customer['display_name']})")

    # 2. A contact with portal access: the invitation is sent at once.
    contact, headers = api.call(
        "POST",
        f"/customers/{client_id}/contacts",
        {
            "first_name": "Ben",
            "last_name": "Tan",
            "email": contact_email,
            "role": "billing",
            "portal_access": True,
        },
        {"Idempotency-Key": f"{run_id}-contact"},
    )
    step(f"added contact {contact['id']} ({contact['email']}), portal access on")

    # 3. An update names the version it is based on (If-Match): a change made meanwhile by
    #    someone else is answered 412 instead of being overwritten.
    location = headers.get("Location") or f"/customers/{client_id}/contacts/{contact['id']}"
    _, current = api.call("GET", location)
    contact, _ = api.call(
        "PATCH", location, {"job_title": "Accounts payable"}, {"If-Match": current["ETag"]}
    )
    step(f"set the contact's job title (version {contact['version']})")

    # 4. Fields that need approval go through a change request; staff keys ask on the
    #    customer's behalf, and a manager (someone else) approves it.
    change, _ = api.call(
        "POST",
        f"/customers/{client_id}/change-requests",
        {
            "kind": "legal",
            "values": {
                "legal_name": f"{name} (registered)",
                "legal_line1": "Level 5, Menara Example",
                "legal_city": "Kuala Lumpur",
                "legal_postcode": "50250",
                "legal_state": "Wilayah Persekutuan Kuala Lumpur",
            },
            "note": "Registered details from the signed contract.",
        },
        {"Idempotency-Key": f"{run_id}-legal"},
    )
    step(f"submitted {change['id']} ({change['title']}): {change['status']}")
    return {
        "customer": client_id,
        "contact": contact["id"],
        "change_request": change["id"],
        "run_id": run_id,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("CLIENTDESK_API_URL", ""))
    parser.add_argument("--token", default=os.environ.get("CLIENTDESK_API_TOKEN", ""))
    parser.add_argument(
        "--run-id",
        default=uuid.uuid4().hex[:12],
        help="reuse to retry a run safely (the Idempotency-Keys derive from it)",
    )
    parser.add_argument("--name", default="Example Trading Sdn Bhd")
    parser.add_argument("--owner-email", default="")
    parser.add_argument("--contact-email", default="")
    args = parser.parse_args(argv)
    if not args.base_url or not args.token:
        parser.error("give --base-url and --token (or CLIENTDESK_API_URL, CLIENTDESK_API_TOKEN)")
    try:
        api = Api(args.base_url, args.token)
    except ValueError as error:
        parser.error(str(error))
    try:
        result = run(
            api,
            run_id=args.run_id,
            name=args.name,
            owner_email=args.owner_email or f"owner-{args.run_id}@example.com",
            contact_email=args.contact_email or f"billing-{args.run_id}@example.com",
        )
    except ApiError as error:
        print(f"error: {error}", file=sys.stderr)
        for field, messages in (error.problem.get("errors") or {}).items():
            print(f"  {field}: {'; '.join(messages)}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"error: cannot reach {args.base_url}: {error.reason}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
