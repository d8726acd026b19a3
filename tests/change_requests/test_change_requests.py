"""Change requests (issue 7, part A): the lifecycle, the rules, the emails and the events."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from clientdesk.audit.models import Activity
from clientdesk.change_requests import actions
from clientdesk.change_requests.models import ChangeRequest, Status, parse_reference
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer
from clientdesk.customers.sections import section_etag
from clientdesk.events.models import Event
from tests import factories

pytestmark = pytest.mark.django_db(transaction=False)

NEW_LEGAL = {
    "legal_name": "Alpha Trading Berhad",
    "legal_line1": "Level 5, Menara Alpha",
    "legal_city": "Kuala Lumpur",
    "legal_postcode": "50250",
    "legal_state": "Wilayah Persekutuan Kuala Lumpur",
}


NEW_BILLING = {
    "billing_follows_legal": False,
    "billing_name": "Alpha Billing",
    "billing_line1": "PO Box 1234",
    "billing_city": "Shah Alam",
    "billing_postcode": "40000",
    "billing_state": "Selangor",
    "billing_country": "MY",
}


def portal(world: Any, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def staff(world: Any, persona: str = "staff_manager") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def give_legal_address(world: Any) -> None:
    """Customer A gets a complete registered address (set by staff), so that a request may
    touch part of it."""
    update_profile_section(
        world.customer_a,
        section="legal",
        values={k: v for k, v in NEW_LEGAL.items() if k != "legal_name"},
        actor=staff(world, "superuser"),
        reason="Onboarding",
    )


def submit(world: Any, values: dict[str, Any] | None = None, **kwargs: Any) -> ChangeRequest:
    result = actions.save_section(
        world.customer_a,
        section="legal",
        values=values or NEW_LEGAL,
        actor=kwargs.pop("actor", None) or portal(world),
        **kwargs,
    )
    assert result.request is not None
    return result.request


def sent_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


def test_saving_approval_fields_raises_a_request_and_changes_nothing(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = fresh(world.customer_a)
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(world, note="We moved offices.")
    after = fresh(world.customer_a)
    assert after.legal_name == before.legal_name and after.legal_line1 == ""
    assert request.reference == f"CR-{request.number:06d}"
    assert request.status == Status.OPEN
    assert request.requested["legal_name"] == "Alpha Trading Berhad"
    assert request.requested["legal_state"] == "MY-14"  # validated and normalised like a save
    assert request.snapshot["legal_name"] == before.legal_name
    assert "country" not in request.requested  # unchanged fields are not asked for
    activity = Activity.objects.get(verb="change_request.submitted")
    assert activity.changes["legal_name"] == [before.legal_name, "Alpha Trading Berhad"]
    assert activity.reason == "We moved offices."
    assert Event.objects.filter(type="change_request.submitted").count() == 1
    assert not Event.objects.filter(type="customer.updated").exists()
    # Emails: the requester (received) and the managers (new request).
    received = sent_to("a.owner@example.org")
    assert len(received) == 1 and request.reference in received[0].subject
    assert "Alpha Trading Berhad" in received[0].body
    staff_mail = sent_to("manager@staff.example")
    assert len(staff_mail) == 1 and "New change request" in staff_mail[0].subject
    assert f"/staff/requests/{request.number}/" in staff_mail[0].body


def test_direct_and_approval_fields_in_one_save(world: Any) -> None:
    result = actions.save_section(
        world.customer_a,
        section="business",
        values={"trading_name": "Alpha", "registration_number": "202001012345"},
        actor=portal(world),
    )
    customer = fresh(world.customer_a)
    assert customer.trading_name == "Alpha"  # direct: applied at once
    assert customer.registration_number == ""  # approval: asked for
    assert result.update.changed and result.request is not None
    assert result.request.requested == {"registration_number": "202001012345"}


def test_invalid_values_are_refused_like_a_direct_save(world: Any) -> None:
    with pytest.raises(DomainError) as caught:
        actions.save_section(
            world.customer_a,
            section="legal",
            values={**NEW_LEGAL, "legal_postcode": "ABC"},
            actor=portal(world),
        )
    assert caught.value.code == ErrorCode.INVALID
    assert "legal_postcode" in caught.value.errors
    assert not ChangeRequest.objects.exists()


def test_forged_and_foreign_fields_are_refused(world: Any) -> None:
    with pytest.raises(DomainError) as caught:
        actions.save_section(
            world.customer_a,
            section="legal",
            values={**NEW_LEGAL, "credit_limit": "99999"},
            actor=portal(world),
        )
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert not ChangeRequest.objects.exists()
    with pytest.raises(DomainError) as caught:  # a member may not ask
        actions.save_section(
            world.customer_a, section="legal", values=NEW_LEGAL, actor=portal(world, "a_member")
        )
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    with pytest.raises(DomainError) as caught:  # another customer's user: not found
        actions.save_section(
            world.customer_a, section="legal", values=NEW_LEGAL, actor=portal(world, "b_owner")
        )
    assert caught.value.code == ErrorCode.NOT_FOUND


def test_nothing_to_request_when_values_are_unchanged(world: Any) -> None:
    with pytest.raises(DomainError) as caught:
        actions.submit_change_request(
            world.customer_a,
            kind="legal",
            values={"legal_name": world.customer_a.legal_name},
            actor=portal(world),
        )
    assert caught.value.code == ErrorCode.INVALID


def test_one_open_request_per_section(world: Any) -> None:
    first = submit(world)
    with pytest.raises(DomainError) as caught:
        submit(world, {**NEW_LEGAL, "legal_city": "Shah Alam"})
    assert caught.value.code == ErrorCode.CONFLICT
    assert first.reference in caught.value.message
    # Another section is another request.
    other = actions.save_section(
        world.customer_a,
        section="billing",
        values=NEW_BILLING,
        actor=portal(world),
    )
    assert other.request is not None
    # The database refuses a second open one even if the check were skipped.
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.create(
            number=999,
            customer=world.customer_a,
            kind="legal",
            submitted_by_label="x",
            submitted_source="portal",
        )


def test_cancel_then_raise_a_new_one(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    first = submit(world)
    with django_capture_on_commit_callbacks(execute=True):
        actions.cancel_change_request(first, actor=portal(world))
    first.refresh_from_db()
    assert first.status == Status.CANCELLED
    assert any("cancelled by the customer" in m.subject for m in sent_to("manager@staff.example"))
    second = submit(world, {**NEW_LEGAL, "legal_city": "Petaling Jaya"})
    assert second.number == first.number + 1
    assert Activity.objects.filter(verb="change_request.cancelled").count() == 1


def test_someone_elses_request_is_not_found(world: Any) -> None:
    request = submit(world)
    for persona in ("b_owner", "a_member"):
        with pytest.raises(DomainError) as caught:
            actions.cancel_change_request(request, actor=portal(world, persona))
        assert caught.value.code == ErrorCode.NOT_FOUND
    request.refresh_from_db()
    assert request.status == Status.OPEN


def test_thread_question_and_reply(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    request = submit(world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.comment_on_change_request(
            request,
            body="Please attach the <b>SSM form 9</b>.",
            actor=staff(world, "staff_support"),
        )
    request.refresh_from_db()
    assert request.status == Status.AWAITING_CUSTOMER
    question = sent_to("a.owner@example.org")
    assert len(question) == 1 and "question" in question[0].subject
    assert "<b>SSM form 9</b>" in question[0].body  # plain text, as written
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.comment_on_change_request(request, body="Sent by post.", actor=portal(world))
    request.refresh_from_db()
    assert request.status == Status.OPEN
    # The reply goes to the staff member who asked.
    assert [m.to for m in mail.outbox] == [["support@staff.example"]]
    verbs = list(
        Activity.objects.filter(verb="change_request.commented")
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert [v["message"][1] for v in verbs] == [
        "Please attach the <b>SSM form 9</b>.",
        "Sent by post.",
    ]
    assert Event.objects.filter(type="change_request.commented").count() == 2


def test_comments_need_text_and_an_open_request(world: Any) -> None:
    request = submit(world)
    with pytest.raises(DomainError):
        actions.comment_on_change_request(request, body="   ", actor=portal(world))
    actions.cancel_change_request(request, actor=portal(world))
    with pytest.raises(DomainError) as caught:
        actions.comment_on_change_request(request, body="hello", actor=portal(world))
    assert caught.value.code == ErrorCode.CONFLICT


def test_approve_applies_through_the_profile_action(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.approve_change_request(request, actor=staff(world))
    customer = fresh(world.customer_a)
    assert customer.legal_name == "Alpha Trading Berhad"
    assert customer.legal_state == "MY-14"
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    assert request.decided_by == world.users["staff_manager"]
    assert set(request.approved_fields) == set(request.requested)
    # Activity: the decision and the change; outbox: both events.
    verbs = list(Activity.objects.order_by("id").values_list("verb", flat=True))
    assert verbs[-2:] == ["customer.updated", "change_request.approved"]
    assert Event.objects.filter(type="change_request.approved").count() == 1
    assert Event.objects.filter(type="customer.updated").count() == 1
    update = Activity.objects.get(verb="customer.updated")
    assert update.reason == f"{request.reference} approved"
    confirmation = sent_to("a.owner@example.org")
    assert len(confirmation) == 1 and "approved" in confirmation[0].subject


def test_double_approval_is_one_change_and_one_event(world: Any) -> None:
    request = submit(world)
    actions.approve_change_request(request, actor=staff(world))
    again = actions.approve_change_request(request, actor=staff(world))
    assert again.status == Status.APPROVED
    assert Event.objects.filter(type="customer.updated").count() == 1
    assert Event.objects.filter(type="change_request.approved").count() == 1


def test_partial_approval_needs_a_reason_for_the_rest(world: Any) -> None:
    give_legal_address(world)
    request = submit(world, {"legal_name": "Alpha Trading Berhad", "legal_line1": "Lot 9"})
    with pytest.raises(DomainError) as caught:
        actions.approve_change_request(request, actor=staff(world), fields=["legal_name"])
    assert caught.value.field == "reason"
    actions.approve_change_request(
        request, actor=staff(world), fields=["legal_name"], reason="Address not proven yet."
    )
    customer = fresh(world.customer_a)
    assert customer.legal_name == "Alpha Trading Berhad"
    assert customer.legal_line1 == "Level 5, Menara Alpha"
    request.refresh_from_db()
    assert request.status == Status.PARTLY_APPROVED
    assert request.approved_fields == ["legal_name"]
    assert request.rejected_fields == ["legal_line1"]
    with pytest.raises(DomainError):
        actions.approve_change_request(
            submit(world, {"legal_city": "Ipoh"}), actor=staff(world), fields=["credit_limit"]
        )


def test_reject_needs_a_reason_and_tells_the_customer(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit(world)
    with pytest.raises(DomainError):
        actions.reject_change_request(request, reason=" ", actor=staff(world))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject_change_request(request, reason="SSM record differs.", actor=staff(world))
    request.refresh_from_db()
    assert request.status == Status.REJECTED
    assert fresh(world.customer_a).legal_line1 == ""
    body = sent_to("a.owner@example.org")[0].body
    assert "SSM record differs." in body and "Nothing was changed" in body
    with pytest.raises(DomainError) as caught:  # decided: no approval any more
        actions.approve_change_request(request, actor=staff(world))
    assert caught.value.code == ErrorCode.CONFLICT


def test_cancelled_request_cannot_be_approved(world: Any) -> None:
    request = submit(world)
    actions.cancel_change_request(request, actor=portal(world))
    with pytest.raises(DomainError) as caught:
        actions.approve_change_request(request, actor=staff(world))
    assert caught.value.code == ErrorCode.CONFLICT
    assert fresh(world.customer_a).legal_line1 == ""


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
def test_only_managers_decide(world: Any, persona: str) -> None:
    request = submit(world)
    for decide in (
        lambda: actions.approve_change_request(request, actor=staff(world, persona)),
        lambda: actions.reject_change_request(request, reason="no", actor=staff(world, persona)),
    ):
        with pytest.raises(DomainError) as caught:
            decide()
        assert caught.value.code == ErrorCode.NOT_ALLOWED
    with pytest.raises(DomainError):
        actions.approve_change_request(request, actor=portal(world))


def test_staff_raised_request_needs_another_approver(world: Any) -> None:
    give_legal_address(world)
    manager = staff(world)
    request = actions.submit_change_request(
        world.customer_a, kind="legal", values={"legal_city": "Ipoh"}, actor=manager
    )
    assert request.submitted_source == "staff"
    with pytest.raises(DomainError) as caught:
        actions.approve_change_request(request, actor=manager)
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    actions.approve_change_request(request, actor=staff(world, "superuser"))
    assert fresh(world.customer_a).legal_city == "Ipoh"


def test_support_may_raise_on_the_customers_behalf(world: Any) -> None:
    request = actions.submit_change_request(
        world.customer_a,
        kind="business",
        values={"registration_number": "202001012345"},
        actor=staff(world, "staff_support"),
    )
    assert request.requested == {"registration_number": "202001012345"}
    with pytest.raises(DomainError):  # a direct field is not a request
        actions.submit_change_request(
            world.customer_a,
            kind="business",
            values={"trading_name": "X"},
            actor=staff(world, "staff_support"),
        )


def test_conflict_when_the_section_moved_since_submission(world: Any) -> None:
    give_legal_address(world)
    request = submit(world, {"legal_name": "Alpha Trading Berhad"})
    update_profile_section(
        world.customer_a,
        section="legal",
        values={"legal_city": "Johor Bahru"},
        actor=staff(world, "superuser"),
        reason="Phone call",
    )
    with pytest.raises(DomainError) as caught:
        actions.approve_change_request(request, actor=staff(world))
    assert caught.value.code == ErrorCode.STALE_VERSION
    assert "Registered city" in caught.value.message
    customer = fresh(world.customer_a)
    actions.approve_change_request(
        request, actor=staff(world), reviewed_etag=section_etag(customer, "legal")
    )
    customer = fresh(world.customer_a)
    assert customer.legal_name == "Alpha Trading Berhad"
    assert customer.legal_city == "Johor Bahru"  # the other change is kept


def test_notification_topics_choose_the_customer_recipients(world: Any) -> None:
    billing_follower = factories.make_contact(
        world.customer_a, "member", portal=False, notification_topics=["billing"]
    )
    request = actions.save_section(
        world.customer_a,
        section="billing",
        values=NEW_BILLING,
        actor=portal(world, "a_billing"),
    ).request
    assert request is not None
    from clientdesk.change_requests.notify import customer_recipients

    recipients = customer_recipients(request)
    assert "a.billing@example.org" in recipients  # the requester
    assert billing_follower.email in recipients  # follows billing
    legal = submit(world)
    assert billing_follower.email not in customer_recipients(legal)


def test_references_parse() -> None:
    assert parse_reference("CR-000123") == 123
    assert parse_reference("cr-7") == 7
    assert parse_reference("123") == 123
    assert parse_reference("CR-") is None
    assert parse_reference("CR-1e3") is None


def test_primary_email_requests_are_rate_limited(world: Any) -> None:
    for n in range(actions.PRIMARY_EMAIL_TRIES_PER_HOUR):
        with pytest.raises(DomainError) as caught:  # taken: another user's address
            actions.submit_change_request(
                world.customer_a,
                kind="primary_email",
                values={"primary_email": "b.owner@example.org"},
                actor=portal(world),
            )
        assert caught.value.code == ErrorCode.INVALID, n
    with pytest.raises(DomainError) as caught:
        actions.submit_change_request(
            world.customer_a,
            kind="primary_email",
            values={"primary_email": "gina.new@example.org"},
            actor=portal(world),
        )
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert not ChangeRequest.objects.exists()


def test_the_trail_says_a_request_asked_and_did_not_change(world: Any) -> None:
    from clientdesk.customers.trail import customer_trail

    submit(world)
    [entry] = [
        e
        for e in customer_trail(world.customer_a, for_customer=True).entries
        if e.verb == "change_request.submitted"
    ]
    sentences = [line.sentence for line in entry.lines]
    assert "asked to change Legal name from Alpha Trading Sdn Bhd to Alpha Trading Berhad" in (
        sentences
    )
    assert not any(s.startswith("changed") for s in sentences)
