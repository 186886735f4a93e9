import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0004_scoped_list_indexes"),
        ("journeys", "0002_event_indexes_for_ingestion"),
        ("surveys", "0005_fatigue_one_global_portable"),
    ]

    operations = [
        # Responses from before this migration count as announced, so the reconciler starts
        # with nothing to catch up. As in 0004, the one-off default is stored in PostgreSQL's
        # catalogue (no table rewrite, no UPDATE) and dropped; new rows start empty.
        migrations.AddField(
            model_name="response",
            name="announced_on",
            field=models.DateField(
                blank=True,
                default=django.utils.timezone.localdate,
                editable=False,
                null=True,
                verbose_name="announced",
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                condition=models.Q(("announced_on__isnull", True), ("completed_on__isnull", False)),
                fields=["completed_on"],
                name="response_unannounced",
            ),
        ),
    ]
