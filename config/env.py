"""The one module that reads the process environment.

Every setting that differs between machines comes from here, with a safe development
default. Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CLIENTDESK_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in _TRUE


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env_str("SITE_NAME", "Clientdesk")
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'clientdesk.sqlite3'}")
# A cache shared by every process (rate limits, allauth state). Empty: the database cache.
CACHE_URL = env_str("CACHE_URL", "")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Clientdesk <no-reply@clientdesk.example>")
STAFF_NOTIFICATION_EMAIL = env_str("STAFF_NOTIFICATION_EMAIL", "support@clientdesk.example")

# Number of reverse proxies in front of the app whose X-Forwarded-For may be trusted.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json")  # json | text
