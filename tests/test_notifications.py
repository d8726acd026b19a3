"""Email: rendered with text and HTML, logged, delivered from a task after commit; the log
keeps a redacted copy of the text and no single-use link survives delivery."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.contrib import admin
from django.core import mail
from django.db import transaction
from django.test import Client, override_settings

from clientdesk.notifications.actions import queue_email
from clientdesk.notifications.models import MailLog
from clientdesk.notifications.redaction import REMOVED_LINK, REMOVED_SECRET, redact
from tests import factories

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
    assert "Your password has been changed" in log.kept_text  # the redacted copy stays
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


# --- the kept (redacted) copy ------------------------------------------------------------------

TOKEN = "Xq3v9-Zr_8Lk2mPq7WcTbN4yHs6DfGj1AeRuIo0KpLx"  # secrets.token_urlsafe(32)-like


def every_stored_value(log: MailLog) -> str:
    log.refresh_from_db()
    return "\n".join(str(getattr(log, f.name)) for f in MailLog._meta.fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"Accept: https://portal.clientdesk.test/invitations/{TOKEN}/\nThanks",
            f"Accept: {REMOVED_LINK}\nThanks",
        ),
        (
            "Reset (https://portal.clientdesk.test/accounts/password/reset/key/4-cb8x1a-"
            "0f9e8d7c6b5a49382716a5b4c3d2e1f0/).",
            f"Reset ({REMOVED_LINK}).",
        ),
        (
            "Confirm: https://portal.clientdesk.test/accounts/confirm-email/"
            "MQ:1tXyZa:b64signatureabcdefghijklmnopqrstuv0123456/",
            f"Confirm: {REMOVED_LINK}",
        ),
        (f"https://x.test/go?token={TOKEN}&a=1", REMOVED_LINK),
        (f"https://x.test/#access_token={TOKEN}", REMOVED_LINK),
        (
            "Your contacts: https://portal.clientdesk.test/c/100042/contacts/",
            "Your contacts: https://portal.clientdesk.test/c/100042/contacts/",
        ),
        ("Sign in at https://portal.clientdesk.test/accounts/login/.", None),
        (f"Your API key is {TOKEN}.", f"Your API key is {REMOVED_SECRET}."),
        ("internationalisation-and-localisation stays", None),
    ],
)
def test_redaction_removes_token_links_and_loose_tokens(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_redaction_removes_named_secrets_raw_and_url_quoted() -> None:
    text = "Code: 8H2K-Q9\nhttps://x.test/verify?c=8H2K-Q9&u=1\nhttps://x.test/v/a%2Fb%3Dc/"
    redacted = redact(text, secrets=["8H2K-Q9", "a/b=c", "ab"])  # too short to matter: "ab"
    assert "8H2K-Q9" not in redacted and "a%2Fb%3Dc" not in redacted
    assert redacted == f"Code: {REMOVED_SECRET}\n{REMOVED_LINK}\n{REMOVED_LINK}"


def test_redaction_survives_odd_input() -> None:
    assert redact("") == ""
    assert redact("http://[::1/x and \x00 nul") == f"{REMOVED_LINK} and  nul"
    assert redact("é" * 10000) == "é" * 10000


def test_secret_named_context_values_are_removed_from_the_kept_copy() -> None:
    log = queue_email(
        to="mike@example.org",
        template="account/email/login_code",
        context={"code": "Q7XK2M", "user_display": "Mike"},
    )
    assert "Q7XK2M" in mail.outbox[0].body
    stored = every_stored_value(log)
    assert "Q7XK2M" not in stored
    assert REMOVED_SECRET in log.kept_text


def test_explicit_secrets_are_removed_from_the_kept_copy() -> None:
    log = queue_email(
        to="mike@example.org",
        template="account/email/password_changed",
        context={**CONTEXT, "user_agent": "Browser Tango-42"},
        secrets=["Tango-42"],
    )
    assert "Tango-42" in mail.outbox[0].body
    assert "Tango-42" not in every_stored_value(log)


def test_no_invitation_token_survives_in_the_log() -> None:
    customer = factories.make_customer("Gamma Sdn Bhd")
    contact = factories.make_contact(customer, portal=False, portal_access=True)
    (message,) = [m for m in mail.outbox if contact.email in m.to]
    (url,) = re.findall(r"https?://\S+/invitations/\S+", message.body)
    token = url.rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 20
    log = MailLog.objects.get(template="customers/email/invitation", to=contact.email)
    assert log.status == MailLog.Status.SENT
    assert log.customer_id == customer.pk
    stored = every_stored_value(log)
    assert token not in stored and url not in stored
    assert REMOVED_LINK in log.kept_text
    assert customer.display_name in log.kept_text  # the rest of the text is readable


def test_no_password_reset_key_survives_in_the_log() -> None:
    factories.make_user("mike@example.org")
    Client().post("/accounts/password/reset/", {"email": "mike@example.org"})
    (message,) = mail.outbox
    (url,) = [u for u in re.findall(r"https?://\S+", message.body) if "/reset/key/" in u]
    key = unquote(url.rstrip("/").rsplit("/", 1)[-1])
    log = MailLog.objects.get(to="mike@example.org")
    stored = every_stored_value(log)
    for secret in (url, key, key.split("-", 1)[-1]):
        assert secret not in stored
    assert REMOVED_LINK in log.kept_text


@override_settings(EMAIL_BACKEND="tests.failing_email.FailingBackend")
def test_a_failed_invitation_keeps_its_link_for_the_retry_but_not_in_the_copy() -> None:
    customer = factories.make_customer("Delta Sdn Bhd")
    contact = factories.make_contact(customer, portal=False, portal_access=True)
    log = MailLog.objects.get(template="customers/email/invitation", to=contact.email)
    assert log.status == MailLog.Status.FAILED
    (url,) = [u for u in re.findall(r"https?://\S+", log.text_body) if "invitation" in u]
    assert url not in log.kept_text
    assert REMOVED_LINK in log.kept_text


def test_the_data_admin_does_not_show_the_full_bodies() -> None:
    model_admin = admin.site._registry[MailLog]
    assert "text_body" not in model_admin.readonly_fields
    assert "html_body" not in model_admin.readonly_fields
    assert {"text_body", "html_body"} <= set(model_admin.exclude or [])


def test_the_migration_keeps_a_redacted_copy_of_emails_still_waiting() -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "clientdesk.notifications.migrations.0002_mail_log_kept_text"
    )
    live = f"Accept: https://portal.clientdesk.test/invitations/{TOKEN}/"
    waiting = MailLog.objects.create(
        to="a@example.org", subject="s", template="t", status="failed", text_body=live
    )
    sent = MailLog.objects.create(to="b@example.org", subject="s", template="t", status="sent")
    migration.keep_redacted_text(apps, None)
    waiting.refresh_from_db()
    sent.refresh_from_db()
    assert waiting.kept_text == f"Accept: {REMOVED_LINK}"
    assert waiting.text_body == live  # still needed for the retry
    assert sent.kept_text == ""


@pytest.mark.django_db
def test_several_recipients_each_get_their_own_copy(django_capture_on_commit_callbacks) -> None:
    """A notice to many contacts: one logged and delivered message each (nobody sees the
    others' addresses), however many there are (a joined list outgrew the log)."""
    from clientdesk.notifications.models import MailLog

    addresses = [f"contact{n}.with.a.long.name@large-customer.example" for n in range(60)]
    with django_capture_on_commit_callbacks(execute=True):
        queue_email(
            to=[*addresses, addresses[0]],
            template="account/email/password_changed",
            context={"user_display": "Mike"},
        )
    assert sorted(MailLog.objects.values_list("to", flat=True)) == sorted(addresses)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(addresses)
    assert all(len(m.to) == 1 for m in mail.outbox)
