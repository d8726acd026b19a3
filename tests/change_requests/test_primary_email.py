"""The primary (login) email change action (issue 7 part B, seed 003) called directly: its
effects in one transaction, its refusals (nothing changes), and on PostgreSQL two changes
racing for the same new address."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from allauth.account.forms import default_token_generator as allauth_tokens
from allauth.account.models import EmailAddress
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db import connection
from django.test import Client, TestCase
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.change_requests import email_checks
from clientdesk.change_requests.actions import submit_change_request
from clientdesk.change_requests.models import ChangeRequest, Status
from clientdesk.change_requests.primary_email import (
    VerificationMethod,
    change_primary_email,
    may_run_procedure,
)
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Contact, Customer, Note
from clientdesk.customers.queries import profile_customer
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from clientdesk.users.models import User
from tests import factories

pytestmark = pytest.mark.django_db

NEW = "alpha.owner@newmail.example"
OLD = "a.owner@example.org"
CYRILLIC_A = "\u0430"


def staff(world: Any, persona: str = "staff_support") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def change(world: Any, customer: Customer | None = None, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "new_email": NEW,
        "verification_method": VerificationMethod.PHONE_CALLBACK,
        "verification_reference": "Call ref 7781",
        "reason": "Client lost access to the old mailbox",
        "authorised_by": world.users["staff_manager"],
        "actor": staff(world),
        **overrides,
    }
    return change_primary_email(customer or world.customer_a, **arguments)


def owner_user(world: Any) -> User:
    return User.objects.get(pk=world.users["a_owner"].pk)


def nothing_changed(world: Any) -> None:
    assert owner_user(world).email == OLD
    assert Contact.objects.get(customer=world.customer_a, role=Role.OWNER).email == OLD
    assert EmailAddress.objects.filter(user=world.users["a_owner"], email=OLD).exists()
    assert not Activity.objects.filter(verb="customer.primary_email_changed").exists()
    assert not Event.objects.filter(type="customer.primary_email_changed").exists()
    assert not Note.objects.filter(kind=Note.Kind.EMAIL_CHANGE).exists()
    assert not mail.outbox


def refused(world: Any, code: ErrorCode, **overrides: Any) -> DomainError:
    # Callbacks the action scheduled before it refused would run here (they must not exist).
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(DomainError) as caught:
        change(world, **overrides)
    assert caught.value.code == code, caught.value.message
    nothing_changed(world)
    return caught.value


# --- the effects ------------------------------------------------------------------------------


def test_one_transaction_changes_the_login_contact_and_primary_email(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    owner = world.users["a_owner"]
    signed_in = Client()
    signed_in.force_login(owner)
    reset_token = default_token_generator.make_token(owner)
    allauth_token = allauth_tokens.make_token(owner)

    with django_capture_on_commit_callbacks(execute=True):
        result = change(world)

    assert (result.old_email, result.new_email) == (OLD, NEW)
    user = owner_user(world)
    assert user.email == NEW
    assert Contact.objects.get(customer=world.customer_a, role=Role.OWNER).email == NEW
    assert profile_customer(world.customer_a.pk).owner_email == NEW
    assert list(
        EmailAddress.objects.filter(user=user).values_list("email", "primary", "verified")
    ) == [(NEW, True, True)]
    # Signed out everywhere; reset links made before no longer work.
    response = signed_in.get(reverse("portal:home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not default_token_generator.check_token(user, reset_token)
    assert not allauth_tokens.check_token(user, allauth_token)
    assert default_token_generator.check_token(user, default_token_generator.make_token(user))
    # The note: time, method, evidence, reason, authorised by.
    note = result.note
    assert note.kind == Note.Kind.EMAIL_CHANGE and note.customer_id == world.customer_a.pk
    assert note.reason == "Client lost access to the old mailbox"
    assert note.authorised_by == world.users["staff_manager"]
    assert note.author == world.users["staff_support"]
    for part in (OLD, NEW, "Phone call-back to the number on file", "Call ref 7781"):
        assert part in note.body
    # Activity and the outbox.
    activity = Activity.objects.get(verb="customer.primary_email_changed")
    assert activity.changes == {"primary_email": [OLD, NEW]}
    assert activity.reason == "Client lost access to the old mailbox"
    event = Event.objects.get(type="customer.primary_email_changed")
    assert event.data["old_email"] == OLD and event.data["new_email"] == NEW
    assert event.data["verification_method"] == "phone_callback"
    assert event.data["note_id"] == note.pk
    # Two emails after commit: a confirmation to the new address, a notice to the old one.
    assert len(mail.outbox) == 2
    [to_new] = [m for m in mail.outbox if m.to == [NEW]]
    [to_old] = [m for m in mail.outbox if m.to == [OLD]]
    assert NEW in to_new.body and "signed out everywhere" in to_new.body
    assert OLD in to_old.body and "If this was not you" in to_old.body
    assert to_new.alternatives and to_old.alternatives  # HTML versions too
    assert result.closed_request is None


def test_the_old_email_no_longer_signs_in(world: Any) -> None:
    change(world)
    client = Client()
    assert not client.login(email=OLD, password=factories.PASSWORD)
    assert client.login(email=NEW, password=factories.PASSWORD)


def test_every_contact_of_the_same_person_follows(world: Any) -> None:
    """The owner of A is also a contact of B: a linked contact's email is the login."""
    contact_b = factories.make_contact(world.customer_b, "billing", user=world.users["a_owner"])
    change(world)
    contact_b.refresh_from_db()
    assert contact_b.email == NEW
    assert Activity.objects.filter(
        verb="contact.updated", customer=world.customer_b, target_id=str(contact_b.pk)
    ).exists()


