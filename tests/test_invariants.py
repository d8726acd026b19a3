"""The data invariants (clientdesk/demo/invariants.py, ``manage.py check_invariants``): each
check holds on data made by the actions and reports a breach made behind their back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from clientdesk.core.actor import Actor
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.demo import invariants
from clientdesk.events.feed import relay
from clientdesk.events.models import Event
from clientdesk.ledger import actions as ledger
from clientdesk.ledger.models import Balance
from clientdesk.lifecycle.tasks import anonymise_expired_closures
from clientdesk.notifications.models import MailLog
from clientdesk.notifications.tasks import deliver_email
from clientdesk.webhooks import actions as webhooks
from clientdesk.webhooks.fanout import fan_out
from clientdesk.webhooks.models import Delivery
from tests.conftest import World

SYSTEM = Actor.system()


def _top_up(customer: Customer, amount: str = "50.00", key: str = "top-up-1") -> None:
    ledger.post_entry(
        customer,
        kind="top_up",
        amount=amount,
        description="Credit",
        idempotency_key=key,
        actor=SYSTEM,
    )


def _drain() -> None:
    while relay(fan_out=fan_out):
        pass


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_every_check_holds_on_data_made_by_the_actions(world: World) -> None:
    _top_up(world.customer_a)
    _top_up(world.customer_a, "12.30", key="top-up-2")
    _drain()

    results = invariants.run_checks(strict=True)

    assert results == {name: [] for name in invariants.STRICT_CHECKS}
    assert Balance.objects.get(customer=world.customer_a).amount == Decimal("62.30")


def test_a_balance_edited_by_sql_is_reported(world: World) -> None:
    _top_up(world.customer_a)
    assert invariants.check_ledger() == []

    _sql(
        "UPDATE ledger_balance SET amount = amount + 1 WHERE customer_id = %s",
        [world.customer_a.pk],
    )

    problems = invariants.check_ledger()
    assert len(problems) == 1
    assert world.customer_a.client_id in problems[0]
    assert "51.00" in problems[0] and "50.00" in problems[0]


def test_a_customer_without_its_owner_is_reported_unless_closed(world: World) -> None:
    assert invariants.check_owners() == []
    for customer in (world.customer_a, world.customer_b):
        _sql(
            "UPDATE customers_contact SET role = %s WHERE customer_id = %s AND role = %s",
            [Role.ADMIN.value, customer.pk, Role.OWNER.value],
        )
    # Customer B is closed: its contacts go when it is anonymised, so it is not checked.
    Customer.objects.filter(pk=world.customer_b.pk).update(
        status=Customer.Status.CLOSED, closed_at=timezone.now()
    )

    problems = invariants.check_owners()

    assert problems == [f"owners: {world.customer_a.client_id} has 0 owners (exactly one expected)"]


def test_a_customer_without_contacts_needs_no_owner(db: None) -> None:
    Customer.objects.create(number=999_001, display_name="No contacts yet")

    assert invariants.check_owners() == []


def test_a_second_owner_is_refused_by_the_database_and_reported_by_the_check(
    world: World,
) -> None:
    admin = Contact.objects.get(customer=world.customer_a, role=Role.ADMIN)
    statement = "UPDATE customers_contact SET role = %s WHERE id = %s"
    with pytest.raises(IntegrityError), transaction.atomic():
        _sql(statement, [Role.OWNER.value, admin.pk])

    # Without the database's guard (dropped inside this test's transaction), the check
    # is what notices.
    _sql("DROP INDEX customers_contact_one_owner_per_customer", [])
    _sql(statement, [Role.OWNER.value, admin.pk])

    problems = invariants.check_owners()
    assert problems == [f"owners: {world.customer_a.client_id} has 2 owners (exactly one expected)"]


def test_two_users_with_one_login_email_are_reported(world: World) -> None:
    assert invariants.check_emails() == []
    owner, admin = world.users["a_owner"], world.users["a_admin"]
    # A write that bypassed User.save(): the email of another user in capitals, with a
    # comparison key of its own, so the unique constraint does not stop it.
    _sql(
        "UPDATE users_user SET email = %s, email_key = %s WHERE id = %s",
        [owner.email.upper(), "drifted@example.org", admin.pk],
    )

    problems = invariants.check_emails()

    assert any("comparison key 'drifted@example.org'" in line for line in problems)
    assert f"emails: 2 users sign in as {owner.email} (user ids {owner.pk}, {admin.pk})" in problems


def test_a_login_email_on_two_accounts_in_allauth_is_reported(world: World) -> None:
    owner, admin = world.users["a_owner"], world.users["a_admin"]
    EmailAddress.objects.filter(user=admin).update(email=owner.email.upper(), verified=False)

    problems = invariants.check_emails()

    assert problems == [f"emails: the address {owner.email} is on 2 users' accounts"]


def test_unrelayed_events_and_pending_deliveries_are_reported(world: World, settings: Any) -> None:
    settings.CLIENTDESK_WEBHOOK_ALLOW_HTTP = True
    settings.CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _drain()
    assert invariants.check_outbox() == []
    webhooks.create_endpoint(actor=SYSTEM, url="http://127.0.0.1:9/hooks", target="Billing")
    _top_up(world.customer_a)

    unrelayed = Event.objects.filter(position__isnull=True).count()
    assert unrelayed >= 2  # the endpoint's own event and the posting
    assert invariants.check_outbox() == [
        f"outbox: {unrelayed} event(s) not relayed yet (no feed position)"
    ]

    _drain()
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).count()
    assert pending >= 1
    assert invariants.check_outbox() == [f"outbox: {pending} webhook deliveries still pending"]

    Delivery.objects.update(status=Delivery.Status.SENDING)
    assert invariants.check_outbox() == [f"outbox: {pending} webhook deliveries still sending"]

    Delivery.objects.update(status=Delivery.Status.FAILED, finished_at=timezone.now())
    assert invariants.check_outbox() == []
    assert invariants.check_failures() == [
        f"failures: {pending} webhook deliveries failed for good"
    ]


def test_waiting_and_failed_tasks_are_reported(db: None, settings: Any) -> None:
    # The tests run tasks at once; the database backend keeps them for the worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert invariants.check_outbox() == []

    anonymise_expired_closures.enqueue()

    assert invariants.check_outbox() == ["outbox: 1 background task(s) waiting to run"]
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING)
    assert invariants.check_outbox() == ["outbox: 1 background task(s) still running"]
    DBTaskResult.objects.update(
        status=TaskResultStatus.FAILED, exception_class_path="builtins.OSError"
    )
    assert invariants.check_outbox() == []
    assert invariants.check_failures() == [
        "failures: 1 task(s) clientdesk.lifecycle.tasks.anonymise_expired_closures failed "
        "(builtins.OSError)"
    ]


def test_emails_waiting_or_failed_are_reported(db: None, settings: Any) -> None:
    mail = MailLog.objects.create(to="aisha@example.org", subject="Hello", template="test")
    assert invariants.check_outbox() == ["outbox: 1 email(s) logged but not sent yet"]

    deliver_email.enqueue(mail.pk)  # the tests' task backend runs it at once
    assert MailLog.objects.get(pk=mail.pk).status == MailLog.Status.SENT
    assert invariants.check_outbox() == []

    settings.EMAIL_BACKEND = "tests.failing_email.FailingBackend"
    failing = MailLog.objects.create(to="ben@example.org", subject="Hello", template="test")
    deliver_email.enqueue(failing.pk)
    assert invariants.check_outbox() == []
    assert invariants.check_failures() == ["failures: 1 email(s) could not be sent"]


def test_the_command_passes_on_good_data_and_fails_with_the_problems(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _top_up(world.customer_a)
    _drain()
    report = tmp_path / "invariants.json"

    call_command("check_invariants", "--strict", "--json", str(report))

    assert "Every invariant holds" in capsys.readouterr().out
    assert json.loads(report.read_text())["ok"] is True

    _sql("UPDATE ledger_balance SET entry_count = 7 WHERE customer_id = %s", [world.customer_a.pk])
    with pytest.raises(CommandError, match="1 invariant problem"):
        call_command("check_invariants", "--json", str(report), "--wait", "0.1")

    body = json.loads(report.read_text())
    assert body["ok"] is False
    assert body["checks"]["owners"] == []
    assert len(body["checks"]["ledger"]) == 1
    assert "over 7 entries" in capsys.readouterr().err


def test_only_runs_the_named_checks(world: World) -> None:
    results = invariants.run_checks(["owners", "emails"])

    assert results == {"owners": [], "emails": []}
    with pytest.raises(ValueError, match="Unknown check"):
        invariants.run_checks(["nope"])
