"""Existing anonymous responses take the shape surveys.periods gives new ones.

Each completed anonymous response moves to the first day of its calendar period (the month,
or the week or quarter its survey asks for: waves are known only from the next run on), loses
its start and completion times, and is marked announced and checked on that day; unfinished
ones lose their start time and wait unreleased. Invitations of anonymous surveys say they were
answered at midnight UTC of the first day of the month (week, quarter) they were answered in.
One period row per (survey, first day); a period keeps its responses released only when it
holds at least k of them (the audience's anonymity threshold, at least 3): the others wait for
more (the open period) or are never shown (a period already over, published now).

A fixed number of statements per period kind, plus one grouped read and the period inserts.
"""

import datetime

from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import Cast, TruncMonth, TruncQuarter, TruncWeek
from django.utils import timezone

DAY = datetime.timedelta(days=1)
TRUNC = {"week": TruncWeek, "quarter": TruncQuarter}  # auto, wave and month: the month
OR_CHUNK = 200


def _end(kind: str, start: datetime.date) -> datetime.date:
    """The last day of the period of `kind` starting on `start` (as surveys.periods)."""
    if kind == "week":
        return start + 6 * DAY
    months = 3 if kind == "quarter" else 1
    month = start.month - 1 + months
    return datetime.date(start.year + month // 12, month % 12 + 1, 1) - DAY


def forward(apps, schema_editor) -> None:  # noqa: ANN001
    Survey = apps.get_model("surveys", "Survey")
    Response = apps.get_model("surveys", "Response")
    Invitation = apps.get_model("surveys", "Invitation")
    ReportingPeriod = apps.get_model("surveys", "ReportingPeriod")
    now = timezone.now()
    today = now.astimezone(datetime.UTC).date()

    kinds = set(
        Survey.objects.filter(anonymous=True).values_list("reporting_period", flat=True).distinct()
    )
    for kind in {TRUNC.get(k, TruncMonth) for k in kinds}:
        names = [k for k in kinds if TRUNC.get(k, TruncMonth) is kind]
        mine = Q(survey__anonymous=True, survey__reporting_period__in=names)
        Response.objects.filter(mine, completed_on__isnull=True).update(
            started_at=None, completed_at=None, released=False
        )
        Response.objects.filter(mine, completed_on__isnull=False).update(
            completed_on=kind("completed_on"),
            completed_at=None,
            started_at=None,
            announced_on=kind("completed_on"),
            alerts_checked_at=Cast(kind("completed_on"), models.DateTimeField()),
        )
        Invitation.objects.filter(mine, responded_at__isnull=False).update(
            responded_at=kind("responded_at", tzinfo=datetime.UTC)
        )

    groups = (
        Response.objects.filter(survey__anonymous=True, completed_on__isnull=False)
        .values(
            "survey_id",
            "completed_on",
            "survey__reporting_period",
            "survey__audience__anonymity_threshold",
        )
        .annotate(n=Count("id"))
        .order_by("survey_id", "completed_on")
    )
    periods, held_back = [], []
    for row in groups:
        start, n = row["completed_on"], row["n"]
        k = max(3, row["survey__audience__anonymity_threshold"])
        end = _end(row["survey__reporting_period"], start)
        periods.append(
            ReportingPeriod(
                survey_id=row["survey_id"],
                starts_on=start,
                ends_on=end,
                released=n if n >= k else 0,
                published_at=now if end < today else None,
            )
        )
        if n < k:
            held_back.append(Q(survey_id=row["survey_id"], completed_on=start))
    ReportingPeriod.objects.bulk_create(periods, batch_size=500, ignore_conflicts=True)
    for i in range(0, len(held_back), OR_CHUNK):
        chunk = Q()
        for q in held_back[i : i + OR_CHUNK]:
            chunk |= q
        Response.objects.filter(chunk).update(released=False)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0007_reporting_periods"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
