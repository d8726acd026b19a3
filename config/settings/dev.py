"""Development: `make run`. Safe defaults on a laptop; never used in production."""

from config import env

from .base import *  # noqa: F403
from .base import LOGGING

DEBUG = env.env_bool("DEBUG", True)
SECRET_KEY = env.SECRET_KEY or "dev-only-insecure-key-change-me-0123456789abcdefghijklmnop"
ALLOWED_HOSTS = env.ALLOWED_HOSTS
# Mail is printed by the task worker unless an SMTP server is configured.
EMAIL_BACKEND = env.EMAIL_BACKEND or "django.core.mail.backends.console.EmailBackend"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["handlers"]["console"]["formatter"] = (
    "json" if env.LOG_FORMAT == "json" and not DEBUG else "text"
)
# Webhooks to a receiver on this machine (`manage.py run_webhook_receiver`, test servers).
CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
CLIENTDESK_WEBHOOK_ALLOW_HTTP = True