def test_nothing_is_sent_before_commit(world: Any) -> None:
    change(world)  # the test's transaction never commits
    assert not mail.outbox


def test_an_open_request_is_closed_approved(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = submit_change_request(
        world.customer_a,
        kind="primary_email",
        values={"primary_email": NEW},
        actor=Actor(world.users["a_owner"], Source.PORTAL),
    )
    result = change(world)
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    assert result.closed_request is not None and result.closed_request.pk == request.pk
    assert Event.objects.filter(type="change_request.approved").count() == 1


def test_another_customers_request_is_refused_and_rolls_everything_back(world: Any) -> None:
    request = submit_change_request(
        world.customer_b,
        kind="primary_email",
        values={"primary_email": "beta.new@example.org"},
        actor=Actor(world.users["b_owner"], Source.PORTAL),
    )
    mail.outbox.clear()
    refused(world, ErrorCode.NOT_FOUND, change_request=request)
    assert ChangeRequest.objects.get(pk=request.pk).status == Status.OPEN


# --- refusals ---------------------------------------------------------------------------------


def test_an_owner_without_a_sign_in(world: Any) -> None:
    customer = factories.make_customer("Delta Sdn Bhd")
    factories.make_contact(customer, "owner", portal=False)
    with pytest.raises(DomainError) as caught:
        change(world, customer)
    assert caught.value.code == ErrorCode.CONFLICT
    assert "no sign-in" in caught.value.message


def test_a_customer_without_an_owner(world: Any) -> None:
    customer = factories.make_customer("Epsilon Sdn Bhd")
    with pytest.raises(DomainError) as caught:
        change(world, customer)
    assert caught.value.code == ErrorCode.CONFLICT


@pytest.mark.parametrize("address", [OLD, "A.Owner@Example.org", " a.owner@example.org "])
def test_the_same_email(world: Any, address: str) -> None:
    error = refused(world, ErrorCode.INVALID, new_email=address)
    assert error.field == "new_email" and "already the login email" in error.message


@pytest.mark.parametrize(
    "address",
    ["b.owner@example.org", "B.OWNER@EXAMPLE.ORG", "b.owner@EXAMPLE.org", "a.admin@example.org"],
)
def test_another_users_address_in_any_case(world: Any, address: str) -> None:
    error = refused(world, ErrorCode.INVALID, new_email=address)
    assert error.field == "new_email" and "Another sign-in already uses" in error.message


def test_a_staff_members_address(world: Any) -> None:
    error = refused(world, ErrorCode.INVALID, new_email="Support@Staff.Example")
    assert "Another sign-in already uses" in error.message


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (f"new@ex{CYRILLIC_A}mple.org", "mixes letters from different alphabets"),
        (f"new@{CYRILLIC_A}lpha.example", "mixes letters from different alphabets"),
        (f"{CYRILLIC_A}.owner@example.org", "Enter a valid email address"),
        ("b.owner@example.org\u200b", "control characters"),
    ],
)
def test_unicode_look_alikes(world: Any, address: str, message: str) -> None:
    error = refused(world, ErrorCode.INVALID, new_email=address)
    assert error.field == "new_email" and message in error.message


@pytest.mark.parametrize(
    "address",
    [
        "new@example.org\r\nBcc: victim@example.org",
        "new@example.org\n",
        "new@exa\rmple.org",
        "new\x00@example.org",
    ],
)
def test_line_breaks_and_control_characters(world: Any, address: str) -> None:
    error = refused(world, ErrorCode.INVALID, new_email=address)
    assert error.field == "new_email"
    assert "line breaks or control characters" in error.message


@pytest.mark.parametrize("address", ["", "   ", "not an address", "a@b", "x" * 250 + "@e.org"])
def test_not_an_address(world: Any, address: str) -> None:
    error = refused(world, ErrorCode.INVALID, new_email=address)
    assert error.field == "new_email"


