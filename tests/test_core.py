"""Core primitives: the append-only activity trail, the outbox, errors, the actor."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.db import transaction

from clientdesk.audit.models import Activity, AppendOnlyError
from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event
from clientdesk.events.publish import OutsideTransactionError, publish

from .factories import make_customer, make_user

pytestmark = pytest.mark.django_db


def test_activity_rows_cannot_be_changed_or_deleted() -> None:
    customer = make_customer("Acme")
    row = record("customer.updated", actor=Actor.system(), customer=customer, target=customer)
    row.reason = "rewritten history"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        Activity.objects.filter(pk=row.pk).update(reason="x")
    with pytest.raises(AppendOnlyError):
        Activity.objects.filter(pk=row.pk).delete()
    assert Activity.objects.get(pk=row.pk).reason == ""


def test_record_keeps_who_acted_for_whom_and_from_where() -> None:
    staff, user = make_user("sam@staff.example", full_name="Sam Tan"), make_user(full_name="Aisha")
    actor = Actor(
        user=user, source=Source.PORTAL, impersonator=staff, ip="203.0.113.9", request_id="r1"
    )
    customer = make_customer("Acme")
    row = record(
        "customer.updated",
        actor=actor,
        customer=customer,
        target=customer,
        changes={"billing_email": ["a@x.example", "b@x.example"]},
        reason="moved",
    )
    assert row.actor == user and row.impersonator == staff
    assert row.actor_label == "Sam Tan as Aisha"
    assert (row.source, row.ip, row.request_id) == ("portal", "203.0.113.9", "r1")
    assert row.changes == {"billing_email": ["a@x.example", "b@x.example"]}
    assert row.target_repr == str(customer)


def test_creating_a_customer_writes_activity_and_an_outbox_event() -> None:
    customer = make_customer("Acme Sdn Bhd")
    assert Activity.objects.filter(customer=customer, verb="customer.created").count() == 1
    event = Event.objects.get(customer=customer, type="customer.created")
    assert event.data["number"] == customer.client_id
    assert event.actor["source"] == "system"


def test_events_are_published_only_inside_a_transaction() -> None:
    # pytest-django wraps the test in a transaction; leave it to prove the guard.
    with pytest.raises(OutsideTransactionError):
        _publish_in_autocommit()


def _publish_in_autocommit() -> None:
    connection = transaction.get_connection()
    in_block, connection.in_atomic_block = connection.in_atomic_block, False
    try:
        publish("customer.updated", actor=Actor.system(), data={})
    finally:
        connection.in_atomic_block = in_block


def test_an_event_rolls_back_with_its_change() -> None:
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        publish("customer.updated", actor=Actor.system(), data={"x": 1})
        raise RuntimeError("the change failed")
    assert Event.objects.count() == before


def test_customer_numbers_are_never_reused() -> None:
    """Numbers come from a counter, not MAX(number)+1: a number handed out once is never
    handed out again, even when no row carries it any more."""
    from clientdesk.core.models import Counter

    first = make_customer("One")
    Customer.objects.filter(pk=first.pk).update(number=1)  # the highest number is gone
    second = make_customer("Two")
    assert second.number == first.number + 1
    assert second.client_id == f"C-{first.number + 1}"
    assert Counter.objects.get(name="customer_number").value == second.number


def test_domain_error_becomes_problem_details_and_form_errors() -> None:
    error = DomainError(ErrorCode.STALE_VERSION, "Someone else saved first.", field="name")
    assert error.http_status == 409
    assert error.as_problem()["code"] == "stale_version"
    assert error.as_problem()["field"] == "name"

    class NameForm(forms.Form):
        name = forms.CharField()

    form = NameForm(data={"name": "x"})
    form.is_valid()
    error.add_to_form(form)
    assert form.errors == {"name": ["Someone else saved first."]}
    DomainError(ErrorCode.INVALID, "Top level.").add_to_form(form)
    assert form.non_field_errors() == ["Top level."]


def test_actor_label_wording() -> None:
    user = make_user(full_name="Aisha Rahman")
    assert Actor.system().label == "System"
    assert Actor(user=None, source=Source.PORTAL).label == "A visitor (not signed in)"
    assert Actor(user=user, source=Source.PORTAL).label == "Aisha Rahman"
    assert Actor(user=user, source=Source.STAFF).label == "Aisha Rahman (staff)"


def test_actor_ip_follows_the_trusted_proxy_count(rf: Any, settings: Any) -> None:
    """Behind one trusted proxy the client is the last X-Forwarded-For entry, not the proxy;
    with no trusted proxy a forged header is ignored."""
    from clientdesk.core.actor import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.50")
    request.META["REMOTE_ADDR"] = "10.0.0.2"
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.50"
