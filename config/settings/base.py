"""Settings shared by every environment. Values that vary come from ``config.env``."""

from __future__ import annotations

from typing import Any

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import env
from config.database import DATABASE_VARIABLES, database_settings

BASE_DIR = env.BASE_DIR
VAR_DIR = env.VAR_DIR

DEBUG = env.DEBUG
SECRET_KEY = env.SECRET_KEY
ALLOWED_HOSTS = env.ALLOWED_HOSTS
SITE_URL = env.SITE_URL
SITE_NAME = env.SITE_NAME

INSTALLED_APPS = [
    "clientdesk.core.apps.SuperuserAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "heroicons",
    "django_countries",
    "ninja",  # the API docs page's assets (Swagger UI), served locally
    "clientdesk.core",
    "clientdesk.users",
    "clientdesk.customers",
    "clientdesk.taxes",
    "clientdesk.resources",
    "clientdesk.change_requests",
    "clientdesk.ledger",
    "clientdesk.lifecycle",
    "clientdesk.remote_support",
    "clientdesk.webhooks",
    "clientdesk.apikeys",
    "clientdesk.api",
    "clientdesk.audit",
    "clientdesk.events",
    "clientdesk.notifications",
    "clientdesk.portal",
    "clientdesk.staff",
    "clientdesk.demo",
]

MIDDLEWARE = [
    "clientdesk.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's session tracking, written at most once a minute per session (not per click).
    "clientdesk.users.session_activity.SessionActivityMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Login As: after authentication, before the actor is built (it reads the impersonator).
    "clientdesk.remote_support.middleware.LoginAsMiddleware",
    "clientdesk.core.middleware.ActorMiddleware",
    "clientdesk.core.middleware.PrivatePagesMiddleware",
]

ROOT_URLCONF = "config.urls"
# Django's renderer with <select> written in Python (core/form_renderer.py): a country list
# through the option templates cost ~4 ms per select.
FORM_RENDERER = "clientdesk.core.form_renderer.FastSelectRenderer"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "clientdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "clientdesk.core.context_processors.site",
                "clientdesk.remote_support.context_processors.login_as",
                # Lazy: counted only when the staff nav shows the badge.
                "clientdesk.staff.change_requests.nav_open_requests",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_POOL=1 (Django's connection pool), DATABASE_POOL_MIN_SIZE/MAX_SIZE/TIMEOUT,
# DATABASE_CONN_MAX_AGE, DATABASE_DISABLE_SERVER_SIDE_CURSORS=1 (PgBouncer, transaction mode):
# see config/database.py and docs/operations.md ("Scale-out").
DATABASES = {
    "default": database_settings(
        env.DATABASE_URL, {name: env.env_str(name) for name in DATABASE_VARIABLES}
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by every process: rate limits must hold across workers) ---------------------
# CACHE_URL=redis://… (or rediss://, unix://) for several app nodes: the cache, the rate-limit
# counters and the sessions' read copies live in Redis. Empty: the database cache.
if env.CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.CACHE_URL,
            # Fail fast when Redis is away: a sync worker blocked on a dead socket is a
            # worker lost for every request queued behind it.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Sessions read from Redis and written through to the database: a Redis restart or
    # eviction costs one database read per session, never a signed-out user (the plain
    # ``cache`` engine would sign everybody out). Ending a session deletes both copies.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif env.CACHE_URL:
    raise ImproperlyConfigured(
        "CACHE_URL must be a redis://, rediss:// or unix:// URL (or empty), not a "
        f"{env.CACHE_URL.partition(':')[0]!r} URL."  # the rest may hold a password
    )
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "clientdesk_cache",
        }
    }
    # Sessions in the database (Django's default ``db`` engine): a cache copy would be a
    # second database row to write.
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Users, passwords, sessions ---------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "account_login"
SESSION_COOKIE_AGE = 60 * 60 * 12  # absolute limit: 12 hours
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- allauth -----------------------------------------------------------------------------------
ACCOUNT_ADAPTER = "clientdesk.users.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Customers are created by staff or invited; nobody verifies an address through allauth's
# confirmation mails, because invitations and the staff procedure prove the address.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.TRUSTED_PROXY_COUNT
PASSWORD_RESET_TIMEOUT = 60 * 60  # reset links die after one hour
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = SITE_NAME
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
USERSESSIONS_TRACK_ACTIVITY = True

# --- Tasks and email ---------------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
EMAIL_BACKEND = env.EMAIL_BACKEND or "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env.EMAIL_HOST
EMAIL_PORT = env.EMAIL_PORT
EMAIL_HOST_USER = env.EMAIL_HOST_USER
EMAIL_HOST_PASSWORD = env.EMAIL_HOST_PASSWORD
EMAIL_USE_TLS = env.EMAIL_USE_TLS
EMAIL_USE_SSL = env.EMAIL_USE_SSL
EMAIL_TIMEOUT = env.EMAIL_TIMEOUT
DEFAULT_FROM_EMAIL = env.DEFAULT_FROM_EMAIL
SERVER_EMAIL = env.DEFAULT_FROM_EMAIL
STAFF_NOTIFICATION_EMAIL = env.STAFF_NOTIFICATION_EMAIL

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by the app through whitenoise; no CDN) -------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "clientdesk" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security headers --------------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
USE_X_FORWARDED_HOST = False

