"""Production. Every secret comes from the environment; refuses to start without them."""

from django.core.exceptions import ImproperlyConfigured

from config import env

from .base import *  # noqa: F403

DEBUG = False
if not env.SECRET_KEY or len(env.SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of 50+ characters.")
SECRET_KEY = env.SECRET_KEY

SECURE_SSL_REDIRECT = env.SECURE_SSL_REDIRECT
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.TRUSTED_PROXY_COUNT else None
# A load balancer probes each node over plain HTTP without X-Forwarded-Proto: answer the health
# checks instead of redirecting them to https:// (they carry nothing secret).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_COOKIE_HTTPONLY = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
