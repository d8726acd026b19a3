"""Settings for several app nodes: the shared Redis cache and its sessions, Django's PostgreSQL
connection pool, PgBouncer's switch, health checks behind a load balancer, and a clear error
at start-up for every value that does not parse (docs/operations.md, "Scale-out")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import ConnectionHandler
from django.test import Client, override_settings

from config.database import DATABASE_VARIABLES, database_settings

from .factories import make_user

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://app:secret@db.internal:5432/clientdesk"
CACHED_DB = "django.contrib.sessions.backends.cached_db"


# --- database_settings: the pure function ------------------------------------------------------


def test_without_switches_postgres_keeps_persistent_health_checked_connections() -> None:
    settings = database_settings(POSTGRES, dict.fromkeys(DATABASE_VARIABLES, ""))
    assert settings["CONN_MAX_AGE"] == 60
    assert settings["CONN_HEALTH_CHECKS"] is True
    assert "pool" not in settings.get("OPTIONS", {})
    assert not settings.get("DISABLE_SERVER_SIDE_CURSORS")


def test_the_pool_switch_turns_on_djangos_pool_and_drops_persistent_connections() -> None:
    settings = database_settings(POSTGRES, {"DATABASE_POOL": "1"})
    assert settings["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 4, "timeout": 10}
    assert settings["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert settings["CONN_HEALTH_CHECKS"] is True  # the pool checks a connection before use


def test_the_pool_is_sized_from_the_environment() -> None:
    settings = database_settings(
        POSTGRES,
        {
            "DATABASE_POOL": "true",
            "DATABASE_POOL_MIN_SIZE": "2",
            "DATABASE_POOL_MAX_SIZE": " 8 ",
            "DATABASE_POOL_TIMEOUT": "5",
            "DATABASE_CONN_MAX_AGE": "0",
        },
    )
    assert settings["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 8, "timeout": 5}


def test_pgbouncer_switch_disables_server_side_cursors_and_conn_max_age_is_settable() -> None:
    settings = database_settings(
        POSTGRES, {"DATABASE_DISABLE_SERVER_SIDE_CURSORS": "yes", "DATABASE_CONN_MAX_AGE": "300"}
    )
    assert settings["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert settings["CONN_MAX_AGE"] == 300


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_POOL": "maybe"}, "DATABASE_POOL must be 1 or 0"),
        ({"DATABASE_POOL": "1", "DATABASE_POOL_MAX_SIZE": "lots"}, "DATABASE_POOL_MAX_SIZE"),
        ({"DATABASE_POOL": "1", "DATABASE_POOL_MAX_SIZE": "0"}, "from 1 to 100"),
        ({"DATABASE_POOL": "1", "DATABASE_POOL_MAX_SIZE": "-3"}, "DATABASE_POOL_MAX_SIZE"),
        ({"DATABASE_POOL": "1", "DATABASE_POOL_MAX_SIZE": "٣"}, "DATABASE_POOL_MAX_SIZE"),
        ({"DATABASE_POOL": "1", "DATABASE_POOL_TIMEOUT": "1.5"}, "DATABASE_POOL_TIMEOUT"),
        (
            {"DATABASE_POOL": "1", "DATABASE_POOL_MIN_SIZE": "9", "DATABASE_POOL_MAX_SIZE": "4"},
            "is larger than DATABASE_POOL_MAX_SIZE",
        ),
        ({"DATABASE_POOL": "1", "DATABASE_CONN_MAX_AGE": "60"}, "exclude each other"),
        ({"DATABASE_POOL_MAX_SIZE": "8"}, "DATABASE_POOL is not"),
        ({"DATABASE_CONN_MAX_AGE": "forever"}, "DATABASE_CONN_MAX_AGE"),
        ({"DATABASE_DISABLE_SERVER_SIDE_CURSORS": "2"}, "DATABASE_DISABLE_SERVER_SIDE_CURSORS"),
        ({"DATABASE_POOLSIZE": "8"}, "Unknown database setting: DATABASE_POOLSIZE"),
    ],
)
def test_a_bad_value_is_refused_with_the_variables_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        database_settings(POSTGRES, env)


def test_the_pool_is_refused_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL only"):
        database_settings(f"sqlite:///{tmp_path / 'x.sqlite3'}", {"DATABASE_POOL": "1"})


@pytest.mark.postgres_only
def test_a_pooled_connection_answers_and_goes_back_to_the_pool(django_db_blocker: Any) -> None:
    """A second handler on the test database with the pool switched on: a real psycopg_pool."""
    from django.conf import settings

    current = settings.DATABASES["default"]
    url = (
        f"postgres://{current['USER']}:{current['PASSWORD']}@{current['HOST']}:"
        f"{current['PORT']}/{current['NAME']}"
    )
    pooled = database_settings(url, {"DATABASE_POOL": "1", "DATABASE_POOL_MAX_SIZE": "2"})
    pooled["NAME"] = current["NAME"]  # the test database (test_…), not the configured one
    handler = ConnectionHandler({"default": pooled})
    connection = handler["default"]
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
            pool = connection.pool
            assert pool is not None and pool.max_size == 2
            connection.close()  # back to the pool, not closed
            assert pool.get_stats()["pool_available"] >= 1
        finally:
            connection.close_pool()


# --- the settings modules under environment variables (a fresh interpreter each) -----------

SHOW = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_options": settings.CACHES["default"].get("OPTIONS", {}),
    "session_engine": settings.SESSION_ENGINE,
    "pool": db.get("OPTIONS", {}).get("pool"),
    "conn_max_age": db["CONN_MAX_AGE"],
    "redirect_exempt": getattr(settings, "SECURE_REDIRECT_EXEMPT", []),
}))
"""