# --- Logging: one line per event, JSON in production, with the request id ----------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "clientdesk.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if env.LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.LOG_LEVEL},
    "loggers": {
        # Django installs its own console handler on these; route them through ours only.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "INFO"},
    },
}

# The login email is unique through ``User.email_key`` (case- and Unicode-folded), a
# database constraint that the plain ``unique=True`` check does not know about.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- Customers ------------------------------------------------------------------------------
# Languages the provider writes to customers in (a customer's Preferences choose one).
CUSTOMER_LANGUAGES = [
    ("en", "English"),
    ("ms", "Bahasa Melayu"),
    ("zh-hans", "中文 (简体)"),
    ("ta", "தமிழ்"),
]
# Per-deployment overrides of the field policy (customers/policy.py), e.g.
# {"website": "approval", "legal_name": "direct"}. Checked at start-up.
CLIENTDESK_FIELD_MODES: dict[str, str] = {}
COUNTRIES_FIRST = ["MY", "SG"]
COUNTRIES_FIRST_BREAK = "──────────"

# Portal invitations one customer may send per hour (first sends and resends together):
# enough for onboarding a team, too few for a spam relay.
CLIENTDESK_INVITATIONS_PER_HOUR = 20

# --- Change requests and the login email ---------------------------------------------------
# Where "new change request" emails go; empty: every active manager.
CLIENTDESK_CHANGE_REQUEST_INBOX: list[str] = []
# The address customers are told to write to if a change to their login was not theirs.
CLIENTDESK_SUPPORT_EMAIL = "support@clientdesk.example"
# Seed 000's default: only staff change a login email (the SOP). True lets the owner change
# it themselves, verified by a link to the new address (change_requests/self_service.py).
CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE = False

# --- Account lifecycle and remote support (Login As) ------------------------------------------
# Shown to users of a suspended account ("contact support") and in the owner's emails.
CLIENTDESK_SUPPORT_PHONE = "+60 3-2712 0000"
CLIENTDESK_SUPPORT_HOURS = "Monday to Friday, 9:00–18:00 (Malaysia time)"
# How long a closed account's personal data is kept (and the account can be reopened) before
# the nightly job anonymises it. Ledger entries are kept, under the customer's number only.
CLIENTDESK_CLOSED_RETENTION_DAYS = 90
# A Login As session ends by itself after this many minutes.
CLIENTDESK_LOGIN_AS_MINUTES = 30

# Scheduled tasks: (task path, seconds between runs). `manage.py run_scheduler` enqueues them.
CLIENTDESK_SCHEDULE: list[tuple[str, int]] = [
    ("clientdesk.lifecycle.tasks.anonymise_expired_closures", 3600),
    ("clientdesk.webhooks.tasks.prune_deliveries", 3600),
    ("clientdesk.api.tasks.prune_idempotency_keys", 3600),
]

# --- Webhooks (`manage.py run_webhooks` delivers them) ----------------------------------------
# Networks webhooks may reach besides the public internet. Empty in production: loopback,
# private, link-local and metadata addresses are refused (development allows loopback).
CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS: list[str] = []
# Plain http:// endpoints (development only; production sends over HTTPS).
CLIENTDESK_WEBHOOK_ALLOW_HTTP = False
# Key material for encrypting signing secrets at rest; empty: derived from SECRET_KEY.
CLIENTDESK_WEBHOOK_SECRET_KEY = env.env_str("CLIENTDESK_WEBHOOK_SECRET_KEY", "")
# A worker's claim on a delivery; one that dies mid-POST leaves it to be retried after this.
CLIENTDESK_WEBHOOK_LEASE_SECONDS = env.env_int("CLIENTDESK_WEBHOOK_LEASE_SECONDS", 120)
# An endpoint whose every delivery failed for this many days is switched off (managers told).
CLIENTDESK_WEBHOOK_DISABLE_AFTER_DAYS = 5
# Finished deliveries (and their attempt logs) are kept this long, then pruned.
CLIENTDESK_WEBHOOK_DELIVERED_DAYS = 30
CLIENTDESK_WEBHOOK_FAILED_DAYS = 90

# --- Resources library (files attached to resources) ------------------------------------------
# Uploaded files live in the default storage under MEDIA_ROOT. No URL serves MEDIA_ROOT: the
# portal's download view streams a file after checking the customer's software level.
MEDIA_ROOT = env.VAR_DIR / "media"
CLIENTDESK_RESOURCE_FILE_MAX_BYTES = env.env_int(
    "CLIENTDESK_RESOURCE_FILE_MAX_BYTES", 200 * 1024 * 1024
)

# --- REST API (/api/v1/) --------------------------------------------------------------------
# Requests per minute per API key (a fixed window in the shared cache); more get 429.
CLIENTDESK_API_REQUESTS_PER_MINUTE = env.env_int("CLIENTDESK_API_REQUESTS_PER_MINUTE", 600)
