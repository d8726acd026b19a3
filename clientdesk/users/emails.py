"""The login email: how two spellings of one address are recognised as the same."""

from __future__ import annotations

import unicodedata


def email_key(email: str) -> str:
    """The comparison key of an address: Unicode NFKC, then case-folded, trimmed.

    ``Mike@Example.org``, ``mike@example.org`` and ``mi\u212ae@example.org`` (Kelvin sign)
    share one key; ``m\u0131ke@example.org`` (dotless i) does not, because it is another
    mailbox.
    """
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def normalize_email(email: str) -> str:
    """The stored spelling: NFKC, trimmed, lower-cased (allauth looks addresses up by
    their lower-case form, so that is the form stored)."""
    return unicodedata.normalize("NFKC", email.strip()).lower()
