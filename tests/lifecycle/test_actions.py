"""The account lifecycle's actions (issue 8, Part B): suspend / unsuspend, the close checklist
and close, reopen within the retention period, anonymisation after it, and the ownership
transfer with its one-owner invariant. The pages are in test_pages.py; the close racing a
payment on PostgreSQL in test_close_race.py.

The helpers at the top are shared by the other lifecycle test modules."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.change_requests import actions as request_actions
from clientdesk.change_requests.models import ChangeRequest
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import access, contact_actions, invitations, notes
from clientdesk.customers.models import Contact, Customer, Invitation, Note
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from clientdesk.ledger import actions as ledger
from clientdesk.ledger.models import Entry
from clientdesk.lifecycle import actions as lifecycle
from clientdesk.lifecycle import retention
from clientdesk.users.models import User
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
_keys = itertools.count(1)


# --- helpers (used by the other lifecycle test modules too) -----------------------------------


def staff(world: World, persona: str = "staff_manager") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def portal(world: World, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def post(world: World, customer: Customer, kind: str, amount: str) -> ledger.Posting:
    """A ledger posting by billing staff (top-up, charge, withdrawal, debt payment)."""
    return ledger.post_entry(
        customer,
        kind=kind,
        amount=amount,
        description=f"Test {kind}",
        idempotency_key=f"lifecycle-test-{next(_keys)}",
        actor=staff(world, "staff_billing"),
    )


def make_postpaid(world: World, customer: Customer, limit: str = "100") -> None:
    ledger.change_billing_mode(
        customer,
        billing_mode=Customer.BillingMode.POSTPAID,
        credit_limit=limit,
        reason="Invoiced monthly",
        actor=staff(world),
    )


def open_change_request(world: World, customer: Customer, persona: str = "a_owner") -> Any:
    result = request_actions.save_section(
        customer,
        section="business",
        values={"registration_number": "202001012345"},
        actor=portal(world, persona),
    )
    assert result.request is not None
    return result.request


def owners(customer: Customer) -> list[Contact]:
    return list(Contact.objects.filter(customer=customer, role=Role.OWNER))


def owner_contact(world: World, persona: str, customer: Customer | None = None) -> Contact:
    return Contact.objects.get(customer=customer or world.customer_a, user=world.users[persona])


def primary_email(customer: Customer) -> str:
    from clientdesk.customers.queries import profile_customer

    return str(profile_customer(customer.pk).owner_email)  # type: ignore[attr-defined]


def events(verb: str, customer: Customer | None = None) -> list[Event]:
    rows = Event.objects.filter(type=verb)
    if customer is not None:
        rows = rows.filter(customer=customer)
    return list(rows)


def activities(verb: str, customer: Customer) -> list[Activity]:
    return list(Activity.objects.filter(verb=verb, customer=customer))


def sent_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


def cancel_pending_invitations(customer: Customer) -> None:
    for invitation in Invitation.objects.filter(
        customer=customer, status=Invitation.Status.PENDING
    ):
        invitations.cancel_invitation(invitation, actor=SYSTEM)


# --- suspend / unsuspend -------------------------------------------------------------------------


def test_suspend_records_publishes_and_tells_the_owner(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.customer_a
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.suspend_customer(customer, reason="Unpaid invoice INV-7", actor=staff(world))
    assert fresh(customer).status == Customer.Status.SUSPENDED
    [activity] = activities("customer.suspended", customer)
    assert activity.changes == {"status": ["active", "suspended"]}
    assert activity.reason == "Unpaid invoice INV-7"
    assert activity.actor_id == world.users["staff_manager"].pk
    [event] = events("customer.suspended", customer)
    assert event.data["status"] == "suspended" and event.data["previous_status"] == "active"
    assert event.data["reason"] == "Unpaid invoice INV-7"
    [email] = sent_to("a.owner@example.org")
    assert "suspended" in email.subject.lower()
    assert "Unpaid invoice INV-7" in email.body
    assert settings.CLIENTDESK_SUPPORT_EMAIL in email.body
    # Already suspended: nothing new.
    lifecycle.suspend_customer(customer, reason="Again", actor=staff(world))
    assert len(events("customer.suspended", customer)) == 1


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
def test_only_managers_suspend(world: World, persona: str) -> None:
    with pytest.raises(DomainError) as refused:
        lifecycle.suspend_customer(world.customer_a, reason="x", actor=staff(world, persona))
    assert refused.value.code == ErrorCode.NOT_ALLOWED
    with pytest.raises(DomainError):
        lifecycle.suspend_customer(world.customer_a, reason="x", actor=portal(world))
    assert fresh(world.customer_a).status == Customer.Status.ACTIVE
    assert not Event.objects.filter(type="customer.suspended").exists()


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "bad\x00byte"])
def test_suspend_needs_a_sane_reason(world: World, reason: str) -> None:
    with pytest.raises(DomainError) as refused:
        lifecycle.suspend_customer(world.customer_a, reason=reason, actor=staff(world))
    assert refused.value.field == "reason"
    assert fresh(world.customer_a).status == Customer.Status.ACTIVE


def test_a_superuser_may_suspend(world: World) -> None:
    lifecycle.suspend_customer(
        world.customer_a, reason="Fraud check", actor=staff(world, "superuser")
    )
    assert fresh(world.customer_a).status == Customer.Status.SUSPENDED


def test_contact_changes_are_refused_while_suspended(world: World) -> None:
    customer = world.customer_a
    member = owner_contact(world, "a_member")
    lifecycle.suspend_customer(customer, reason="Unpaid", actor=staff(world))
    with pytest.raises(DomainError) as refused:
        contact_actions.create_contact(
            customer,
            values={"first_name": "New", "last_name": "Person", "email": "new@example.org"},
            actor=portal(world),
        )
    assert refused.value.code == ErrorCode.NOT_ALLOWED
    assert "suspended" in refused.value.message
    with pytest.raises(DomainError):
        contact_actions.update_contact(
            member, values={"job_title": "Boss"}, actor=portal(world, "a_member")
        )
    assert Contact.objects.get(pk=member.pk).job_title != "Boss"
    # Customer B's people are not affected.
    contact_actions.create_contact(
        world.customer_b,
        values={"first_name": "Bee", "last_name": "New", "email": "bee.new@example.org"},
        actor=portal(world, "b_owner"),
    )


def test_invitations_cannot_be_accepted_while_suspended(world: World) -> None:
    customer = world.customer_a
    invited = factories.make_contact(customer, portal=False, portal_access=True)
    issued = invitations.send_invitation(invited, actor=SYSTEM)
    lifecycle.suspend_customer(customer, reason="Unpaid", actor=staff(world))
    with pytest.raises(DomainError) as refused:
        invitations.accept_invitation(
            issued.token, actor=SYSTEM, password=factories.PASSWORD, full_name="New Person"
        )
    assert "suspended" in refused.value.message
    assert Contact.objects.get(pk=invited.pk).user_id is None
    # Lifted: the same link works.
    lifecycle.unsuspend_customer(customer, reason="Paid", actor=staff(world))
    contact = invitations.accept_invitation(
        issued.token, actor=SYSTEM, password=factories.PASSWORD, full_name="New Person"
    )
    assert contact.user_id is not None


def test_unsuspend_restores_and_is_recorded(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.customer_a
    lifecycle.suspend_customer(customer, reason="Unpaid", actor=staff(world))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.unsuspend_customer(customer, reason="Paid in full", actor=staff(world))
    assert fresh(customer).status == Customer.Status.ACTIVE
    [activity] = activities("customer.unsuspended", customer)
    assert activity.changes == {"status": ["suspended", "active"]}
    assert events("customer.unsuspended", customer)[0].data["reason"] == "Paid in full"
    assert len(sent_to("a.owner@example.org")) == 1
    # Not suspended: nothing to lift, nothing recorded.
    lifecycle.unsuspend_customer(customer, reason="Again", actor=staff(world))
    assert len(activities("customer.unsuspended", customer)) == 1
    with pytest.raises(DomainError):
        lifecycle.unsuspend_customer(customer, reason="x", actor=staff(world, "staff_support"))


# --- the close checklist and close -------------------------------------------------------------


def ready_to_close(world: World, customer: Customer | None = None) -> Customer:
    """World's customer A has no pending invitation or request; this keeps it that way."""
    customer = customer or world.customer_a
    cancel_pending_invitations(customer)
    assert lifecycle.close_checklist(customer).ok
    return customer


