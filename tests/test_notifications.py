"""Email: rendered with text and HTML, logged, delivered from a task after commit."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings

from clientdesk.notifications.actions import queue_email
from clientdesk.notifications.models import MailLog

pytestmark = pytest.mark.django_db(transaction=True)

CONTEXT = {"user_display": "Mike", "password_reset_url": "https://portal.clientdesk.test/x"}


def test_an_email_is_logged_sent_with_both_parts_and_its_body_dropped() -> None:
    log = queue_email(
        to="mike@example.org", template="account/email/password_changed", context=CONTEXT
    )
    log.refresh_from_db()
    assert log.status == MailLog.Status.SENT
    assert log.sent_at is not None
    assert (log.text_body, log.html_body) == ("", "")  # single-use links do not outlive delivery
    (message,) = mail.outbox
    assert message.to == ["mike@example.org"]
    assert message.subject.startswith("[Clientdesk] ")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "<html" in html


def test_nothing_is_sent_when_the_change_rolls_back() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(
            to="mike@example.org", template="account/email/password_changed", context=CONTEXT
        )
        raise RuntimeError("the change failed")
    assert mail.outbox == []
    assert MailLog.objects.count() == 0


@override_settings(EMAIL_BACKEND="tests.failing_email.FailingBackend")
def test_a_failed_delivery_is_recorded_not_raised() -> None:
    log = queue_email(
        to="mike@example.org", template="account/email/password_changed", context=CONTEXT
    )
    log.refresh_from_db()
    assert log.status == MailLog.Status.FAILED
    assert log.attempts == 1
    assert "ConnectionRefusedError" in log.error
    assert log.text_body  # kept so that a retry can send it


def test_html_part_escapes_what_it_quotes() -> None:
    context = {**CONTEXT, "user_agent": "<script>alert(1)</script>"}
    queue_email(to="mike@example.org", template="account/email/password_changed", context=context)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
