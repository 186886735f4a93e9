"""Reads of anonymous surveys go through metrics.privacy; named scores are exact and fresh.

- PublishedScore is dropped: no score is held at an older value any more (reads never write).
- DailyRollup and Verbatim say whether their survey is anonymous (set for the existing rows).
- RollupState keeps how far the rollups are complete (its one row is created here, from the
  rollups already there: the day before their last full day, so the next rollup run confirms it).
"""

import datetime as dt

from django.db import migrations, models


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201
    Survey = apps.get_model("surveys", "Survey")
    DailyRollup = apps.get_model("metrics", "DailyRollup")
    Verbatim = apps.get_model("metrics", "Verbatim")
    RollupState = apps.get_model("metrics", "RollupState")
    anonymous = Survey.objects.filter(anonymous=True).values("pk")
    DailyRollup.objects.filter(survey_id__in=anonymous).update(anonymous=True)
    Verbatim.objects.filter(survey_id__in=anonymous).update(anonymous=True)
    last = DailyRollup.objects.aggregate(last=models.Max("day"))["last"]
    through = None
    if last is not None:
        # The periodic task rolls up yesterday, today and tomorrow: two days back from the
        # newest row (and never later than the day before yesterday) were rolled after they ended.
        through = min(last, dt.date.today()) - dt.timedelta(days=2)
    RollupState.objects.get_or_create(pk=1, defaults={"complete_through": through})


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0008_operations_snapshots"),
        ("surveys", "0007_reporting_periods"),
    ]

    operations = [
        migrations.DeleteModel(name="PublishedScore"),
        migrations.AddField(
            model_name="dailyrollup",
            name="anonymous",
            field=models.BooleanField(default=False, verbose_name="anonymous survey"),
        ),
        migrations.AddField(
            model_name="verbatim",
            name="anonymous",
            field=models.BooleanField(default=False, verbose_name="anonymous survey"),
        ),
        migrations.CreateModel(
            name="RollupState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "complete_through",
                    models.DateField(blank=True, null=True, verbose_name="complete through"),
                ),
                (
                    "rolled_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last rolled up"),
                ),
            ],
            options={"verbose_name": "rollup state", "verbose_name_plural": "rollup state"},
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