def assert_not_closed(customer: Customer) -> None:
    after = fresh(customer)
    assert after.status != Customer.Status.CLOSED and after.closed_at is None
    assert not Activity.objects.filter(verb="customer.closed", customer=customer).exists()
    assert not Event.objects.filter(type="customer.closed", customer=customer).exists()


def test_the_checklist_is_green_on_a_fresh_account(world: World) -> None:
    checklist = lifecycle.close_checklist(ready_to_close(world))
    assert [item.key for item in checklist.items] == ["balance", "change_requests", "invitations"]
    assert checklist.ok and checklist.problems == []


@pytest.mark.parametrize("postpaid", [False, True], ids=["credit 0.01", "debt 0.01"])
def test_close_is_refused_with_a_cent_either_way(world: World, postpaid: bool) -> None:
    customer = ready_to_close(world)
    if postpaid:
        make_postpaid(world, customer)
        post(world, customer, "charge", "0.01")
    else:
        post(world, customer, "top_up", "0.01")
    checklist = lifecycle.close_checklist(customer)
    [balance] = [item for item in checklist.items if item.key == "balance"]
    assert not balance.ok
    assert ("debt" in balance.detail) is postpaid and "0.01" in balance.detail
    with pytest.raises(DomainError) as refused:
        lifecycle.close_customer(customer, reason="Client left", actor=staff(world))
    assert refused.value.code == ErrorCode.CONFLICT
    assert "0.01" in refused.value.message
    assert_not_closed(customer)
    # Settled: it closes.
    post(world, customer, "debt_payment" if postpaid else "withdrawal", "0.01")
    lifecycle.close_customer(customer, reason="Client left", actor=staff(world))
    assert fresh(customer).status == Customer.Status.CLOSED


