"""Customer isolation for every API operation, driven by the OpenAPI document.

For each operation the test builds the concrete request on customer A's objects (A's client
ID, one of A's contacts, A's change request, note, ledger entry, event, webhook endpoint…)
with a body that passes the schema, and sends it with customer B's key and with a staff key
limited to customer B. Neither may reach A: the answer is 404 (the same as for an id that
does not exist), or — for an operation that customer keys may not use at all, which A's own
key is refused too — 403; never a 2xx, and the body names nothing of A's. The same request
with a key that may see A is then sent to prove the path really names A's objects (not a
404).

A new operation whose path has a parameter this file does not know fails the test: add
the parameter to ``PATH_VALUES`` with the id of one of A's objects, so nothing slips through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from clientdesk.api.api import api
from clientdesk.change_requests import actions as change_requests
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Contact
from clientdesk.customers.notes import add_note
from clientdesk.events.models import Event
from clientdesk.ledger import actions as ledger
from clientdesk.webhooks import actions as webhooks

from .conftest import ApiClient, customer_token, staff_token

PREFIX = "/api/v1/"
DOCUMENT = api.get_openapi_schema(path_prefix=PREFIX)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Objects:
    """One of each of customer A's things, and the words that would betray them."""

    world: Any
    contact: Contact
    change_request: Any
    note: Any
    entry: Any
    endpoint: Any
    event: Event

    @property
    def secrets(self) -> list[str]:
        """Text that only someone who can see A's data could put in a response."""
        a = self.world.customer_a
        words = [
            a.display_name,
            self.contact.email,
            self.note.body,
            self.entry.description,
            self.endpoint.url,
            str(self.event.pk),
        ]
        words += list(a.contacts.values_list("email", flat=True))
        return [word for word in words if word]


def a_objects(world: Any) -> Objects:
    """Customer A with one object of every kind the API exposes."""
    a = world.customer_a
    support = Actor(world.users["staff_support"], Source.STAFF)
    manager = Actor(world.users["staff_manager"], Source.STAFF)
    contact = Contact.objects.get(customer=a, user=world.users["a_member"])
    request = change_requests.submit_change_request(
        a,
        kind="legal",
        values={
            "legal_name": "Alpha Trading (Asia) Sdn Bhd",
            "legal_line1": "Level 5, Menara Alpha",
            "legal_city": "Kuala Lumpur",
            "legal_postcode": "50250",
            "legal_state": "Wilayah Persekutuan Kuala Lumpur",
        },
        actor=support,
    )
    note = add_note(
        a,
        kind="general",
        body="Alpha-only note: called about the renewal.",
        reason="Isolation check",
        actor=support,
    )
    entry = ledger.post_entry(
        a,
        kind="top_up",
        amount=Decimal("125.00"),
        description="Alpha-only opening credit",
        idempotency_key="isolation-opening",
        actor=Actor.system(),
    ).entry
    endpoint, _ = webhooks.create_endpoint(
        actor=manager,
        url="http://127.0.0.1:9/alpha-only-hook",
        target="Billing",
        customers=[a.client_id],
    )
    event = Event.objects.filter(customer=a).order_by("-occurred_at").first()
    assert event is not None
    return Objects(world, contact, request, note, entry, endpoint, event)


# Path parameter → (the value naming customer A's object, a value naming nothing). Add new
# parameters here.
MISSING_UUID = "00000000-0000-4000-8000-000000000000"
PATH_VALUES: dict[str, tuple[Callable[[Objects], Any], Any]] = {
    "client_id": (lambda o: o.world.customer_a.client_id, "C-999999"),
    "number": (lambda o: o.world.customer_a.client_id, "C-999999"),
    "contact_id": (lambda o: o.contact.pk, 999999),
    "section": (lambda o: "legal", "legal"),
    "reference": (lambda o: o.change_request.reference, "CR-999999"),
    "change_request_id": (lambda o: o.change_request.reference, "CR-999999"),
    "note_id": (lambda o: o.note.pk, 999999),
    "entry_id": (lambda o: o.entry.pk, 999999),
    "event_id": (lambda o: o.event.pk, MISSING_UUID),
    "endpoint_id": (lambda o: o.endpoint.pk, 999999),
}
# Query parameters that choose a customer: pointed at A too (a list filtered to A).
CUSTOMER_QUERY = {"customer", "client_id", "customers"}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in DOCUMENT["paths"].items():
        for method, operation in items.items():
            if method in METHODS:
                yield method, path, operation


OPERATIONS = sorted(operations(), key=lambda item: (item[1], item[0]))


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = DOCUMENT["components"]["schemas"][name]
    return schema


def sample(schema: dict[str, Any], name: str, objects: Objects) -> Any:
    """A small value that passes ``schema`` (so the request reaches the view)."""
    schema = _resolve(schema)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s).get("type") != "null"]
            return sample(options[0], name, objects)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            field: sample(sub, field, objects)
            for field, sub in schema.get("properties", {}).items()
            if field in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    lowered = name.lower()
    if lowered in CUSTOMER_QUERY:
        return objects.world.customer_a.client_id
    if "email" in lowered:
        return "isolation@example.org"
    if lowered == "url":
        return "http://127.0.0.1:9/hook"
    text = "Isolation check"
    return text[: schema.get("maxLength", len(text))]


