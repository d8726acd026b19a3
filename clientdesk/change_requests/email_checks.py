"""Checks on a new login email before it replaces the old one.

Refused: not an address, line breaks or other control characters (header injection),
an address another user signs in with — whatever the case or Unicode form (``email_key``) —
and addresses that mix alphabets inside one part (a Cyrillic ``а`` among Latin letters is
the classic look-alike of someone else's address). Warned, not refused: a domain one typo
away from a common mail provider (``gmial.com``), so staff can double-check with the client.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.users.emails import email_key, normalize_email
from clientdesk.users.models import User

MAX_LENGTH = 254

COMMON_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.com.my",
    "yahoo.com.sg",
    "hotmail.com",
    "hotmail.my",
    "outlook.com",
    "outlook.my",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "aol.com",
    "gmx.com",
    "zoho.com",
    "mail.com",
    "yandex.com",
    "qq.com",
    "163.com",
)


class EmailRefused(ValueError):
    """The address cannot become a login email; the message says why."""


@dataclass(frozen=True)
class CheckedEmail:
    address: str  # the stored spelling (NFKC, lower case)
    warnings: list[str] = field(default_factory=list)
    suggestion: str = ""  # the address with the likely-intended domain


def check_new_login_email(raw: str, *, user_id: int | None = None) -> CheckedEmail:
    """``raw`` as the new login email of user ``user_id`` (None: a new user)."""
    text = raw or ""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise EmailRefused("An email address cannot contain line breaks or control characters.")
    address = normalize_email(text)
    if not address:
        raise EmailRefused("Enter the new email address.")
    if len(address) > MAX_LENGTH:
        raise EmailRefused(f"An email address has at most {MAX_LENGTH} characters.")
    try:
        validate_email(address)
    except ValidationError:
        raise EmailRefused("Enter a valid email address, like name@example.com.") from None
    mixed = _mixed_script_part(address)
    if mixed:
        raise EmailRefused(
            f"“{mixed}” mixes letters from different alphabets, which makes it look like "
            "another address. Check the address with the client and type it again."
        )
    taken = User.objects.filter(email_key=email_key(address))
    if user_id is not None:
        taken = taken.exclude(pk=user_id)
    if taken.exists():
        raise EmailRefused(
            "Another sign-in already uses this address. Each login email belongs to one "
            "person; choose a different address."
        )
    warnings: list[str] = []
    suggestion = ""
    likely = likely_domain(address.rsplit("@", 1)[1])
    if likely:
        suggestion = f"{address.rsplit('@', 1)[0]}@{likely}"
        warnings.append(f"Did you mean {suggestion}? Check the spelling with the client.")
    return CheckedEmail(address, warnings, suggestion)


def validated_new_login_email(user: User, raw: str, *, same_text: str) -> CheckedEmail:
    """``check_new_login_email`` for an existing user, as the actions need it: a refusal, or
    the user's current address (``same_text``), is a ``DomainError`` on ``new_email``."""
    try:
        checked = check_new_login_email(raw, user_id=user.pk)
    except EmailRefused as refused:
        raise DomainError(ErrorCode.INVALID, str(refused), field="new_email") from None
    if checked.address == user.email:
        raise DomainError(ErrorCode.INVALID, same_text, field="new_email")
    return checked


def likely_domain(domain: str) -> str:
    """The common mail domain ``domain`` is probably a typo of, or ""."""
    if domain in COMMON_DOMAINS:
        return ""
    close = difflib.get_close_matches(domain, COMMON_DOMAINS, n=1, cutoff=0.8)
    return close[0] if close else ""


def _mixed_script_part(address: str) -> str:
    """The part of the address (local part or a domain label) whose letters come from more
    than one script, or ""."""
    local, _, domain = address.rpartition("@")
    for part in (local, *domain.split(".")):
        scripts = {_script(ch) for ch in part if ch.isalpha()}
        if len(scripts) > 1:
            return part
    return ""


def _script(ch: str) -> str:
    """LATIN, CYRILLIC, GREEK… from the character's Unicode name (good enough to tell the
    alphabets apart that look-alike addresses mix)."""
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
