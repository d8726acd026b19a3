"""The API's promises that hold across resources: ETags and If-Match, Idempotency-Key, unknown
fields, bad bodies, page sizes, Unicode, and the trail (Activity and events name the key).

Where a promise applies to every operation of a kind (every GET of one resource has an ETag,
every body rejects unknown fields, every list caps its page size…), the test walks the
OpenAPI document, so routes added later are held to the same rules.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings as django_settings

from clientdesk.audit.models import Activity
from clientdesk.customers.models import Contact, Customer
from clientdesk.events.models import Event

from .conftest import ApiClient, customer_token, staff_token
from .test_isolation import (
    OPERATIONS,
    PATH_VALUES,
    PREFIX,
    Objects,
    a_objects,
    build,
)

pytestmark = pytest.mark.django_db


def label(method: str, path: str) -> str:
    return f"{method.upper()} {path.removeprefix(PREFIX)}"


def params(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == where}


def has_json_body(operation: dict[str, Any]) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def is_conditional(method: str, operation: dict[str, Any]) -> bool:
    """Updates and deletions (and any operation that declares If-Match) need If-Match."""
    return method in ("patch", "put", "delete") or "If-Match" in params(operation, "header")


SINGLE_GETS = [
    (m, p, o) for m, p, o in OPERATIONS if m == "get" and p.endswith("}") and params(o, "path")
]
CONDITIONAL = [(m, p, o) for m, p, o in OPERATIONS if is_conditional(m, o)]
WITH_BODY = [(m, p, o) for m, p, o in OPERATIONS if has_json_body(o)]
PAGED = [(m, p, o) for m, p, o in OPERATIONS if m == "get" and "limit" in params(o, "query")]


def ids(operations: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [label(m, p) for m, p, _ in operations]


def assert_problem(response: Any, status: int | tuple[int, ...], code: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.content[:400])
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    assert body["code"] and body["detail"] and body["type"] and body["title"]
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def objects(world: Any) -> Objects:
    return a_objects(world)


@pytest.fixture
def root_api(world: Any) -> ApiClient:
    """A superuser's key with every scope: every operation, every role."""
    return ApiClient(staff_token(world.users["superuser"]))


def send(client: ApiClient, method: str, request: dict[str, Any], **headers: str) -> Any:
    path = request["path"]
    if method == "get":
        return client.get(path, headers=headers)
    if method == "delete":
        return client.delete(path, headers=headers)
    return client.send(method, path, request["body"], headers=headers)


def contact_path(world: Any, contact: Contact) -> str:
    return f"{PREFIX}customers/{world.customer_a.client_id}/contacts/{contact.pk}"


def member(world: Any) -> Contact:
    return Contact.objects.get(customer=world.customer_a, user=world.users["a_member"])


# --- ETag and If-Match ----------------------------------------------------------------------


def test_there_are_operations_of_every_kind() -> None:
    assert len(SINGLE_GETS) >= 3 and len(CONDITIONAL) >= 4
    assert len(WITH_BODY) >= 5 and len(PAGED) >= 2


@pytest.mark.parametrize(("method", "path", "operation"), SINGLE_GETS, ids=ids(SINGLE_GETS))
def test_every_resource_has_an_etag(
    method: str, path: str, operation: dict[str, Any], objects: Objects, root_api: ApiClient
) -> None:
    response = send(root_api, method, build(method, path, operation, objects))
    assert response.status_code == 200, response.content[:300]
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    body = response.json()
    if isinstance(body, dict) and "version" in body:
        assert etag == f'"{body["version"]}"'


@pytest.mark.parametrize(("method", "path", "operation"), CONDITIONAL, ids=ids(CONDITIONAL))
def test_every_update_without_if_match_is_428_and_changes_nothing(
    method: str, path: str, operation: dict[str, Any], objects: Objects, root_api: ApiClient
) -> None:
    before = Event.objects.count(), Activity.objects.count()
    response = send(root_api, method, build(method, path, operation, objects))
    assert_problem(response, 428, "precondition_required")
    assert (Event.objects.count(), Activity.objects.count()) == before