def build(
    method: str, path: str, operation: dict[str, Any], objects: Objects, *, missing: bool = False
) -> dict[str, Any]:
    """The request on A's objects (or, with ``missing``, on ids that name nothing)."""
    concrete = path
    query: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if parameter["in"] == "path":
            if name not in PATH_VALUES:
                pytest.fail(
                    f"{method.upper()} {path}: no value for the path parameter {name!r}. Add it "
                    "to PATH_VALUES in tests/api/test_isolation.py (one of customer A's ids)."
                )
            real, absent = PATH_VALUES[name]
            value = absent if missing else real(objects)
            concrete = concrete.replace("{" + name + "}", str(value))
        elif parameter["in"] == "query" and name in CUSTOMER_QUERY:
            query[name] = objects.world.customer_a.client_id
    assert "{" not in concrete, concrete
    body = None
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = sample(content["application/json"]["schema"], "body", objects)
    return {"path": concrete, "query": query, "body": body}


def send(client: ApiClient, method: str, request: dict[str, Any], etag: str = '"1"') -> Any:
    path = request["path"]
    if request["query"]:
        path += "?" + "&".join(f"{k}={v}" for k, v in request["query"].items())
    headers = {"If-Match": etag, "Idempotency-Key": f"isolation-{method}-{path}"[:200]}
    if method == "get":
        return client.get(path, headers=headers)
    if method == "delete":
        return client.delete(path, headers=headers)
    return client.send(method, path, request["body"], headers=headers)


def names_a_customer(operation: dict[str, Any], request: dict[str, Any]) -> bool:
    """Does the request point at A (a path parameter, a customer filter, a body field)?"""
    if any(p["in"] == "path" for p in operation.get("parameters", [])) or request["query"]:
        return True
    body = request["body"]
    return isinstance(body, dict) and bool(CUSTOMER_QUERY & set(body))


def betrayed(response: Any, objects: Objects) -> list[str]:
    text = response.content.decode(errors="replace")
    return [word for word in objects.secrets if word in text]


@pytest.fixture
def objects(world: Any) -> Objects:
    return a_objects(world)


def test_the_document_has_operations_to_check() -> None:
    labels = {f"{m.upper()} {p}" for m, p, _ in OPERATIONS}
    assert "GET /api/v1/customers/{client_id}" in labels
    assert "PATCH /api/v1/customers/{client_id}/contacts/{contact_id}" in labels
    assert len(OPERATIONS) >= 11


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    OPERATIONS,
    ids=[f"{m.upper()} {p.removeprefix(PREFIX)}" for m, p, _ in OPERATIONS],
)
def test_other_keys_cannot_reach_customer_a(
    method: str, path: str, operation: dict[str, Any], objects: Objects
) -> None:
    world = objects.world
    request = build(method, path, operation, objects)
    nothing = build(method, path, operation, objects, missing=True)
    outsiders = {
        "customer B's key": ApiClient(customer_token(world.users["b_owner"], world.customer_b)),
        "a staff key limited to customer B": ApiClient(
            staff_token(world.users["staff_manager"], customers=[world.customer_b])
        ),
    }
    before = _snapshot(objects)
    for who, client in outsiders.items():
        response = send(client, method, request)
        assert betrayed(response, objects) == [], f"{who} saw A's data: {response.content[:300]!r}"
        if not names_a_customer(operation, request):
            continue  # a list or a creation that names no customer: only what B may see
        status = response.status_code
        assert not 200 <= status < 300, f"{who} reached A's objects: {status}"
        assert response["Content-Type"] == "application/problem+json"
        assert status in (403, 404), f"{who}: {status} {response.content[:300]!r}"
        if status == 403:
            # Refused before any lookup (customer keys may not use this operation; a limited
            # key may not manage endpoints): the same answer for ids that name nothing, so
            # the 403 reveals nothing about A.
            same = send(client, method, nothing)
            assert same.status_code == 403, (
                f"{who}: 403 on A's objects but {same.status_code} on missing ones — "
                "existence revealed"
            )
    assert _snapshot(objects) == before, "a refused request changed customer A's data"

    if names_a_customer(operation, request):
        # The request really names A's objects: a key that may see A is not told 404.
        staff = send(ApiClient(staff_token(world.users["superuser"])), method, request)
        assert staff.status_code != 404, (staff.status_code, staff.content[:300])


def _snapshot(objects: Objects) -> str:
    a = objects.world.customer_a
    a.refresh_from_db()
    rows = {
        "customer": [a.version, a.status, a.display_name],
        "contacts": list(a.contacts.order_by("pk").values_list("pk", "version", "portal_access")),
        "events": Event.objects.filter(customer=a).count(),
    }
    return json.dumps(rows, default=str)


def test_an_unknown_path_parameter_fails_loudly(objects: Objects) -> None:
    operation = {"parameters": [{"name": "gadget_id", "in": "path"}]}
    with pytest.raises(pytest.fail.Exception, match=re.escape("'gadget_id'")):
        build("get", "/api/v1/gadgets/{gadget_id}", operation, objects)
