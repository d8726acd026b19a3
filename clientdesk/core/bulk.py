"""Bulk writes for generated and imported rows: ``COPY`` on PostgreSQL, ``executemany`` on
SQLite, each row built from a template of the model's defaults.

Bulk SQL gets no help from the ORM: every column must be given, each value prepared as its
field would prepare it. ``BulkRows`` does that once per model, so a million rows cost a list
copy and a few assignments each (the data set generator and the customer import use it).
"""

from __future__ import annotations

from typing import Any

from django.db import connection as default_connection
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class BulkRows:
    """Full rows for one model from a few values, every other column at its default. Rows
    are lists in column order. ``given_id=False`` leaves the primary key to the database."""

    def __init__(
        self,
        model: type[models.Model],
        *,
        db: BaseDatabaseWrapper | None = None,
        given_id: bool = True,
    ) -> None:
        self.db: Any = db or default_connection
        fields = [f for f in model._meta.concrete_fields if given_id or f is not model._meta.pk]
        self.model = model
        self.table = model._meta.db_table
        self.columns = [str(f.column) for f in fields]
        self.position = {f.attname: index for index, f in enumerate(fields)}
        self.fields = {f.attname: f for f in fields}
        self.template = [f.get_db_prep_save(f.get_default(), self.db) for f in fields]

    def prepare(self, name: str, value: Any) -> Any:
        """``value`` as the database takes it for field ``name`` (JSON encoded, for example)."""
        return self.fields[name].get_db_prep_save(value, self.db)

    def set(self, **values: Any) -> None:
        """Give every row built from now on these (prepared) values."""
        for name, value in values.items():
            self.template[self.position[name]] = value

    def row(self, values: dict[str, Any]) -> list[Any]:
        row = self.template.copy()
        position = self.position
        for name, value in values.items():
            row[position[name]] = value
        return row

    def write(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        quote = self.db.ops.quote_name
        table, columns = quote(self.table), ", ".join(quote(c) for c in self.columns)
        if self.db.vendor == "postgresql":
            with (
                self.db.connection.cursor() as cursor,  # psycopg's own cursor, for COPY
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(self.columns))
        with self.db.cursor() as cursor:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 -- model names
            cursor.executemany(sql, rows)
