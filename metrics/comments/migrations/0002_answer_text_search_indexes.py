"""GIN indexes for the full-text search of comments on PostgreSQL (metrics.comments.search).

The text lives in surveys' answers, so the indexes are on that table: one per text search
configuration, on exactly the expression the search filters on
(`to_tsvector('<config>'::regconfig, COALESCE(text, ''))`). Built CONCURRENTLY (so the
migration does not block answers being written) and only on PostgreSQL; other databases
search the comments' stems instead.
"""

from django.db import migrations

CONFIGS = ("turkish", "english")


def _name(config: str) -> str:
    return f"comments_answer_{config[:2]}_tsv"


def create(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    for config in CONFIGS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_name(config)} ON surveys_answer "
            f"USING gin (to_tsvector('{config}'::regconfig, COALESCE(text, '')))"
        )


def drop(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    for config in CONFIGS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_name(config)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("comments", "0001_comments_topics_sentiment"),
        ("surveys", "0011_response_markers_dropped"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