def test_a_contact_update_needs_the_current_etag(world: Any, a_owner_api: ApiClient) -> None:
    contact = member(world)
    path = contact_path(world, contact)
    read = a_owner_api.get(path)
    etag = read["ETag"]
    assert etag == f'"{contact.version}"'
    change = {"job_title": "Head of Finance"}

    assert_problem(a_owner_api.patch(path, change), 428, "precondition_required")
    stale = f'"{contact.version + 7}"'
    assert_problem(a_owner_api.patch(path, change, {"If-Match": stale}), 412, "precondition_failed")
    assert_problem(a_owner_api.patch(path, change, {"If-Match": "*"}), 400)
    assert_problem(a_owner_api.patch(path, change, {"If-Match": "3"}), 400)  # not quoted
    contact.refresh_from_db()
    assert contact.job_title != "Head of Finance"

    done = a_owner_api.patch(path, change, {"If-Match": etag})
    assert done.status_code == 200, done.content
    assert done.json()["job_title"] == "Head of Finance"
    assert done["ETag"] != etag
    assert done["ETag"] == a_owner_api.get(path)["ETag"]
    # The old ETag is now stale.
    assert_problem(a_owner_api.patch(path, {"job_title": "CFO"}, {"If-Match": etag}), 412)


def test_a_profile_section_update_needs_the_current_etag(
    world: Any, manager_api: ApiClient
) -> None:
    path = f"{PREFIX}customers/{world.customer_a.client_id}/profile/business"
    read = manager_api.get(path)
    assert read.status_code == 200
    etag = read["ETag"]
    assert etag == f'"{read.json()["etag"]}"'
    body = {"values": {"website": "https://alpha.example.com"}, "reason": "Client called"}

    assert_problem(manager_api.patch(path, body), 428)
    assert_problem(manager_api.patch(path, body, {"If-Match": '"not-the-etag"'}), 412)
    done = manager_api.patch(path, body, {"If-Match": etag})
    assert done.status_code == 200, done.content
    assert done.json()["values"]["website"] == "https://alpha.example.com"
    assert done["ETag"] != etag


def test_out_of_order_syncs_cannot_overwrite_newer_data(world: Any) -> None:
    """Two programs read the same version; the first write wins, the second is told 412
    instead of silently replacing it — and a replay of the first changes nothing."""
    erp = ApiClient(customer_token(world.users["a_owner"], world.customer_a))
    crm = ApiClient(customer_token(world.users["a_admin"], world.customer_a))
    contact = member(world)
    path = contact_path(world, contact)
    etag = erp.get(path)["ETag"]
    assert crm.get(path)["ETag"] == etag

    first = erp.patch(path, {"job_title": "Finance lead (ERP)"}, {"If-Match": etag})
    assert first.status_code == 200, first.content
    second = crm.patch(path, {"job_title": "Sales (CRM)"}, {"If-Match": etag})
    assert_problem(second, 412, "precondition_failed")
    replay = erp.patch(path, {"job_title": "Finance lead (ERP)"}, {"If-Match": etag})
    assert_problem(replay, 412)

    contact.refresh_from_db()
    assert contact.job_title == "Finance lead (ERP)"
    updates = Activity.objects.filter(target_id=str(contact.pk), verb__startswith="contact.")
    assert updates.filter(source="api").count() == 1


# --- Idempotency-Key ------------------------------------------------------------------------


def test_an_idempotent_post_is_replayed_not_repeated(world: Any, a_owner_api: ApiClient) -> None:
    path = f"{PREFIX}customers/{world.customer_a.client_id}/contacts"
    body = {"first_name": "Siti", "last_name": "Aminah", "email": "siti@alpha.example"}
    headers = {"Idempotency-Key": "erp-sync-0001"}
    contacts = Contact.objects.filter(customer=world.customer_a)
    count, events = contacts.count(), Event.objects.count()

    first = a_owner_api.post(path, body, headers)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = a_owner_api.post(path, body, headers)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again["ETag"] == first["ETag"] and again["Location"] == first["Location"]
    assert contacts.count() == count + 1
    assert contacts.filter(email="siti@alpha.example").count() == 1
    assert Event.objects.count() == events + 1

    other = a_owner_api.post(path, {**body, "first_name": "Sarah"}, headers)
    assert_problem(other, 422, "idempotency_mismatch")
    too_long = a_owner_api.post(path, body, {"Idempotency-Key": "k" * 256})
    assert_problem(too_long, 400, "invalid")
    assert contacts.count() == count + 1


