"""People search: a stored, folded search column and, on PostgreSQL, its trigram index.

`search_text` is a generated column (the database keeps it on every write, whoever writes);
on PostgreSQL a GIN trigram index on it serves `LIKE '%…%'` (audiences.search), built
CONCURRENTLY so people keep being written while it builds. pg_trgm ships with PostgreSQL and is
a trusted extension (13+): the database's owner may create it. Other databases scan the column.
"""

import django.contrib.postgres.operations
from django.db import migrations, models

import xmplatform.core.search

INDEX = "person_search_trgm"


def create(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON audiences_person "
        "USING gin (search_text gin_trgm_ops)"
    )


def drop(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audiences", "0007_person_erasure_in_two_steps"),
    ]

    operations = [
        django.contrib.postgres.operations.TrigramExtension(),
        migrations.AddField(
            model_name="person",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=xmplatform.core.search.Joined(
                    xmplatform.core.search.Fold(models.F("name")),
                    xmplatform.core.search.Fold(models.F("email")),
                    xmplatform.core.search.Fold(models.F("external_id")),
                    xmplatform.core.search.StripPhone(models.F("phone")),
                ),
                output_field=models.TextField(),
                verbose_name="search text",
            ),
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
