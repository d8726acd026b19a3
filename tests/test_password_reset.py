"""Password reset: links only to SITE_URL, and no way to learn whether an address exists."""

from __future__ import annotations

import re
import statistics
import time

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from clientdesk.notifications.models import MailLog

from .factories import make_user

# Real commits, so that mail is delivered on commit exactly as in production.
pytestmark = pytest.mark.django_db(transaction=True)

RESET_URL = "/accounts/password/reset/"


def links_in(message: mail.EmailMessage) -> list[str]:
    bodies = [message.body] + [content for content, _ in getattr(message, "alternatives", [])]
    return [link for body in bodies for link in re.findall(r"https?://[^\s\"'<>]+", body)]


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_HOST": "evil.test"},
        {"HTTP_HOST": "portal.clientdesk.test", "HTTP_X_FORWARDED_HOST": "evil.test"},
        {"HTTP_HOST": "good:x@evil.test"},
    ],
)
def test_reset_link_is_built_from_site_url_whatever_the_host_header(
    headers: dict[str, str],
) -> None:
    make_user("mike@example.org")
    response = Client().post(RESET_URL, {"email": "mike@example.org"}, **headers)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert len(mail.outbox) == 1
        assert any("/accounts/password/reset/key/" in link for link in links_in(mail.outbox[0]))
    for message in mail.outbox:
        links = links_in(message)
        assert links, "the reset email must contain a link"
        assert all(link.startswith(settings.SITE_URL) for link in links), links
        assert "evil.test" not in message.body


def test_reset_mail_goes_to_the_stored_address_only() -> None:
    make_user("mike@example.org")
    Client().post(RESET_URL, {"email": "MIKE@EXAMPLE.ORG"})
    assert [m.to for m in mail.outbox] == [["mike@example.org"]]
    assert mail.outbox[0].alternatives, "every email has an HTML part"


@pytest.mark.parametrize("variant", ["m\u0131ke@example.org", "mike@example.org.evil.test"])
def test_lookalike_addresses_get_the_generic_answer_and_no_mail(variant: str) -> None:
    make_user("mike@example.org")
    response = Client().post(RESET_URL, {"email": variant})
    assert response.status_code == 302
    assert mail.outbox == []


def test_parameter_pollution_sends_at_most_one_mail_to_the_stored_address() -> None:
    make_user("victim@example.org")
    Client().post(RESET_URL, {"email": ["victim@example.org", "attacker@evil.test"]})
    recipients = [address for message in mail.outbox for address in message.to]
    assert "attacker@evil.test" not in recipients
    assert len(mail.outbox) <= 1


def _reset_response(client: Client, email: str) -> tuple[int, str, str]:
    response = client.post(RESET_URL, {"email": email}, follow=True)
    body = response.content.decode()
    # The CSRF token differs per response; everything else must be byte-identical.
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    body = re.sub(r'"X-CSRFToken": "[^"]+"', "", body)
    body = re.sub(r'nonce="[^"]+"', "", body)
    return response.status_code, response.redirect_chain[-1][0], body


def test_known_and_unknown_addresses_get_identical_responses() -> None:
    make_user("known@example.org")
    known = _reset_response(Client(), "known@example.org")
    unknown = _reset_response(Client(), "unknown@example.org")
    assert known == unknown
    assert known[1] == reverse("account_reset_password_done")


@override_settings(ACCOUNT_RATE_LIMITS=False)  # measure the work, not the rate limiter
def test_known_and_unknown_addresses_take_the_same_time() -> None:
    """Sending is queued after commit, so the request does the same work either way."""
    make_user("known@example.org")

    def median_ms(email: str) -> float:
        timings = []
        for _ in range(15):
            client = Client()
            started = time.perf_counter()
            client.post(RESET_URL, {"email": email})
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    median_ms("known@example.org")  # warm up templates and caches
    assert abs(median_ms("known@example.org") - median_ms("unknown@example.org")) < 50


@override_settings(EMAIL_BACKEND="tests.failing_email.FailingBackend")
def test_a_mail_server_failure_never_changes_the_answer() -> None:
    make_user("known@example.org")
    known = _reset_response(Client(), "known@example.org")
    unknown = _reset_response(Client(), "unknown@example.org")
    assert known == unknown
    failed = MailLog.objects.get()
    assert failed.status == MailLog.Status.FAILED
    assert "SMTP is down" in failed.error
