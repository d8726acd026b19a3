"""Indexes for the staff search (``customers/search.py``), one set per database.

SQLite: two contentless FTS5 tables with the trigram tokenizer (infix matches on names),
kept in step with ``customers_customer`` and ``customers_contact`` by triggers, plus B-tree
indexes on lower-cased names for prefix matches.

PostgreSQL: ``pg_trgm`` GIN indexes on the same name expressions (infix), and B-tree
indexes in the "C" collation (byte order, so a prefix is a range) for prefix matches.

Both: exact-match indexes for phone numbers, registration numbers and TINs. The SQL for
the name expressions lives in ``customers/search_sql.py`` so the queries and the indexes
cannot drift apart.
"""

from django.db import migrations

from clientdesk.customers import search_sql


def forwards(apps, schema_editor):
    statements = search_sql.CREATE[schema_editor.connection.vendor]
    for statement in statements:
        schema_editor.execute(statement)
    if schema_editor.connection.vendor == "sqlite":
        # Index the rows that already exist (the triggers cover new ones).
        for statement in search_sql.SQLITE_BACKFILL:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    for statement in search_sql.DROP[schema_editor.connection.vendor]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_staff_notes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