def test_idempotency_keys_belong_to_one_api_key(world: Any) -> None:
    """Two programs that happen to pick the same Idempotency-Key do not collide."""
    path = f"{PREFIX}customers/{world.customer_a.client_id}/contacts"
    headers = {"Idempotency-Key": "sync-1"}
    one = ApiClient(customer_token(world.users["a_owner"], world.customer_a))
    two = ApiClient(customer_token(world.users["a_admin"], world.customer_a))
    first = one.post(path, {"first_name": "Ana", "email": "ana@alpha.example"}, headers)
    second = two.post(path, {"first_name": "Ben", "email": "ben@alpha.example"}, headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second


def test_a_replayed_customer_creation_opens_one_account(manager_api: ApiClient) -> None:
    body = {"display_name": "Gamma Logistics Sdn Bhd", "country": "MY"}
    headers = {"Idempotency-Key": "crm-open-gamma"}
    first = manager_api.post(f"{PREFIX}customers", body, headers)
    assert first.status_code == 201, first.content
    again = manager_api.post(f"{PREFIX}customers", body, headers)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Customer.objects.filter(display_name="Gamma Logistics Sdn Bhd").count() == 1


def test_a_refused_request_is_replayed_as_refused(world: Any, a_owner_api: ApiClient) -> None:
    """A 4xx is an answer too: the same key and body get it again, nothing is created."""
    path = f"{PREFIX}customers/{world.customer_a.client_id}/contacts"
    body = {"first_name": "Dup", "email": world.users["a_member"].email}
    headers = {"Idempotency-Key": "dup-1"}
    first = a_owner_api.post(path, body, headers)
    again = a_owner_api.post(path, body, headers)
    assert 400 <= first.status_code < 500
    assert again.status_code == first.status_code
    assert again.content == first.content


# --- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "operation"), WITH_BODY, ids=ids(WITH_BODY))
def test_unknown_fields_are_refused_by_name(
    method: str, path: str, operation: dict[str, Any], objects: Objects, root_api: ApiClient
) -> None:
    """No mass assignment: a field the schema does not name is an error, not ignored."""
    request = build(method, path, operation, objects)
    assert isinstance(request["body"], dict)
    request["body"] = {**request["body"], "is_superuser": True}
    before = Event.objects.count()
    response = send(root_api, method, request, **{"If-Match": '"1"'})
    body = assert_problem(response, 400, "invalid")
    assert "is_superuser" in json.dumps(body.get("errors", {})), body
    assert Event.objects.count() == before


@pytest.mark.parametrize(("method", "path", "operation"), WITH_BODY, ids=ids(WITH_BODY))
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"first_name": "Ana",', "application/json"),
        (b"\xff\xfe\x00not utf-8", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"null", "application/json"),
        (b"first_name=Ana&email=ana%40example.org", "application/x-www-form-urlencoded"),
        (b"first_name: Ana", "text/plain"),
        (b"<contact><first_name>Ana</first_name></contact>", "application/xml"),
        (b"", "application/json"),
    ],
    ids=["truncated", "not-utf8", "array", "null", "form", "text", "xml", "empty"],
)
def test_a_body_that_is_not_a_json_object_is_a_4xx_problem(
    method: str,
    path: str,
    operation: dict[str, Any],
    content: bytes,
    content_type: str,
    objects: Objects,
    root_api: ApiClient,
) -> None:
    request = build(method, path, operation, objects)
    before = Event.objects.count()
    response = getattr(root_api.client, method)(
        request["path"],
        data=content,
        content_type=content_type,
        headers={"Authorization": f"Bearer {root_api.token}", "If-Match": '"1"'},
    )
    assert_problem(response, (400, 415, 422))
    assert Event.objects.count() == before


def test_a_body_over_the_upload_limit_is_413(world: Any, a_owner_api: ApiClient) -> None:
    path = f"{PREFIX}customers/{world.customer_a.client_id}/contacts"
    filler = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)
    count = Contact.objects.count()
    response = a_owner_api.post(path, {"first_name": "Big", "email": "big@a.example", "x": filler})
    assert_problem(response, 413, "too_large")
    assert Contact.objects.count() == count


def test_long_values_are_refused_with_the_field_named(world: Any, a_owner_api: ApiClient) -> None:
    path = f"{PREFIX}customers/{world.customer_a.client_id}/contacts"
    response = a_owner_api.post(path, {"first_name": "N" * 10_000, "email": "n@alpha.example"})
    body = assert_problem(response, 400, "invalid")
    assert "first_name" in body["errors"]


def test_unicode_names_round_trip(world: Any, a_owner_api: ApiClient) -> None:
    path = f"{PREFIX}customers/{world.customer_a.client_id}/contacts"
    names = {
        "first_name": "Zoë Ñúñez",
        "last_name": "山田 太郎",
        "job_title": "Directrice générale",
    }
    created = a_owner_api.post(path, {**names, "email": "zoe@alpha.example"})
    assert created.status_code == 201, created.content
    assert created["Content-Type"] == "application/json"
    fetched = a_owner_api.get(created["Location"]).json()
    for field, value in names.items():
        assert fetched[field] == value
    assert Contact.objects.get(pk=fetched["id"]).last_name == "山田 太郎"
    assert "山田".encode() in a_owner_api.get(path).content  # UTF-8, not \\u escapes only


