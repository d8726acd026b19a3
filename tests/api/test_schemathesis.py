"""Schemathesis over the whole OpenAPI document: every operation, with a staff manager key
holding every scope and with a customer owner's key, through the examples, coverage and
fuzzing phases. Zero server errors, and every answer (status, content type, body) must be
one the document declares.

The document does not declare ``If-Match`` or ``Idempotency-Key`` (ninja cannot say it), so
the test adds them to about half of the updates and creations — the current ETag, read
just before — so the fuzzer gets past the precondition into the actions themselves. Path
parameters that name a customer or a contact are pointed at real ones (customer A and one
of its contacts) the same way, so the generated bodies reach the domain's rules instead of
stopping at "no such customer".

Bounded: ``MAX_EXAMPLES`` fuzzed cases per operation and persona, deterministic (the same
cases every run, so a failure reproduces), no example database written to disk.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test import Client
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import customer_token, staff_token
from .test_isolation import PATH_VALUES, Objects, a_objects

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")

PERSONAS = ("staff_manager", "a_owner")


def _coin(case: Any, salt: str) -> bool:
    """A stable yes/no per generated case (the same case decides the same way every run)."""
    seed = json.dumps(
        [case.method, case.path, case.path_parameters, case.query, case.body, salt],
        sort_keys=True,
        default=str,
    )
    return zlib.crc32(seed.encode()) % 2 == 0


def _current_etag(client: Client, path: str, headers: dict[str, str]) -> str | None:
    """The ETag of the resource at ``path``, or of the nearest parent that has one (a PUT
    on ``…/contacts/7/portal-access`` is conditional on the contact's ETag)."""
    while path.count("/") > 3:
        response = client.get(path, headers=headers)
        if response.status_code == 200 and response.has_header("ETag"):
            return str(response["ETag"])
        path = path.rsplit("/", 1)[0]
    return None


# Field name → a value the domain accepts. About half of the generated bodies get these, so
# the fuzzer also reaches the success paths (a random string is rarely a valid email,
# amount or webhook URL).
PLAUSIBLE: dict[str, Callable[[int], Any]] = {
    "email": lambda n: f"fuzz{n}@example.org",
    "url": lambda n: f"https://127.0.0.1:9/hook/{n}",
    "amount": lambda n: f"{n % 997 + 1}.00",
    "first_name": lambda n: f"Fuzz{n % 100}",
    "display_name": lambda n: f"Fuzz Trading {n % 1000}",
}


def _plausible(value: Any, n: int) -> Any:
    if isinstance(value, dict):
        return {
            key: PLAUSIBLE[key](n) if key in PLAUSIBLE else _plausible(item, n)
            for key, item in value.items()
        }
    return value


SECTIONS = ["personal", "business", "einvoice", "contact", "legal", "billing", "preferences"]


def _point_at_real_objects(case: Any, objects: Objects) -> None:
    params = case.path_parameters
    if not params:
        return
    for name in list(params):
        if name == "section":
            if _coin(case, name):
                params[name] = SECTIONS[zlib.crc32(str(params[name]).encode()) % len(SECTIONS)]
        elif name in PATH_VALUES and _coin(case, name):
            params[name] = PATH_VALUES[name][0](objects)


@pytest.fixture
def _test_connection_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Schemathesis calls the WSGI app directly, whose request signals would close the
    database connection — and with it the test's transaction (PostgreSQL). Django's test
    client disconnects those signals only around its own requests (and connects them
    again), so the connection itself is told to stay open for the test."""
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)


@pytest.fixture
def fuzz_world(world: Any, settings: Any, _test_connection_kept: None) -> Any:
    settings.CLIENTDESK_API_REQUESTS_PER_MINUTE = 1_000_000
    # The manager also works in billing and support, so no operation stops at a missing
    # staff role and every one is exercised past its permission check.
    manager = world.users["staff_manager"]
    manager.groups.add(*Group.objects.filter(name__in=["billing", "support"]))
    objects = a_objects(world)
    objects.tokens = {  # type: ignore[attr-defined]
        "staff_manager": staff_token(world.users["staff_manager"]),
        "a_owner": customer_token(world.users["a_owner"], world.customer_a),
    }
    return objects


@pytest.mark.parametrize("persona", PERSONAS)
@schema.parametrize()
# One world per operation and persona, shared by its examples: the fuzzer's changes pile up,
# as they would on a real server.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_the_api_keeps_its_openapi_promises(case: Any, persona: str, fuzz_world: Any) -> None:
    headers = {"Authorization": f"Bearer {fuzz_world.tokens[persona]}"}
    _point_at_real_objects(case, fuzz_world)
    if isinstance(case.body, dict) and _coin(case, "plausible"):
        case.body = _plausible(case.body, zlib.crc32(repr(case.body).encode()))
    method = case.method.upper()
    conditional = method in {"PATCH", "PUT", "DELETE"} or "If-Match" in (case.headers or {})
    if conditional and _coin(case, "if-match"):
        path = case.formatted_path
        etag = _current_etag(Client(), path, headers)
        if etag is not None:
            headers["If-Match"] = etag
    if method == "POST" and _coin(case, "idempotency"):
        headers["Idempotency-Key"] = f"fuzz-{zlib.crc32(repr(case.body).encode())}"
    case.call_and_validate(headers=headers, checks=CHECKS)
