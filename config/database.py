"""The database settings for a DATABASE_URL (SQLite embedded, PostgreSQL in production).

Several app nodes against one PostgreSQL add a few switches, each from an environment
variable (``config.settings.base`` passes them in; docs/operations.md, "Scale-out"):

- ``DATABASE_POOL=1``: Django's own connection pool (psycopg_pool) in each process, sized by
  ``DATABASE_POOL_MIN_SIZE`` (1), ``DATABASE_POOL_MAX_SIZE`` (4) and
  ``DATABASE_POOL_TIMEOUT`` (10 s to wait for a free connection). A pool replaces persistent
  connections, so ``CONN_MAX_AGE`` becomes 0 (Django refuses both at once).
- ``DATABASE_CONN_MAX_AGE``: seconds a process keeps its connection without a pool (60).
- ``DATABASE_DISABLE_SERVER_SIDE_CURSORS=1``: behind PgBouncer in transaction mode, where a
  cursor declared in one transaction may be fetched on another server connection.

A value that does not parse stops the process at start-up with the variable's name, rather
than running with a default nobody chose.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# The variables ``database_settings`` reads from its ``env`` mapping.
DATABASE_VARIABLES = (
    "DATABASE_POOL",
    "DATABASE_POOL_MIN_SIZE",
    "DATABASE_POOL_MAX_SIZE",
    "DATABASE_POOL_TIMEOUT",
    "DATABASE_CONN_MAX_AGE",
    "DATABASE_DISABLE_SERVER_SIDE_CURSORS",
)
DEFAULT_CONN_MAX_AGE = 60
POOL_DEFAULTS = {"min_size": 1, "max_size": 4, "timeout": 10}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def database_settings(url: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``DATABASES["default"]`` for ``url``; ``env`` holds the ``DATABASE_*`` switches above
    (missing or empty: the default)."""
    env = {name: value.strip() for name, value in (env or {}).items() if value.strip()}
    unknown = sorted(set(env) - set(DATABASE_VARIABLES))
    if unknown:
        raise ImproperlyConfigured(f"Unknown database setting: {', '.join(unknown)}.")
    pool = _flag(env, "DATABASE_POOL")
    conn_max_age = _whole(env, "DATABASE_CONN_MAX_AGE", DEFAULT_CONN_MAX_AGE, 0, 24 * 3600)
    settings: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=conn_max_age))
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        if pool:
            raise ImproperlyConfigured(
                "DATABASE_POOL works with PostgreSQL only; SQLite is one file on one machine."
            )
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so
        # two writers queue on busy_timeout instead of failing with "database is locked"
        # half-way through a transaction. The connection is kept like PostgreSQL's
        # (CONN_MAX_AGE): closing the last connection to a WAL file checkpoints it, which
        # cost ~12 ms at the end of every request (manage.py bench).
        settings["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
            ),
        }
        return settings
    settings["CONN_HEALTH_CHECKS"] = True
    if pool:
        settings["OPTIONS"] = {**settings.get("OPTIONS", {}), "pool": _pool_options(env)}
        settings["CONN_MAX_AGE"] = 0
    else:
        sized = [name for name in env if name.startswith("DATABASE_POOL_")]
        if sized:
            raise ImproperlyConfigured(
                f"{sized[0]} is set but DATABASE_POOL is not: set DATABASE_POOL=1 to use the pool."
            )
    if _flag(env, "DATABASE_DISABLE_SERVER_SIDE_CURSORS"):
        settings["DISABLE_SERVER_SIDE_CURSORS"] = True
    return settings


def _pool_options(env: Mapping[str, str]) -> dict[str, int]:
    if "DATABASE_CONN_MAX_AGE" in env and env["DATABASE_CONN_MAX_AGE"] != "0":
        raise ImproperlyConfigured(
            "DATABASE_POOL and DATABASE_CONN_MAX_AGE exclude each other: a pooled connection "
            "goes back to the pool after each request. Unset DATABASE_CONN_MAX_AGE."
        )
    if importlib.util.find_spec("psycopg_pool") is None:
        raise ImproperlyConfigured("DATABASE_POOL=1 needs psycopg_pool (psycopg[pool]).")
    options = {
        "min_size": _whole(env, "DATABASE_POOL_MIN_SIZE", POOL_DEFAULTS["min_size"], 0, 100),
        "max_size": _whole(env, "DATABASE_POOL_MAX_SIZE", POOL_DEFAULTS["max_size"], 1, 100),
        "timeout": _whole(env, "DATABASE_POOL_TIMEOUT", POOL_DEFAULTS["timeout"], 1, 300),
    }
    if options["min_size"] > options["max_size"]:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MIN_SIZE ({options['min_size']}) is larger than "
            f"DATABASE_POOL_MAX_SIZE ({options['max_size']})."
        )
    return options


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").lower()
    if not value or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise ImproperlyConfigured(f"{name} must be 1 or 0 (true/false), not {env[name]!r}.")


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = env.get(name, "")
    if not value:
        return default
    if not (value.isascii() and value.isdecimal()) or not low <= int(value) <= high:
        raise ImproperlyConfigured(
            f"{name} must be a whole number from {low} to {high}, not {value!r}."
        )
    return int(value)
