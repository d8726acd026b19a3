"""Drop the single-column indexes on ``customers_contact.customer_id`` and ``.user_id``:
``customers_contact_list_idx`` starts with customer_id and ``customers_contact_user_idx``
with user_id, so they serve every lookup, and each contact written updates two indexes
fewer.

The indexes are dropped by name. Django's own AlterField would, on PostgreSQL, also drop
the partial unique index on customer_id (one owner per customer), and on SQLite remake the
table; neither is wanted.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {
    "customers_contact_customer_id_b9afc0da": "customer_id",
    "customers_contact_user_id_c5d50741": "user_id",
}


def drop_indexes(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create_indexes(apps, schema_editor):
    for name, column in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON customers_contact ({column})")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0011_search_word_dictionary_postgres"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contacts",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="contacts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_indexes, create_indexes, elidable=False)
            ],
        )
    ]
