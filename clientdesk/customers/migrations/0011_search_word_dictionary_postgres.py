"""PostgreSQL's dictionary of words in names for the typo-tolerant "similar names" search
(``customers/search_similar.py``): a table of distinct words per kind of name with a trigram
index, kept by triggers. SQLite has its dictionary in the fts5vocab tables of 0010."""

from django.db import migrations

from clientdesk.customers import search_sql


class Migration(migrations.Migration):
    dependencies = [("customers", "0010_search_word_index")]

    operations = [
        migrations.RunPython(
            search_sql.create_pg_word_dictionary,
            search_sql.drop_pg_word_dictionary,
            elidable=False,
        )
    ]
