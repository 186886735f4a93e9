"""Return on Experience with margins: each answer outcome says whether a referred purchase
followed, and the daily outcomes keep Σ spend² and the referred answers. Rows already filed are
filled in from the touchpoint events (the same rule as `metrics.selectors.outcomes_after`)."""

from django.db import migrations, models
from django.db.models import Count, Exists, F, OuterRef, Q, Sum

REFERRAL = "referral"  # journeys.models.TouchpointRole.REFERRAL


def fill(apps, schema_editor):  # noqa: ANN001, ANN201 - a migration's signature
    answer_outcome = apps.get_model("metrics", "AnswerOutcome")
    daily_outcome = apps.get_model("metrics", "DailyOutcome")
    event = apps.get_model("journeys", "TouchpointEvent")
    referred = event.objects.filter(
        person_id=OuterRef("person_id"),
        touchpoint__stage__journey__audience_id=OuterRef("audience_id"),
        touchpoint__role=REFERRAL,
        occurred_at__gt=OuterRef("completed_at"),
    )
    answer_outcome.objects.update(referred=Exists(referred))
    keys = ("day", "audience_id", "survey_id", "segment")
    for row in daily_outcome.objects.values("pk", "category", *keys).iterator():
        number = (
            Q(number__gte=9)
            if row["category"] == "promoter"
            else (
                Q(number__gte=7, number__lte=8)
                if row["category"] == "passive"
                else Q(number__lte=6)
            )
        )
        sums = answer_outcome.objects.filter(number, **{key: row[key] for key in keys}).aggregate(
            referred=Count("id", filter=Q(referred=True)), sumsq=Sum(F("spend") * F("spend"))
        )
        daily_outcome.objects.filter(pk=row["pk"]).update(
            referred=sums["referred"] or 0, spend_sumsq=sums["sumsq"] or 0.0
        )


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0012_alert_rule_topic"),
        ("journeys", "0002_event_indexes_for_ingestion"),
    ]

    operations = [
        migrations.AddField(
            model_name="answeroutcome",
            name="referred",
            field=models.BooleanField(default=False, verbose_name="referred after"),
        ),
        migrations.AddField(
            model_name="dailyoutcome",
            name="referred",
            field=models.PositiveIntegerField(default=0, verbose_name="referred after"),
        ),
        migrations.AddField(
            model_name="dailyoutcome",
            name="spend_sumsq",
            field=models.FloatField(default=0.0, verbose_name="spend after, sum of squares"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
