"""API v1 staff notes: staff keys list, read and add; customer keys find nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.customers import notes
from clientdesk.customers.models import Customer, Note
from clientdesk.events.models import Event

from .conftest import ApiClient, customer_token, staff_token

pytestmark = pytest.mark.django_db

NOTE = {"kind": "general", "body": "Called about the invoice.", "reason": "Client phoned"}


def url(customer: Customer, note_id: int | None = None) -> str:
    base = f"/api/v1/customers/{customer.client_id}/notes"
    return base if note_id is None else f"{base}/{note_id}"


def add(world: Any, customer: Customer | None = None, **values: Any) -> Note:
    return notes.add_note(
        customer or world.customer_a,
        actor=Actor(world.users["staff_support"], Source.STAFF),
        **(NOTE | values),
    )


def test_staff_add_a_note_and_the_trail_names_the_key(world: Any, support_api: Any) -> None:
    response = support_api.post(
        url(world.customer_a),
        {**NOTE, "pinned": True, "authorised_by_id": world.users["staff_manager"].pk},
        headers={"Idempotency-Key": "note-1"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    note = Note.objects.get()
    assert body["id"] == note.pk and body["pinned"] is True
    assert body["author"]["id"] == world.users["staff_support"].pk
    assert body["authorised_by"]["id"] == world.users["staff_manager"].pk
    assert response["Location"] == body["url"] == url(world.customer_a, note.pk)
    replay = support_api.post(
        url(world.customer_a),
        {**NOTE, "pinned": True, "authorised_by_id": world.users["staff_manager"].pk},
        headers={"Idempotency-Key": "note-1"},
    )
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == body
    mismatch = support_api.post(url(world.customer_a), NOTE, headers={"Idempotency-Key": "note-1"})
    assert mismatch.status_code == 422
    assert Note.objects.count() == 1
    activity = Activity.objects.get(verb="note.added")
    assert activity.source == "api" and activity.staff_only
    assert support_api.token is not None and support_api.token[:12] in activity.actor_label
    event = Event.objects.get(type="note.added")
    assert event.actor["source"] == "api" and event.actor["api_key"] == support_api.token[:12]


def test_bad_notes_change_nothing(world: Any, support_api: Any) -> None:
    other = add(world, world.customer_b)
    cases: list[dict[str, Any]] = [
        {**NOTE, "kind": "gossip"},
        {**NOTE, "reason": ""},
        {**NOTE, "body": "   "},
        {**NOTE, "body": "x" * 10001},
        {**NOTE, "author_id": world.users["staff_manager"].pk},  # forged
        {**NOTE, "authorised_by_id": world.users["a_owner"].pk},  # not staff
        {**NOTE, "authorised_by_id": 10**30},
        {**NOTE, "corrects": other.pk},  # another customer's note
        {**NOTE, "corrects": -1},
        {"kind": "general"},
    ]
    for payload in cases:
        response = support_api.post(url(world.customer_a), payload)
        assert response.status_code == 400, (payload, response.content)
    assert not Note.objects.filter(customer=world.customer_a).exists()


def test_a_correction_points_at_the_note_it_corrects(world: Any, support_api: Any) -> None:
    first = add(world)
    response = support_api.post(url(world.customer_a), {**NOTE, "corrects": first.pk})
    assert response.status_code == 201
    assert response.json()["corrects"] == first.pk


def test_pinned_first_then_newest_in_keyset_pages(world: Any, support_api: Any) -> None:
    old = add(world, body="old")
    pinned_old = add(world, body="pinned old", pinned=True)
    middle = add(world, body="middle")
    pinned_new = add(world, body="pinned new", pinned=True)
    new = add(world, body="new")
    add(world, world.customer_b, body="B's")
    seen: list[int] = []
    cursor = ""
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = support_api.get(url(world.customer_a), **params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [pinned_new.pk, pinned_old.pk, new.pk, middle.pk, old.pk]
    one = support_api.get(url(world.customer_a, middle.pk))
    assert one.status_code == 200 and one.json()["body"] == "middle"
    assert one["ETag"] == f'"{middle.pk}"'
    for bad in ("x", "2.5", "1.x", "1." + "9" * 30, "0.0"):
        assert support_api.get(url(world.customer_a), cursor=bad).status_code == 400, bad


def test_the_list_costs_the_same_for_more_notes(world: Any, support_api: Any) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert support_api.get(url(world.customer_a)).status_code == 200
        return len(queries)

    add(world)
    count()  # the key's first use records when it was used
    few = count()
    for n in range(6):
        add(world, body=f"note {n}", pinned=n % 2 == 0)
    assert count() == few


def test_customer_keys_never_learn_that_notes_exist(world: Any, a_owner_api: Any) -> None:
    note = add(world)
    admin_api = ApiClient(customer_token(world.users["a_admin"], world.customer_a))
    for api in (a_owner_api, admin_api):
        for response in (
            api.get(url(world.customer_a)),
            api.get(url(world.customer_a, note.pk)),
            api.post(url(world.customer_a), NOTE),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
    assert Note.objects.count() == 1


def test_other_customers_and_other_ids_are_not_found(world: Any) -> None:
    note_b = add(world, world.customer_b)
    only_a = ApiClient(staff_token(world.users["staff_support"], customers=[world.customer_a]))
    assert only_a.get(url(world.customer_b)).status_code == 404
    assert only_a.get(url(world.customer_b, note_b.pk)).status_code == 404
    assert only_a.post(url(world.customer_b), NOTE).status_code == 404
    assert only_a.get(url(world.customer_a, note_b.pk)).status_code == 404  # B's note via A
    for note_id in ("999999", str(10**30), "-1"):
        assert only_a.get(f"{url(world.customer_a)}/{note_id}").status_code == 404, note_id
    assert only_a.get(f"{url(world.customer_a)}/abc").status_code == 400
    b_key = ApiClient(customer_token(world.users["b_owner"], world.customer_b))
    assert b_key.get(url(world.customer_a)).status_code == 404
    assert b_key.post(url(world.customer_a), NOTE).status_code == 404
    assert Note.objects.count() == 1


def test_scopes(world: Any) -> None:
    reader = ApiClient(staff_token(world.users["staff_support"], scopes=["notes:read"]))
    assert reader.get(url(world.customer_a)).status_code == 200
    refused = reader.post(url(world.customer_a), NOTE)
    assert refused.status_code == 403 and "notes:write" in refused.json()["detail"]
    nothing = ApiClient(staff_token(world.users["staff_support"], scopes=["customers:read"]))
    assert nothing.get(url(world.customer_a)).status_code == 403
    assert ApiClient(None).get(url(world.customer_a)).status_code == 401
    assert not Note.objects.exists()
