"""Staff notes (seed 003 step 9): structured, append-only, staff-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity, AppendOnlyError
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Note
from clientdesk.customers.notes import add_note, notes_for
from clientdesk.events.models import Event

pytestmark = pytest.mark.django_db


def staff_actor(world: Any, persona: str = "staff_support") -> Actor:
    return Actor(user=world.users[persona], source=Source.STAFF)


def note(world: Any, **overrides: Any) -> Note:
    values: dict[str, Any] = {
        "kind": Note.Kind.IDENTITY,
        "body": "Verified by callback to the registered phone.",
        "reason": "Client asked to change the login email",
        "actor": staff_actor(world),
    }
    values.update(overrides)
    return add_note(world.customer_a, **values)


def test_a_note_records_author_authority_time_and_reason(world: Any) -> None:
    manager = world.users["staff_manager"]
    created = note(world, authorised_by=manager)
    assert created.author == world.users["staff_support"]
    assert created.authorised_by == manager
    assert created.created_at is not None
    activity = Activity.objects.get(verb="note.added")
    assert activity.staff_only and activity.reason == "Client asked to change the login email"
    assert Event.objects.get(type="note.added").data["internal"] is True


def test_authorised_by_defaults_to_the_author(world: Any) -> None:
    assert note(world).authorised_by == world.users["staff_support"]


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("reason", {"reason": "   "}),
        ("body", {"body": ""}),
        ("kind", {"kind": "gossip"}),
        ("body", {"body": "x" * 5001}),
        ("reason", {"reason": "bidi \u202e trick"}),
    ],
)
def test_bad_notes_are_refused_with_the_field_named(
    world: Any, field: str, overrides: dict[str, Any]
) -> None:
    with pytest.raises(DomainError) as caught:
        note(world, **overrides)
    assert field in caught.value.errors
    assert Note.objects.count() == 0


def test_only_staff_write_notes_and_only_staff_authorise_them(world: Any) -> None:
    portal = Actor(user=world.users["a_owner"], source=Source.PORTAL)
    with pytest.raises(DomainError) as caught:
        note(world, actor=portal)
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    with pytest.raises(DomainError) as caught:
        note(world, authorised_by=world.users["a_owner"])
    assert "authorised_by" in caught.value.errors


def test_notes_are_append_only_even_through_the_orm(world: Any) -> None:
    created = note(world)
    with pytest.raises(AppendOnlyError):
        created.save()
    with pytest.raises(AppendOnlyError):
        created.delete()
    with pytest.raises(AppendOnlyError):
        Note.objects.filter(pk=created.pk).update(body="rewritten")
    with pytest.raises(AppendOnlyError):
        Note.objects.all().delete()


def test_the_database_refuses_a_note_without_reason(world: Any) -> None:
    with pytest.raises(IntegrityError):
        Note.objects.create(
            customer=world.customer_a,
            body="x",
            reason="",
            author=world.users["staff_support"],
            authorised_by=world.users["staff_support"],
        )


def test_a_correction_points_at_the_old_note_of_the_same_customer(world: Any) -> None:
    old = note(world)
    fixed = note(world, body="Verified by video call.", corrects=old)
    assert fixed.corrects == old
    other = add_note(
        world.customer_b, kind="general", body="b", reason="r", actor=staff_actor(world)
    )
    with pytest.raises(DomainError) as caught:
        note(world, corrects=other)
    assert "corrects" in caught.value.errors


def test_pinned_notes_come_first(world: Any) -> None:
    first = note(world, pinned=True)
    second = note(world)
    assert [n.pk for n in notes_for(world.customer_a)] == [first.pk, second.pk]


def test_the_staff_page_lists_and_adds_notes(world: Any) -> None:
    client = Client()
    client.force_login(world.users["staff_billing"])
    url = reverse("staff:notes", args=[world.customer_a.number])
    response = client.post(
        url, {"kind": "billing", "body": "Refund of RM 10 agreed.", "reason": "Goodwill"}
    )
    assert response.status_code == 302
    page = client.get(url)
    assert "Refund of RM 10 agreed." in page.content.decode()
    missing = client.post(url, {"kind": "billing", "body": "No reason given", "reason": ""})
    assert missing.status_code == 400
    assert Note.objects.count() == 1


def test_customers_never_see_notes(world: Any) -> None:
    note(world, body="Internal: client was rude on the phone")
    for persona in ("a_owner", "a_admin"):
        client = Client()
        client.force_login(world.users[persona])
        for name in ("portal:activity", "portal:customer-home", "portal:account"):
            html = client.get(reverse(name, args=[world.customer_a.number])).content.decode()
            assert "client was rude" not in html
            assert "staff note" not in html
        staff_page = client.get(reverse("staff:notes", args=[world.customer_a.number]))
        assert staff_page.status_code == 404
