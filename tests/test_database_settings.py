"""The embedded SQLite database runs in WAL mode with IMMEDIATE write transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.utils import ConnectionHandler

from config.database import database_settings


def test_sqlite_opens_in_wal_mode_with_immediate_transactions(
    tmp_path: Path, django_db_blocker: Any
) -> None:
    """A separate database file, opened with the settings `make run` uses."""
    handler = ConnectionHandler(
        {"default": database_settings(f"sqlite:///{tmp_path / 'x.sqlite3'}")}
    )
    connection = handler["default"]
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                assert cursor.fetchone()[0] == "wal"
                cursor.execute("PRAGMA foreign_keys")
                assert cursor.fetchone()[0] == 1
            assert connection.transaction_mode == "IMMEDIATE"
        finally:
            connection.close()


def test_postgres_urls_get_health_checked_persistent_connections() -> None:
    settings = database_settings("postgres://app:secret@db.internal:5432/clientdesk")
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == (
        "db.internal",
        5432,
        "clientdesk",
    )
    assert settings["CONN_HEALTH_CHECKS"] is True
    assert settings["CONN_MAX_AGE"] == 60


def test_sqlite_keeps_its_connection_between_requests_too() -> None:
    """Closing the last connection to a WAL file checkpoints it: ~12 ms at the end of every
    request when SQLite connections were closed after each one."""
    assert database_settings("sqlite:////tmp/x.sqlite3")["CONN_MAX_AGE"] == 60
    custom = database_settings("sqlite:////tmp/x.sqlite3", {"DATABASE_CONN_MAX_AGE": "0"})
    assert custom["CONN_MAX_AGE"] == 0