def _settings_in_a_new_process(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CACHE_", "DJANGO_")) and key != "SECRET_KEY"
    }
    clean.update(
        DJANGO_SETTINGS_MODULE=module,
        SECRET_KEY="s" * 64,
        DATABASE_URL=POSTGRES,  # parsed only: nothing connects
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _settings(module: str, **env: str) -> dict[str, Any]:
    done = _settings_in_a_new_process(module, **env)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_redis_cache_url_shares_the_cache_and_the_sessions() -> None:
    shown = _settings("config.settings.prod", CACHE_URL="redis://cache.internal:6379/0")
    assert shown["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["session_engine"] == CACHED_DB
    # A dead Redis fails a request in about a second rather than hanging a worker.
    assert shown["cache_options"] == {"socket_connect_timeout": 1, "socket_timeout": 1}


def test_without_a_cache_url_cache_and_sessions_stay_in_the_database() -> None:
    shown = _settings("config.settings.prod")
    assert shown["cache"] == "django.core.cache.backends.db.DatabaseCache"
    assert shown["session_engine"] == "django.contrib.sessions.backends.db"


def test_the_pool_switch_reaches_the_settings() -> None:
    shown = _settings("config.settings.prod", DATABASE_POOL="1", DATABASE_POOL_MAX_SIZE="6")
    assert shown["pool"] == {"min_size": 1, "max_size": 6, "timeout": 10}
    assert shown["conn_max_age"] == 0
    assert _settings("config.settings.prod")["pool"] is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_POOL": "1", "DATABASE_POOL_MAX_SIZE": "lots"}, "DATABASE_POOL_MAX_SIZE"),
        ({"DATABASE_POOL": "on please"}, "DATABASE_POOL must be 1 or 0"),
        ({"CACHE_URL": "memcached://:hunter2@cache.internal:11211"}, "CACHE_URL must be"),
    ],
)
def test_a_bad_value_stops_the_process_at_start_up(env: dict[str, str], message: str) -> None:
    done = _settings_in_a_new_process("config.settings.prod", **env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert message in done.stderr
    assert "hunter2" not in done.stderr  # a URL's password never reaches the logs


def test_health_checks_are_answered_over_plain_http_in_production(db: None) -> None:
    """The load balancer probes nodes over http:// without X-Forwarded-Proto."""
    exempt = _settings("config.settings.prod")["redirect_exempt"]
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=exempt):
        client = Client()
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/accounts/login/").status_code == 301  # everything else: https


# --- cached_db sessions: why they were chosen ------------------------------------------------


@override_settings(SESSION_ENGINE=CACHED_DB)
def test_a_cached_db_session_survives_the_cache_being_emptied(db: None) -> None:
    """A Redis restart (or eviction) must not sign anybody out."""
    client = Client()
    client.force_login(make_user("kept@example.org"))
    assert client.get("/account/security/").status_code == 200
    cache.clear()
    assert client.get("/account/security/").status_code == 200


@override_settings(SESSION_ENGINE=CACHED_DB)
def test_ending_a_cached_db_session_removes_the_cached_copy_too(db: None) -> None:
    """ "Sign out other sessions" and a login-email change end sessions through allauth's
    UserSession.end(), which uses the configured engine: the copy in Redis goes as well."""
    user = make_user("ended@example.org")
    client = Client()
    client.force_login(user)
    assert client.get("/account/security/").status_code == 200  # tracked in UserSession
    sessions = UserSession.objects.filter(user=user)
    assert sessions.count() == 1
    sessions.get().end()
    response = client.get("/account/security/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