PATHS = sorted({path for _, path, _ in OPERATIONS})


@pytest.mark.parametrize("path", PATHS, ids=[p.removeprefix(PREFIX) for p in PATHS])
def test_a_method_an_operation_does_not_have_is_a_405_problem(
    path: str, objects: Objects, root_api: ApiClient
) -> None:
    declared = {m for m, p, _ in OPERATIONS if p == path}
    operation = next(o for m, p, o in OPERATIONS if p == path)
    request = build("get", path, operation, objects)
    for method in sorted({"get", "post", "put", "patch", "delete"} - declared):
        response = send(root_api, method, {**request, "body": {}})
        assert_problem(response, 405, "method_not_allowed")
        assert {m.upper() for m in declared} <= set(response["Allow"].replace(",", " ").split())


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-operation", "/api/v1/customers/C-1/x/y", "/api/v2/customers"]
)
def test_a_path_that_is_no_operation_is_a_404_problem(path: str, root_api: ApiClient) -> None:
    assert_problem(root_api.get(path), 404, "not_found")


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "operation"), PAGED, ids=ids(PAGED))
def test_page_sizes_are_capped(
    method: str, path: str, operation: dict[str, Any], objects: Objects, root_api: ApiClient
) -> None:
    """Every list says its largest page in the document (100 for resources; the event feed
    allows 500) and refuses more with 400."""
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")["schema"]
    cap = limit.get("maximum")
    assert cap is not None and cap <= (500 if path.endswith("/events") else 100), limit
    request = build(method, path, operation, objects)
    for value in (str(cap + 1), "100000", "0", "-1", "ten"):
        response = root_api.get(request["path"], limit=value)
        body = assert_problem(response, 400, "invalid")
        assert any("limit" in name for name in body.get("errors", {})), body
    assert root_api.get(request["path"], limit=str(cap)).status_code == 200


def test_cursor_pages_walk_every_row_once(world: Any, manager_api: ApiClient) -> None:
    path = f"{PREFIX}customers/{world.customer_a.client_id}/contacts"
    seen: list[int] = []
    cursor = ""
    for _ in range(20):
        page = manager_api.get(path, limit="2", cursor=cursor).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = list(Contact.objects.filter(customer=world.customer_a).values_list("pk", flat=True))
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))


# --- the trail ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["a_owner", "staff_manager"])
def test_activity_and_events_name_the_api_and_the_key(world: Any, persona: str) -> None:
    user = world.users[persona]
    token = (
        customer_token(user, world.customer_a) if persona.startswith("a_") else staff_token(user)
    )
    prefix = token[: token.index("_", 4)]
    client = ApiClient(token)
    path = contact_path(world, member(world))
    etag = client.get(path)["ETag"]
    response = client.patch(path, {"job_title": "Synced from ERP"}, {"If-Match": etag})
    assert response.status_code == 200, response.content

    activity = Activity.objects.filter(customer=world.customer_a).latest("pk")
    assert activity.source == "api"
    assert prefix in activity.actor_label
    assert str(user) in activity.actor_label
    assert activity.actor == user
    event = Event.objects.get(actor__api_key=prefix)
    assert event.type == "contact.updated"
    assert event.actor["source"] == "api"
    assert event.actor["api_key"] == prefix
    assert event.actor["user_id"] == user.pk


def test_a_staff_key_keeps_staff_authority_but_is_recorded_as_api(
    world: Any, manager_api: ApiClient
) -> None:
    """A customer key may not do what only staff may do, even with the same body."""
    path = f"{PREFIX}customers"
    body = {"display_name": "Delta Retail Sdn Bhd"}
    customer_key = ApiClient(customer_token(world.users["a_owner"], world.customer_a))
    assert_problem(customer_key.post(path, body), 403, "not_allowed")
    created = manager_api.post(path, body)
    assert created.status_code == 201, created.content
    customer = Customer.objects.get(display_name="Delta Retail Sdn Bhd")
    activity = Activity.objects.filter(customer=customer).earliest("pk")
    assert activity.source == "api"
    assert "via API key" in activity.actor_label


def test_every_known_path_parameter_has_a_value() -> None:
    """The isolation and semantics tests can build every path the document has."""
    missing = {
        f"{label(m, p)}: {name}"
        for m, p, o in OPERATIONS
        for name in params(o, "path")
        if name not in PATH_VALUES
    }
    assert missing == set()
