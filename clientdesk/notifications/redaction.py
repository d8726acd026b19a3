"""The copy of an email's text that the mail log keeps for staff: secrets removed.

Emails carry single-use links (portal invitations, password resets, email confirmations) and
sometimes codes. The full bodies are needed until the message is delivered and are then
dropped; what staff may read in the mail log is this redacted copy, made when the email is
queued, so that not even a queued or failed email shows a live link in the console.

Three rules, applied in this order:

1. Secret values the sender knows: the values of secret-looking context keys (``key``,
   ``token``, ``code``, ``password``…, as allauth and our own senders name them) and any
   ``secrets`` passed to ``queue_email``, wherever they appear, raw or URL-quoted.
2. Links that look single-use: any URL whose path, query or fragment holds a token-like run
   of 20 or more of ``[A-Za-z0-9_-]`` (an invitation token, a ``uid-timestamp-hash`` reset
   key, a signed confirmation key) becomes ``[single-use link removed]``. The host is not
   looked at. An ordinary long word in a path is removed too; that errs on the safe side.
3. Loose tokens: a run of 24 or more of those characters with both a letter and a digit
   (an API key printed on its own) becomes ``[secret removed]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

REMOVED_LINK = "[single-use link removed]"
REMOVED_SECRET = "[secret removed]"  # noqa: S105 (a marker, not a password)

# Context keys whose string values are secrets (allauth: ``key`` for password reset and
# email confirmation, ``code`` for sign-in and reset codes; ours: ``token``).
SECRET_CONTEXT_KEYS = frozenset(
    {"key", "token", "code", "password", "secret", "temp_key", "otp", "api_key"}
)
MIN_SECRET_LENGTH = 4  # shorter values would blank out ordinary words

URL = re.compile(r"""https?://[^\s<>"'`]+""", re.IGNORECASE)
TOKEN_IN_URL = re.compile(r"[A-Za-z0-9_-]{20,}")
LOOSE_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{24,}(?![A-Za-z0-9_-])")
# Punctuation that ends a sentence rather than the URL ("… at https://x/a.").
URL_TRAILING = ".,;:!?)]}'\""
_SENTINEL = "\x00secret\x00"  # marks a removed secret until the link rule has run


def context_secrets(context: Mapping[str, Any]) -> list[str]:
    """The secret values in an email's template context (top level, strings only)."""
    found = []
    for name, value in context.items():
        if isinstance(value, str) and name.lower() in SECRET_CONTEXT_KEYS:
            found.append(value)
    return found


def redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` with secrets, single-use links and loose tokens replaced by markers."""
    text = text.replace("\x00", "")
    wanted = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
    for secret in sorted(wanted, key=len, reverse=True):
        for form in (secret, quote(secret, safe=""), quote(secret), quote_plus(secret)):
            text = text.replace(form, _SENTINEL)
    text = URL.sub(_redact_url, text).replace(_SENTINEL, REMOVED_SECRET)
    return LOOSE_TOKEN.sub(_redact_loose, text)


def _redact_url(match: re.Match[str]) -> str:
    url = match.group(0)
    trailing = ""
    while url and url[-1] in URL_TRAILING:
        trailing = url[-1] + trailing
        url = url[:-1]
    if _SENTINEL in url:
        return REMOVED_LINK + trailing
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed address (an unclosed IPv6 bracket): keep nothing
        return REMOVED_LINK + trailing
    if TOKEN_IN_URL.search(f"{parts.path}?{parts.query}#{parts.fragment}"):
        return REMOVED_LINK + trailing
    return url + trailing


def _redact_loose(match: re.Match[str]) -> str:
    token = match.group(0)
    has_letter = any(c.isalpha() for c in token)
    has_digit = any(c.isdigit() for c in token)
    return REMOVED_SECRET if has_letter and has_digit else token
