"""Signing secrets and signatures, per the Standard Webhooks convention.

A secret is ``whsec_`` + base64 of 24 random bytes. The signature of a message is
``v1,`` + base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}")).
Secrets are kept encrypted with Fernet (AES + HMAC) under a key derived from
``CLIENTDESK_WEBHOOK_SECRET_KEY`` (or ``SECRET_KEY``): unlike a password, a signing secret
must be read back to sign, so it cannot be hashed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def hint(secret: str) -> str:
    """Enough of a secret to tell two apart on screen, too little to use."""
    return secret[: len(PREFIX) + 4] + "…"


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    derived = hashlib.sha256(b"clientdesk webhook secrets\x00" + key_material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _cipher() -> Fernet:
    return _fernet(getattr(settings, "CLIENTDESK_WEBHOOK_SECRET_KEY", "") or settings.SECRET_KEY)


def encrypt(secret: str) -> str:
    return _cipher().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:  # the key changed: say so instead of signing garbage
        raise RuntimeError("A webhook secret cannot be decrypted: was the key changed?") from error


def signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_in_use: list[str], *, message_id: str, timestamp: int, body: bytes
) -> str:
    """Space-separated signatures, one per live secret (old and new during a rotation)."""
    return " ".join(
        signature(secret, message_id=message_id, timestamp=timestamp, body=body)
        for secret in secrets_in_use
    )
