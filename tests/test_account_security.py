"""Password change, the Security page's session list, rate limits and the staff 2FA rule."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.core import mail
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity

from .factories import PASSWORD, make_staff, make_user

pytestmark = pytest.mark.django_db(transaction=True)

UA_LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
UA_PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Version/18.0 Mobile Safari/604.1"


def signed_in_client(email: str, password: str = PASSWORD, user_agent: str = UA_LAPTOP) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent)
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    assert response.status_code == 302, response.content[:500]
    return client


def test_password_change_needs_the_current_password() -> None:
    user = make_user("mike@example.org")
    client = signed_in_client(user.email)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": "not-my-password",
            "password1": "a-new-secret-77",
            "password2": "a-new-secret-77",
        },
    )
    assert response.status_code == 200
    assert "Please type your current password" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_ends_other_sessions_and_sends_a_notice() -> None:
    user = make_user("mike@example.org")
    here = signed_in_client(user.email, user_agent=UA_LAPTOP)
    elsewhere = signed_in_client(user.email, user_agent=UA_PHONE)
    assert elsewhere.get(reverse("security")).status_code == 200

    response = here.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "a-new-secret-77", "password2": "a-new-secret-77"},
    )
    assert response.status_code == 302

    assert here.get(reverse("security")).status_code == 200
    assert elsewhere.get(reverse("security")).status_code == 302
    notices = [m for m in mail.outbox if m.to == ["mike@example.org"]]
    assert len(notices) == 1
    assert "password" in notices[0].subject.lower()
    assert notices[0].alternatives


def test_security_page_lists_sessions_with_device_ip_and_last_seen() -> None:
    user = make_user("mike@example.org")
    signed_in_client(user.email, user_agent=UA_PHONE)
    client = signed_in_client(user.email, user_agent=UA_LAPTOP)
    page = client.get(reverse("security")).content.decode()
    assert "Chrome on Linux" in page
    assert "Safari on iPhone" in page
    assert "127.0.0.1" in page
    assert "This device" in page


def test_ending_another_session_signs_that_device_out_and_is_recorded() -> None:
    user = make_user("mike@example.org")
    phone = signed_in_client(user.email, user_agent=UA_PHONE)
    laptop = signed_in_client(user.email, user_agent=UA_LAPTOP)
    phone_session = UserSession.objects.get(user=user, user_agent=UA_PHONE)

    response = laptop.post(reverse("security-end-session", args=[phone_session.pk]))
    assert response.status_code == 302
    assert phone.get(reverse("security")).status_code == 302
    assert laptop.get(reverse("security")).status_code == 200
    assert Activity.objects.filter(verb="user.session_ended", actor=user).count() == 1


def test_a_session_of_another_user_cannot_be_ended() -> None:
    victim = make_user("victim@example.org")
    signed_in_client(victim.email)
    victim_session = UserSession.objects.get(user=victim)
    attacker = signed_in_client(make_user("attacker@example.org").email)

    attacker.post(reverse("security-end-session", args=[victim_session.pk]))
    assert UserSession.objects.filter(pk=victim_session.pk).exists()


def test_ending_all_other_sessions_keeps_the_current_one() -> None:
    user = make_user("mike@example.org")
    others = [signed_in_client(user.email, user_agent=UA_PHONE) for _ in range(2)]
    laptop = signed_in_client(user.email)
    laptop.post(reverse("security-end-other-sessions"))
    assert all(c.get(reverse("security")).status_code == 302 for c in others)
    assert laptop.get(reverse("security")).status_code == 200


def test_repeated_wrong_passwords_are_rate_limited_without_revealing_the_account() -> None:
    make_user("mike@example.org")
    answers = []
    for email in ("mike@example.org", "nobody@example.org"):
        client = Client(REMOTE_ADDR="10.1.1.1" if email.startswith("mike") else "10.2.2.2")
        for _ in range(6):
            response = client.post(reverse("account_login"), {"login": email, "password": "wrong"})
        answers.append(response.content.decode())
    assert all("Too many failed login attempts" in answer for answer in answers)
    # The right password does not get through while the limit holds.
    client = Client(REMOTE_ADDR="10.1.1.1")
    response = client.post(
        reverse("account_login"), {"login": "mike@example.org", "password": PASSWORD}
    )
    assert response.status_code == 200


def test_staff_without_two_factor_are_sent_to_enrol() -> None:
    staff = make_staff("support", with_mfa=False)
    client = Client()
    client.force_login(staff)
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_with_two_factor_reach_the_console() -> None:
    staff = make_staff("support")
    client = Client()
    client.force_login(staff)
    assert client.get(reverse("staff:home")).status_code == 200


def test_sign_up_is_closed() -> None:
    response = Client().post(
        reverse("account_signup"), {"email": "new@example.org", "password1": "x" * 12}
    )
    assert response.status_code == 404
    from clientdesk.users.models import User

    assert not User.objects.filter(email="new@example.org").exists()


def test_the_admin_login_form_is_not_a_way_around_two_factor() -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
