"""SQLite word indexes for the typo-tolerant "similar names" search: the customer and
contact names split into words, with ``fts5vocab`` tables as the dictionary a misspelt word
is corrected against (``customers/search_similar.py``). PostgreSQL needs nothing new: its
``pg_trgm`` indexes from 0007 answer similarity queries."""

from django.db import migrations

from clientdesk.customers import search_sql


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_customer_anonymised_at_customer_closed_at_and_more")]

    operations = [
        migrations.RunPython(
            search_sql.rebuild_sqlite_word_index,
            search_sql.drop_sqlite_word_index,
            elidable=False,
        )
    ]
