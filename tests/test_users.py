"""Login identities: the email is the login ID, unique whatever its case or Unicode form."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction

from clientdesk.users.emails import email_key
from clientdesk.users.models import User

from .factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

KELVIN_K = "\u212a"  # KELVIN SIGN, NFKC-equal to "K"
DOTLESS_I = "\u0131"  # LATIN SMALL LETTER DOTLESS I: another letter, another mailbox


@pytest.mark.parametrize(
    "duplicate",
    [
        "mike@example.org",
        "MIKE@EXAMPLE.ORG",
        "  Mike@Example.org ",
        f"mi{KELVIN_K}e@example.org",
        f"MI{KELVIN_K}E@example.org",
        "\uff4d\uff49\uff4b\uff45@example.org",  # fullwidth letters fold to ASCII under NFKC
    ],
)
def test_email_is_unique_across_case_and_unicode_lookalikes(duplicate: str) -> None:
    make_user("Mike@Example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(duplicate)
    assert User.objects.count() == 1


def test_a_different_letter_is_a_different_address() -> None:
    make_user("mike@example.org")
    other = make_user(f"m{DOTLESS_I}ke@example.org")
    assert User.objects.count() == 2
    assert other.email_key != email_key("mike@example.org")


def test_the_database_refuses_a_row_without_its_comparison_key() -> None:
    """bulk_create skips save(); the constraint still holds the line."""
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="raw@example.org")])


def test_updating_the_email_keeps_the_key_in_step() -> None:
    user = make_user("old@example.org")
    user.email = "New@Example.ORG"
    user.save(update_fields=["email"])
    user.refresh_from_db()
    assert user.email == "new@example.org"
    assert user.email_key == "new@example.org"


def test_sign_in_accepts_any_case_of_the_stored_address() -> None:
    user = make_user("Mike@Example.org")
    assert authenticate(email="MIKE@example.org", password=PASSWORD) == user
    assert authenticate(username="mike@EXAMPLE.org", password=PASSWORD) == user


def test_passwords_are_hashed_with_argon2_in_production_settings() -> None:
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_new_user_can_enrol_two_factor_straight_away() -> None:
    """allauth refuses 2FA while an unverified copy of the email exists; create_user writes
    the copy verified, in the same transaction, equal to the login email."""
    from allauth.account.models import EmailAddress

    user = make_user("Fresh@Example.org")
    (address,) = EmailAddress.objects.filter(user=user)
    assert (address.email, address.verified, address.primary) == ("fresh@example.org", True, True)
