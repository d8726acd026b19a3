"""Verified self-service change of the login email (issue 7 item 9): request, confirm,
"this was not me", and the rules around them (setting, owner only, bad addresses, supersede,
expiry, replay, the PostgreSQL race)."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core import mail
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.change_requests import actions as request_actions
from clientdesk.change_requests import self_service
from clientdesk.change_requests.models import ChangeRequest, LoginEmailChange
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.sections import primary_email
from clientdesk.events.models import Event
from clientdesk.notifications.models import MailLog
from clientdesk.users.models import User
from tests import factories

pytestmark = pytest.mark.django_db

NEW = "aisha.new@example.net"
ANONYMOUS = Actor(None, Source.PORTAL)


@pytest.fixture(autouse=True)
def self_service_on() -> Iterator[None]:
    with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=True):
        yield


def portal(world: Any, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def ask(world: Any, new_email: str = NEW, **kwargs: Any) -> self_service.RequestedChange:
    return self_service.request_login_email_change(
        world.customer_a, new_email=new_email, actor=kwargs.pop("actor", portal(world)), **kwargs
    )


def sent_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


def link_token(message: Any, name: str) -> str:
    match = re.search(rf"/login-email/{name}/([A-Za-z0-9_-]+)/", message.body)
    assert match, message.body
    return match.group(1)


def owner(world: Any) -> User:
    return User.objects.get(pk=world.users["a_owner"].pk)


def sign_in(user: User) -> Client:
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    return client


# --- the setting -------------------------------------------------------------------------


def test_off_by_default_every_action_is_refused(world: Any) -> None:
    with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=False):
        for call in (
            lambda: ask(world),
            lambda: self_service.confirm_login_email_change("x" * 43, actor=ANONYMOUS),
            lambda: self_service.report_not_me("x" * 43, actor=ANONYMOUS),
        ):
            with pytest.raises(DomainError) as caught:
                call()
            assert caught.value.code == ErrorCode.NOT_FOUND
    assert not LoginEmailChange.objects.exists()
    assert mail.outbox == []


# --- asking --------------------------------------------------------------------------------


def test_request_mails_a_link_to_the_new_address_and_a_notice_to_the_old(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = ask(world, "  Aisha.New@Example.NET ")
    change = result.change
    assert (change.status, change.old_email, change.new_email) == (
        "pending",
        "a.owner@example.org",
        NEW,
    )
    assert change.customer == world.customer_a and change.user == world.users["a_owner"]
    assert timedelta(hours=23, minutes=59) < change.expires_at - change.created_at
    assert change.expires_at - change.created_at <= timedelta(hours=24)
    # Only hashes are stored.
    assert change.token_hash == hashlib.sha256(result.token.encode()).hexdigest()
    assert change.not_me_token_hash == hashlib.sha256(result.not_me_token.encode()).hexdigest()
    assert result.token not in str(LoginEmailChange.objects.values().get())
    # The login has not changed yet.
    assert owner(world).email == "a.owner@example.org"

    [verify] = sent_to(NEW)
    assert "Confirm your new login email" in verify.subject
    assert link_token(verify, "confirm") == result.token
    assert verify.alternatives  # an HTML part too
    [notice] = sent_to("a.owner@example.org")
    assert "requested" in notice.subject
    assert link_token(notice, "not-me") == result.not_me_token
    assert NEW in notice.body
    # The mail log keeps no live link.
    for logged in MailLog.objects.all():
        assert result.token not in logged.kept_text
        assert result.not_me_token not in logged.kept_text

    activity = Activity.objects.get(verb="customer.login_email_change_requested")
    assert activity.customer_id == world.customer_a.pk
    assert activity.changes == {"new_email": [None, NEW]}
    assert not activity.staff_only
    event = Event.objects.get(type="customer.login_email_change_requested")
    assert event.data["new_email"] == NEW and event.data["old_email"] == "a.owner@example.org"


@pytest.mark.parametrize("persona", ["a_admin", "a_billing", "a_member"])
def test_only_the_owner_may_ask(world: Any, persona: str) -> None:
    with pytest.raises(DomainError) as caught:
        ask(world, actor=portal(world, persona))
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert not LoginEmailChange.objects.exists()


def test_another_customers_owner_and_staff_are_refused(world: Any) -> None:
    with pytest.raises(DomainError) as caught:
        ask(world, actor=portal(world, "b_owner"))
    assert caught.value.code == ErrorCode.NOT_FOUND
    for actor in (
        Actor(world.users["staff_support"], Source.STAFF),
        Actor(world.users["a_owner"], Source.PORTAL, impersonator=world.users["staff_support"]),
        Actor.system(),
    ):
        with pytest.raises(DomainError) as caught:
            ask(world, actor=actor)
        assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert not LoginEmailChange.objects.exists()


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("a.admin@example.org", "Another sign-in already uses this address"),
        ("A.Admin@EXAMPLE.org", "Another sign-in already uses this address"),
        ("a.admin@example.org\r\nBcc: victim@example.org", "line breaks"),
        ("new@example.org\n", "line breaks"),
        # a.admin@example.org with a Cyrillic "а" in the domain: a look-alike
        ("a.admin@ex\u0430mple.org", "mixes letters from different alphabets"),
        ("a.owner@example.org", "already your login email"),
        ("A.OWNER@example.org", "already your login email"),
        ("not an address", "valid email address"),
        ("", "Enter the new email address"),
        ("x" * 250 + "@example.org", "at most 254"),
    ],
)
def test_bad_addresses_are_refused_and_nothing_is_sent(
    world: Any, address: str, words: str
) -> None:
    with pytest.raises(DomainError) as caught:
        ask(world, address)
    assert caught.value.field == "new_email"
    assert words in caught.value.message
    assert not LoginEmailChange.objects.exists()
    assert not Activity.objects.filter(verb="customer.login_email_change_requested").exists()
    assert MailLog.objects.count() == 0


def test_a_likely_typo_needs_confirming(world: Any) -> None:
    with pytest.raises(self_service.UnconfirmedWarning) as caught:
        ask(world, "aisha@gmial.com", warnings_accepted=False)
    assert caught.value.suggestion == "aisha@gmail.com"
    assert "Did you mean aisha@gmail.com?" in caught.value.message
    assert not LoginEmailChange.objects.exists()
    result = ask(world, "aisha@gmial.com", warnings_accepted=True)
    assert result.change.new_email == "aisha@gmial.com"
    assert result.warnings == ["Did you mean aisha@gmail.com? Check the spelling of the address."]


def test_attempts_are_rate_limited(world: Any) -> None:
    for n in range(self_service.ATTEMPTS_PER_HOUR):
        ask(world, f"aisha{n}@example.net")
    with pytest.raises(DomainError) as caught:
        ask(world, "aisha.last@example.net")
    assert caught.value.code == ErrorCode.RATE_LIMITED
    assert LoginEmailChange.objects.count() == self_service.ATTEMPTS_PER_HOUR


def test_a_newer_request_supersedes_the_older_link(world: Any) -> None:
    first = ask(world, "first@example.net")
    second = ask(world, "second@example.net")
    assert second.superseded == 1
    first.change.refresh_from_db()
    assert first.change.status == "superseded"
    with pytest.raises(DomainError) as caught:
        self_service.confirm_login_email_change(first.token, actor=ANONYMOUS)
    assert caught.value.code == ErrorCode.CONFLICT
    assert "newer request" in caught.value.message
    assert owner(world).email == "a.owner@example.org"
    self_service.confirm_login_email_change(second.token, actor=ANONYMOUS)
    assert owner(world).email == "second@example.net"
    assert LoginEmailChange.objects.filter(status="pending").count() == 0


# --- confirming ------------------------------------------------------------------------------


def test_confirming_changes_the_login_everywhere(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = owner(world)
    # The owner of A is also a member of B: that contact follows the login email too.
    factories.make_contact(world.customer_b, "member", user=user)
    phone = sign_in(user)
    laptop = sign_in(user)
    assert UserSession.objects.filter(user=user).count() == 2
    result = ask(world)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        done = self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)

    assert (done.old_email, done.new_email) == ("a.owner@example.org", NEW)
    user.refresh_from_db()
    assert user.email == NEW
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        (NEW, True)
    ]
    assert set(Contact.objects.filter(user=user).values_list("email", flat=True)) == {NEW}
    assert primary_email(Customer.objects.get(pk=world.customer_a.pk)) == NEW
    # Sessions ended: both devices are signed out.
    assert done.sessions_ended == 2
    assert not UserSession.objects.filter(user=user).exists()
    for client in (phone, laptop):
        assert client.get(reverse("portal:home")).status_code == 302
    # The old password still works with the new address, not with the old one.
    assert Client().login(email=NEW, password=factories.PASSWORD)
    assert not Client().login(email="a.owner@example.org", password=factories.PASSWORD)

    change = LoginEmailChange.objects.get()
    assert change.status == "confirmed" and change.decided_at is not None
    activity = Activity.objects.get(verb="customer.primary_email_changed")
    assert activity.changes == {"primary_email": ["a.owner@example.org", NEW]}
    assert activity.actor_id == user.pk  # the owner's change, verified by the link
    assert Activity.objects.filter(verb="user.sessions_ended").count() == 1
    assert Activity.objects.filter(verb="contact.updated").count() == 2
    event = Event.objects.get(type="customer.primary_email_changed")
    assert event.data == {
        "number": world.customer_a.client_id,
        "old_email": "a.owner@example.org",
        "new_email": NEW,
        "owner_contact_id": Contact.objects.get(customer=world.customer_a, role="owner").pk,
        "verification_method": "self_service_link",
        "note_id": None,
    }
    [notice] = sent_to("a.owner@example.org")
    assert notice.subject.endswith("Your login email was changed")
    assert NEW in notice.body
    assert sent_to(NEW) == []


def test_replaying_a_used_link_is_refused(world: Any) -> None:
    result = ask(world)
    self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    with pytest.raises(DomainError) as caught:
        self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    assert caught.value.code == ErrorCode.CONFLICT
    assert "already been used" in caught.value.message
    assert Event.objects.filter(type="customer.primary_email_changed").count() == 1


def test_a_link_expires_after_24_hours(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    result = ask(world)
    later = timezone.now() + timedelta(hours=24, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert self_service.link_state(self_service.find(result.token)) == "expired"
    with pytest.raises(DomainError) as caught:
        self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    assert caught.value.code == ErrorCode.CONFLICT
    assert "expired" in caught.value.message
    assert owner(world).email == "a.owner@example.org"
    assert self_service.pending_for(owner(world)) is None


def test_a_made_up_or_huge_token_is_not_found(world: Any) -> None:
    ask(world)
    for token in ("nope", "x" * 5000, ""):
        with pytest.raises(DomainError) as caught:
            self_service.confirm_login_email_change(token, actor=ANONYMOUS)
        assert caught.value.code == ErrorCode.NOT_FOUND
        with pytest.raises(DomainError) as caught:
            self_service.report_not_me(token, actor=ANONYMOUS)
        assert caught.value.code == ErrorCode.NOT_FOUND


def test_the_address_is_checked_again_when_confirming(world: Any) -> None:
    result = ask(world)
    factories.make_user(NEW.upper())  # someone took it meanwhile
    with pytest.raises(DomainError) as caught:
        self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    assert caught.value.code == ErrorCode.CONFLICT
    assert "Another sign-in already uses this address" in caught.value.message
    assert owner(world).email == "a.owner@example.org"
    assert LoginEmailChange.objects.get().status == "pending"


def test_a_link_dies_when_the_login_changed_meanwhile_or_ownership_moved(world: Any) -> None:
    result = ask(world)
    User.objects.filter(pk=owner(world).pk).update(email="changed.by.staff@example.org")
    with pytest.raises(DomainError) as caught:
        self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    assert "changed since this link was sent" in caught.value.message

    User.objects.filter(pk=owner(world).pk).update(email="a.owner@example.org")
    Contact.objects.filter(customer=world.customer_a, user=owner(world)).update(role="admin")
    with pytest.raises(DomainError) as caught:
        self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    assert "no longer the owner" in caught.value.message


def test_an_open_primary_email_request_is_cancelled_by_the_change(world: Any) -> None:
    request = request_actions.submit_change_request(
        world.customer_a,
        kind="primary_email",
        values={"primary_email": "via.staff@example.net"},
        actor=portal(world),
    )
    result = ask(world)
    self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    assert ChangeRequest.objects.get(pk=request.pk).status == "cancelled"


# --- "this was not me" -----------------------------------------------------------------------


def test_not_me_cancels_ends_sessions_and_flags_for_staff(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = owner(world)
    attacker = sign_in(user)
    first = ask(world, "first@example.net")
    second = ask(world, "second@example.net")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        report = self_service.report_not_me(first.not_me_token, actor=ANONYMOUS)

    assert not report.already_reported and report.cancelled == 1
    assert LoginEmailChange.objects.get(pk=second.change.pk).status == "cancelled"
    assert LoginEmailChange.objects.get(pk=first.change.pk).reported_at is not None
    assert attacker.get(reverse("portal:home")).status_code == 302
    assert not UserSession.objects.filter(user=user).exists()
    with pytest.raises(DomainError) as caught:
        self_service.confirm_login_email_change(second.token, actor=ANONYMOUS)
    assert "cancelled" in caught.value.message
    assert owner(world).email == "a.owner@example.org"

    flag = Activity.objects.get(verb="customer.flagged_for_review")
    assert flag.staff_only and flag.customer_id == world.customer_a.pk
    assert "second@example.net" in flag.reason or "first@example.net" in flag.reason
    cancelled = Activity.objects.get(verb="customer.login_email_change_cancelled")
    assert not cancelled.staff_only
    event = Event.objects.get(type="customer.flagged_for_review")
    assert event.data["source"] == "login_email_not_me" and event.data["cancelled"] == 1
    [staff_mail] = sent_to("manager@staff.example")
    assert world.customer_a.client_id in staff_mail.subject
    assert f"/staff/customers/{world.customer_a.number}/" in staff_mail.body

    # Repeated clicks: nothing more happens.
    again = self_service.report_not_me(first.not_me_token, actor=ANONYMOUS)
    assert again.already_reported
    assert Activity.objects.filter(verb="customer.flagged_for_review").count() == 1
    assert Event.objects.filter(type="customer.flagged_for_review").count() == 1


def test_not_me_after_the_change_still_flags(world: Any) -> None:
    result = ask(world)
    self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
    report = self_service.report_not_me(result.not_me_token, actor=ANONYMOUS)
    assert report.cancelled == 0
    assert report.change.status == "confirmed"
    flag = Activity.objects.get(verb="customer.flagged_for_review")
    assert "already been changed" in flag.reason
    assert Event.objects.get(type="customer.flagged_for_review").data["change_applied"] is True
    assert not Activity.objects.filter(verb="customer.login_email_change_cancelled").exists()


def test_the_staff_inbox_setting_receives_flags(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    result = ask(world)
    with (
        override_settings(CLIENTDESK_CHANGE_REQUEST_INBOX=["desk@provider.example"]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert self_service.staff_inbox() == ["desk@provider.example"]
        self_service.report_not_me(result.not_me_token, actor=ANONYMOUS)
    assert len(sent_to("desk@provider.example")) == 1
    assert sent_to("manager@staff.example") == []


def test_the_not_me_link_expires_after_30_days(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    result = ask(world)
    later = timezone.now() + self_service.NOT_ME_LIFETIME + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(DomainError) as caught:
        self_service.report_not_me(result.not_me_token, actor=ANONYMOUS)
    assert caught.value.code == ErrorCode.CONFLICT
    assert not Activity.objects.filter(verb="customer.flagged_for_review").exists()


# --- the database keeps one pending change per user ------------------------------------------


def test_one_pending_change_per_user_is_a_database_rule(world: Any) -> None:
    from django.db import IntegrityError

    ask(world)
    row = LoginEmailChange.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        LoginEmailChange.objects.create(
            user=row.user,
            customer=row.customer,
            old_email=row.old_email,
            new_email="other@example.net",
            token_hash="a" * 64,
            not_me_token_hash="b" * 64,
            expires_at=row.expires_at,
        )


# --- racing the link (PostgreSQL) ------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_parallel_confirmations_exactly_one_wins(world: Any) -> None:
    """Both requests find the link valid; the row locks let exactly one change the login."""
    with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=True):
        result = ask(world)
        outcomes: list[str] = []

        def confirm() -> None:
            try:
                with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=True):
                    self_service.confirm_login_email_change(result.token, actor=ANONYMOUS)
                outcomes.append("confirmed")
            except DomainError as error:
                outcomes.append(error.code)
            finally:
                connection.close()

        threads = [threading.Thread(target=confirm) for _ in range(2)]
        # Hold the customer's row (the first lock every confirmation takes) until both
        # are queued behind it: the race is real.
        with transaction.atomic():
            Customer.objects.select_for_update().get(pk=world.customer_a.pk)
            for thread in threads:
                thread.start()
            wait_for_lock_waiters(2)
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(outcomes) == ["confirmed", ErrorCode.CONFLICT]
    assert owner(world).email == NEW
    assert Event.objects.filter(type="customer.primary_email_changed").count() == 1
    assert Activity.objects.filter(verb="customer.primary_email_changed").count() == 1
    assert LoginEmailChange.objects.get().status == "confirmed"


def wait_for_lock_waiters(count: int, timeout: float = 15.0) -> None:
    """Wait until ``count`` other PostgreSQL sessions are blocked on a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    pytest.fail(f"{count} confirmations never queued on the customer's row lock")