def test_close_is_refused_with_an_open_change_request(world: World) -> None:
    customer = ready_to_close(world)
    request = open_change_request(world, customer)
    checklist = lifecycle.close_checklist(customer)
    assert [i.key for i in checklist.items if not i.ok] == ["change_requests"]
    with pytest.raises(DomainError) as refused:
        lifecycle.close_customer(customer, reason="Client left", actor=staff(world))
    assert "change request" in refused.value.message
    assert_not_closed(customer)
    request_actions.cancel_change_request(request, actor=portal(world))
    assert lifecycle.close_checklist(customer).ok


def test_close_is_refused_with_a_pending_invitation(world: World) -> None:
    customer = ready_to_close(world)
    factories.make_contact(customer, portal=False, portal_access=True)
    checklist = lifecycle.close_checklist(customer)
    assert [i.key for i in checklist.items if not i.ok] == ["invitations"]
    with pytest.raises(DomainError) as refused:
        lifecycle.close_customer(customer, reason="Client left", actor=staff(world))
    assert "invitation" in refused.value.message
    assert_not_closed(customer)


def test_close_at_zero_hides_the_account_everywhere(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    customer = ready_to_close(world)
    post(world, customer, "top_up", "25.00")
    post(world, customer, "withdrawal", "25.00")
    assert lifecycle.close_checklist(customer).ok
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.close_customer(customer, reason="Client's written request", actor=staff(world))
    closed = fresh(customer)
    assert closed.status == Customer.Status.CLOSED and closed.closed_at is not None
    ends = lifecycle.retention_ends(closed)
    assert ends == closed.closed_at + timedelta(days=settings.CLIENTDESK_CLOSED_RETENTION_DAYS)
    [event] = events("customer.closed", customer)
    assert event.data["retained_until"] == ends.isoformat()
    assert activities("customer.closed", customer)[0].reason == "Client's written request"
    assert len(sent_to("a.owner@example.org")) == 1
    # Gone from the portal for every one of its people; customer B is untouched.
    for role in Role:
        user = world.users[f"a_{role.value}"]
        assert not access.portal_memberships(user).filter(customer=customer).exists()
    assert access.portal_memberships(world.users["b_owner"]).count() == 1
    # A closed account takes no postings and no second close.
    with pytest.raises(DomainError):
        post(world, customer, "top_up", "1.00")
    lifecycle.close_customer(customer, reason="Again", actor=staff(world))
    assert len(events("customer.closed", customer)) == 1
    # It cannot be suspended any more, nor its ownership moved.
    with pytest.raises(DomainError):
        lifecycle.suspend_customer(customer, reason="x", actor=staff(world))


def test_a_suspended_account_may_close(world: World) -> None:
    customer = ready_to_close(world)
    lifecycle.suspend_customer(customer, reason="Unpaid", actor=staff(world))
    lifecycle.close_customer(customer, reason="Written off", actor=staff(world))
    assert fresh(customer).status == Customer.Status.CLOSED
    assert events("customer.closed", customer)[0].data["previous_status"] == "suspended"


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
def test_only_managers_close_from_the_console(world: World, persona: str) -> None:
    customer = ready_to_close(world)
    with pytest.raises(DomainError) as refused:
        lifecycle.close_customer(customer, reason="x", actor=staff(world, persona))
    assert refused.value.code == ErrorCode.NOT_ALLOWED
    with pytest.raises(DomainError) as refused:
        lifecycle.close_customer(customer, reason="", actor=staff(world))
    assert refused.value.field == "reason"
    assert_not_closed(customer)


@pytest.mark.parametrize("persona", ["a_admin", "a_billing", "a_member", "b_owner"])
def test_in_the_portal_only_the_owner_closes(world: World, persona: str) -> None:
    customer = ready_to_close(world)
    with pytest.raises(DomainError) as refused:
        lifecycle.close_customer(customer, reason="", actor=portal(world, persona))
    assert refused.value.code == ErrorCode.NOT_ALLOWED
    assert_not_closed(customer)


def test_the_owner_closes_without_a_reason_but_never_through_login_as(world: World) -> None:
    customer = ready_to_close(world)
    impersonated = Actor(
        world.users["a_owner"], Source.PORTAL, impersonator=world.users["staff_support"]
    )
    with pytest.raises(DomainError) as refused:
        lifecycle.close_customer(customer, reason="", actor=impersonated)
    assert "Support" in refused.value.message
    assert_not_closed(customer)
    lifecycle.close_customer(customer, reason="", actor=portal(world))
    assert fresh(customer).status == Customer.Status.CLOSED


# --- reopen and the retention period -----------------------------------------------------------


def test_reopen_within_the_retention_period_but_not_after(world: World) -> None:
    customer = ready_to_close(world)
    start = timezone.now()
    days = settings.CLIENTDESK_CLOSED_RETENTION_DAYS
    with time_machine.travel(start, tick=False):
        lifecycle.close_customer(customer, reason="Left", actor=staff(world))
    with time_machine.travel(start + timedelta(days=days - 1), tick=False):
        with pytest.raises(DomainError):
            lifecycle.reopen_customer(customer, reason="Back", actor=staff(world, "staff_support"))
        lifecycle.reopen_customer(customer, reason="Came back", actor=staff(world))
    reopened = fresh(customer)
    assert reopened.status == Customer.Status.ACTIVE and reopened.closed_at is None
    assert events("customer.reopened", customer)[0].data["reason"] == "Came back"
    assert access.portal_memberships(world.users["a_owner"]).filter(customer=customer).exists()
    # Closed again, and this time the retention period runs out.
    with time_machine.travel(start + timedelta(days=days), tick=False):
        lifecycle.close_customer(customer, reason="Left again", actor=staff(world))
    too_late = start + timedelta(days=2 * days, seconds=1)
    with time_machine.travel(too_late, tick=False), pytest.raises(DomainError) as refused:
        lifecycle.reopen_customer(customer, reason="Too late", actor=staff(world))
    assert refused.value.code == ErrorCode.CONFLICT
    assert fresh(customer).status == Customer.Status.CLOSED
    assert len(events("customer.reopened", customer)) == 1


def test_anonymisation_after_retention_erases_people_and_keeps_the_ledger(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    customer = ready_to_close(world)
    post(world, customer, "top_up", "40.00")
    post(world, customer, "withdrawal", "40.00")
    note = notes.add_note(
        customer,
        kind=Note.Kind.GENERAL,
        body="Client Aisha called from +60 12-345 6789",
        reason="Phone call",
        actor=staff(world, "staff_support"),
    )
    open_change_request(world, customer)
    request = ChangeRequest.objects.get(customer=customer)
    request_actions.cancel_change_request(request, actor=portal(world))
    entry_ids = set(Entry.objects.filter(customer=customer).values_list("pk", flat=True))
    owner_user = world.users["a_owner"]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        lifecycle.close_customer(customer, reason="Left", actor=staff(world))
    # Within the retention period the scheduler finds nothing to do.
    with time_machine.travel(start + timedelta(days=1), tick=False):
        assert retention.due() == []
        with django_capture_on_commit_callbacks(execute=True):
            call_command("run_scheduler", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert fresh(customer).anonymised_at is None
    assert Contact.objects.filter(customer=customer).exists()
    # After it, run_scheduler enqueues the task (the test backend runs it at once).
    later = start + timedelta(days=settings.CLIENTDESK_CLOSED_RETENTION_DAYS, hours=2)
    with time_machine.travel(later, tick=False):
        assert retention.due() == [customer.pk]
        with django_capture_on_commit_callbacks(execute=True):
            call_command("run_scheduler", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
    erased = fresh(customer)
    assert erased.anonymised_at is not None
    assert erased.display_name == retention.pseudonym(customer)
    assert "Alpha" not in erased.display_name
    assert erased.legal_name == "" and erased.status == Customer.Status.CLOSED
    assert not Contact.objects.filter(customer=customer).exists()
    assert Note._base_manager.get(pk=note.pk).body == retention.ERASED
    assert ChangeRequest.objects.get(pk=request.pk).requested == {}
    gone = User.objects.get(pk=owner_user.pk)
    assert gone.email.endswith("@erased.invalid") and not gone.is_active
    # The ledger stays: every entry, same customer number.
    assert set(Entry.objects.filter(customer=customer).values_list("pk", flat=True)) == entry_ids
    assert len(entry_ids) == 2
    assert activities("customer.anonymised", customer)
    assert events("customer.anonymised", customer)
    # Names and free text are gone from the trail and the outbox too; who acted stays.
    from clientdesk.audit.models import Activity
    from clientdesk.events.models import Event

    trail = Activity.objects.filter(customer=customer).exclude(verb="customer.anonymised")
    assert not trail.filter(actor=owner_user).exclude(actor_label=retention.ERASED).exists()
    assert not trail.exclude(reason="").exclude(reason=retention.ERASED).exists()
    assert not trail.exclude(changes={}).exists()
    for data in Event.objects.filter(customer=customer).values_list("data", flat=True):
        assert "Aisha" not in str(data) and owner_user.email not in str(data)
    # No longer reopenable.
    with time_machine.travel(later, tick=False), pytest.raises(DomainError):
        lifecycle.reopen_customer(customer, reason="Too late", actor=staff(world))


def test_anonymising_refuses_an_account_still_in_retention(world: World) -> None:
    customer = ready_to_close(world)
    lifecycle.close_customer(customer, reason="Left", actor=staff(world))
    with pytest.raises(ValueError, match="retention"):
        retention.anonymise_customer(customer, actor=SYSTEM)
    with pytest.raises(ValueError, match="not closed"):
        retention.anonymise_customer(world.customer_b, actor=SYSTEM)
    assert fresh(customer).anonymised_at is None


# --- ownership transfer -------------------------------------------------------------------------


def test_transfer_by_the_owner_moves_the_role_and_the_primary_email(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.customer_a
    old = owner_contact(world, "a_owner")
    new = owner_contact(world, "a_member")
    assert [c.pk for c in owners(customer)] == [old.pk]
    assert primary_email(customer) == "a.owner@example.org"
    assert new.pk in [c.pk for c in lifecycle.transfer_candidates(customer)]
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transfer_ownership(customer, new_owner_id=new.pk, actor=portal(world))
    assert [c.pk for c in owners(customer)] == [new.pk]
    assert Contact.objects.get(pk=old.pk).role == Role.ADMIN
    assert primary_email(customer) == "a.member@example.org"
    [activity] = activities("customer.ownership_transferred", customer)
    assert activity.changes["primary_email"] == ["a.owner@example.org", "a.member@example.org"]
    [event] = events("customer.ownership_transferred", customer)
    assert event.data["primary_email"] == "a.member@example.org"
    assert event.data["previous_primary_email"] == "a.owner@example.org"
    assert event.data["owner"]["id"] == new.pk
    # Both hear of it, each with their own wording.
    [to_new] = sent_to("a.member@example.org")
    [to_old] = sent_to("a.owner@example.org")
    assert "You are now the owner" in to_new.body
    assert "you remain on the account as an admin" in to_old.body
    for message in (to_new, to_old):
        assert "Subscriptions and service assignments stay where they are." in message.body
    # The old owner lost the owner's capabilities; the new owner has them.
    with pytest.raises(DomainError):
        lifecycle.transfer_ownership(customer, new_owner_id=old.pk, actor=portal(world))
    lifecycle.transfer_ownership(customer, new_owner_id=old.pk, actor=portal(world, "a_member"))
    assert [c.pk for c in owners(customer)] == [old.pk]


def test_a_manager_transfers_with_a_reason(world: World) -> None:
    customer = world.customer_a
    new = owner_contact(world, "a_billing")
    with pytest.raises(DomainError) as refused:
        lifecycle.transfer_ownership(customer, new_owner_id=new.pk, actor=staff(world))
    assert refused.value.field == "reason"
    for persona in ("staff_support", "staff_billing"):
        with pytest.raises(DomainError) as refused:
            lifecycle.transfer_ownership(
                customer, new_owner_id=new.pk, reason="Asked", actor=staff(world, persona)
            )
        assert refused.value.code == ErrorCode.NOT_ALLOWED
    assert Contact.objects.get(pk=new.pk).role == Role.BILLING
    lifecycle.transfer_ownership(
        customer, new_owner_id=new.pk, reason="Signed letter of 3 May", actor=staff(world)
    )
    assert [c.pk for c in owners(customer)] == [new.pk]
    assert activities("customer.ownership_transferred", customer)[0].reason == (
        "Signed letter of 3 May"
    )


def _refused_transfer(world: World, new_owner_id: int, actor: Actor | None = None) -> DomainError:
    customer = world.customer_a
    before = {c.pk: c.role for c in Contact.objects.filter(customer=customer)}
    with pytest.raises(DomainError) as refused:
        lifecycle.transfer_ownership(
            customer, new_owner_id=new_owner_id, reason="Test", actor=actor or staff(world)
        )
    assert {c.pk: c.role for c in Contact.objects.filter(customer=customer)} == before
    assert len(owners(customer)) == 1
    assert not Event.objects.filter(type="customer.ownership_transferred").exists()
    return refused.value


def test_transfer_to_a_contact_without_portal_access_is_refused(world: World) -> None:
    offline = factories.make_contact(world.customer_a, portal=False)
    error = _refused_transfer(world, offline.pk)
    assert error.field == "new_owner" and "portal sign-in" in error.message
    invited = factories.make_contact(world.customer_a, portal=False, portal_access=True)
    assert "portal sign-in" in _refused_transfer(world, invited.pk).message
    assert offline.pk not in [c.pk for c in lifecycle.transfer_candidates(world.customer_a)]
    assert invited.pk not in [c.pk for c in lifecycle.transfer_candidates(world.customer_a)]


def test_transfer_to_another_customers_contact_is_refused(world: World) -> None:
    other = owner_contact(world, "b_member", world.customer_b)
    error = _refused_transfer(world, other.pk)
    assert error.field == "new_owner"
    assert Contact.objects.get(pk=other.pk).role == Role.MEMBER
    assert _refused_transfer(world, 10**12).field == "new_owner"


def test_transfer_to_an_inactive_sign_in_is_refused(world: World) -> None:
    member = owner_contact(world, "a_member")
    User.objects.filter(pk=member.user_id).update(is_active=False)
    assert "suspended" in _refused_transfer(world, member.pk).message
    assert member.pk not in [c.pk for c in lifecycle.transfer_candidates(world.customer_a)]


def test_transfer_to_the_owner_or_through_login_as_is_refused(world: World) -> None:
    owner = owner_contact(world, "a_owner")
    assert "already the owner" in _refused_transfer(world, owner.pk).message
    impersonated = Actor(
        world.users["a_owner"], Source.PORTAL, impersonator=world.users["staff_support"]
    )
    member = owner_contact(world, "a_member")
    assert "Support" in _refused_transfer(world, member.pk, impersonated).message
    assert _refused_transfer(world, member.pk, portal(world, "a_admin")).code == (
        ErrorCode.NOT_ALLOWED
    )


def test_no_transfer_while_suspended(world: World) -> None:
    lifecycle.suspend_customer(world.customer_a, reason="Unpaid", actor=staff(world))
    member = owner_contact(world, "a_member")
    assert _refused_transfer(world, member.pk).code == ErrorCode.CONFLICT


def test_the_database_allows_one_owner_per_customer(world: World) -> None:
    member = owner_contact(world, "a_member")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=member.pk).update(role=Role.OWNER)
    assert len(owners(world.customer_a)) == 1


def test_money_kept_on_the_account_does_not_stop_a_transfer(world: World) -> None:
    """Ownership moves with the balance in place (it belongs to the account, not a person)."""
    post(world, world.customer_a, "top_up", "10.00")
    member = owner_contact(world, "a_member")
    lifecycle.transfer_ownership(world.customer_a, new_owner_id=member.pk, actor=portal(world))
    assert ledger.balance_now(world.customer_a) == Decimal("10.00")
    assert [c.pk for c in owners(world.customer_a)] == [member.pk]