def test_every_missing_input_is_named_at_once(world: Any) -> None:
    error = refused(
        world,
        ErrorCode.INVALID,
        verification_method="",
        verification_reference=" ",
        reason="",
        authorised_by=None,
    )
    assert set(error.errors) == {
        "verification_method",
        "verification_reference",
        "reason",
        "authorised_by",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"verification_method": "telepathy"}, "verification_method"),
        ({"verification_reference": "ref\r\nBcc: x"}, "verification_reference"),
        ({"verification_reference": "r" * 301}, "verification_reference"),
        ({"reason": "r" * 301}, "reason"),
        ({"reason": "two\nlines"}, "reason"),
    ],
)
def test_bad_procedure_inputs(world: Any, overrides: dict[str, Any], field: str) -> None:
    error = refused(world, ErrorCode.INVALID, **overrides)
    assert field in error.errors


def test_the_authoriser_must_be_active_staff(world: Any) -> None:
    error = refused(world, ErrorCode.INVALID, authorised_by=world.users["a_admin"])
    assert "authorised_by" in error.errors
    manager = world.users["staff_manager"]
    User.objects.filter(pk=manager.pk).update(is_active=False)
    manager.refresh_from_db()
    error = refused(world, ErrorCode.INVALID, authorised_by=manager)
    assert "authorised_by" in error.errors


@pytest.mark.parametrize("persona", ["staff_billing", "a_owner", "a_admin"])
def test_only_support_managers_and_superusers_run_it(world: Any, persona: str) -> None:
    refused(world, ErrorCode.NOT_ALLOWED, actor=Actor(world.users[persona], Source.STAFF))


def test_not_through_the_portal_or_api(world: Any) -> None:
    for source in (Source.PORTAL, Source.API, Source.SYSTEM):
        refused(world, ErrorCode.NOT_ALLOWED, actor=Actor(world.users["staff_support"], source))


def test_who_may_run_the_procedure(world: Any) -> None:
    assert may_run_procedure(world.users["staff_support"])
    assert may_run_procedure(world.users["staff_manager"])
    assert may_run_procedure(world.users["superuser"])
    assert not may_run_procedure(world.users["staff_billing"])
    assert not may_run_procedure(world.users["a_owner"])


# --- two changes racing for one address (PostgreSQL) ------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_customers_racing_for_one_new_address_exactly_one_wins(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both changes pass the "not taken" check before either writes (a barrier holds them
    there), so only the database's unique login key can decide: one wins, the other is
    told the address was just taken, and its customer is untouched."""
    racing = "shared.new@example.org"
    barrier = threading.Barrier(2, timeout=15)
    original = email_checks.check_new_login_email

    def check_then_wait(raw: str, *, user_id: int | None = None) -> Any:
        checked = original(raw, user_id=user_id)
        barrier.wait()
        return checked

    monkeypatch.setattr(email_checks, "check_new_login_email", check_then_wait)
    outcomes: dict[str, str] = {}

    def run(name: str, customer: Customer) -> None:
        try:
            change(world, Customer.objects.get(pk=customer.pk), new_email=racing)
            outcomes[name] = "changed"
        except DomainError as error:
            outcomes[name] = f"{error.code}:{error.field}"
        except Exception as error:  # pragma: no cover - reported by the assertion below
            outcomes[name] = f"crash:{error!r}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("a", world.customer_a)),
        threading.Thread(target=run, args=("b", world.customer_b)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["changed", f"{ErrorCode.CONFLICT}:new_email"], outcomes
    assert User.objects.filter(email=racing).count() == 1
    [winner] = [name for name, outcome in outcomes.items() if outcome == "changed"]
    loser = "b" if winner == "a" else "a"
    assert (
        User.objects.get(pk=world.users[f"{loser}_owner"].pk).email == f"{loser}.owner@example.org"
    )
    assert Activity.objects.filter(verb="customer.primary_email_changed").count() == 1
    assert Event.objects.filter(type="customer.primary_email_changed").count() == 1
    assert Note.objects.filter(kind=Note.Kind.EMAIL_CHANGE).count() == 1


def test_ending_the_sessions_is_recorded(world: Any) -> None:
    """The sessions are ended (and recorded) before the email changes: afterwards their
    hash no longer matches and they would vanish without a trace."""
    signed_in = Client()
    signed_in.force_login(owner_user(world))
    assert signed_in.get("/").status_code in (200, 302)  # the session is tracked
    change(world)
    ended = Activity.objects.get(verb="user.sessions_ended")
    assert ended.changes == {"sessions": [1, 0]}
    assert ended.reason == "login email changed"
