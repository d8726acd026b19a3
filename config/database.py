"""The database settings for a DATABASE_URL (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from typing import Any

import dj_database_url


def database_settings(url: str) -> dict[str, Any]:
    settings: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so
        # two writers queue on busy_timeout instead of failing with "database is locked"
        # half-way through a transaction.
        settings["CONN_MAX_AGE"] = 0
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
    else:
        settings["CONN_HEALTH_CHECKS"] = True
    return settings
