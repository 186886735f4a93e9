import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0004_scoped_list_indexes"),
        ("journeys", "0002_event_indexes_for_ingestion"),
        ("surveys", "0003_invitation_survey_due_index"),
    ]

    operations = [
        # Responses from before this migration count as checked (their rules ran, or they are
        # history), so the reconciler starts with nothing to catch up. The one-off default is
        # the migration's time: PostgreSQL stores a constant default in the catalogue, with no
        # rewrite of the table and no UPDATE of its rows, then drops it; new rows start empty.
        migrations.AddField(
            model_name="response",
            name="alerts_checked_at",
            field=models.DateTimeField(
                blank=True,
                default=django.utils.timezone.now,
                editable=False,
                null=True,
                verbose_name="alert rules checked",
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                condition=models.Q(
                    ("alerts_checked_at__isnull", True), ("completed_on__isnull", False)
                ),
                fields=["completed_at"],
                name="response_alerts_unchecked",
            ),
        ),
    ]
