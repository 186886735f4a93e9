"""Template tags for the survey change page: what its reporting period currently resolves to."""

from django.template import Library
from django.utils import dateformat, formats, timezone
from django.utils.translation import gettext

from surveys import periods
from surveys.models import DistributionRule, ReportingPeriodKind, RuleKind, Survey

register = Library()


@register.simple_tag
def reporting_period_now(survey: Survey | None) -> str:
    """`{% reporting_period_now original as text %}`: for an automatic or wave reporting period,
    what it resolves to today and why, as surveys.periods decides it ("" for other kinds and
    on the add page).

    Automatic means the wave when the survey has a wave rule, else the calendar month; a wave
    that never ran, or whose period is over, leaves the calendar month until the next run.
    Two or three small queries (the latest wave run, twice; whether a wave rule exists).
    """
    kind = getattr(survey, "reporting_period", None)
    if (
        survey is None
        or survey.pk is None
        or kind
        not in (
            ReportingPeriodKind.AUTO,
            ReportingPeriodKind.WAVE,
        )
    ):
        return ""
    today = timezone.localdate()
    start, end = periods._bounds(survey, today)
    month = periods.period_bounds(kind=ReportingPeriodKind.MONTH, day=today)
    if (start, end) != month:
        return gettext("Currently: the wave that started on %(start)s, until %(end)s.") % {
            "start": formats.date_format(start, "DATE_FORMAT"),
            "end": formats.date_format(end, "DATE_FORMAT"),
        }
    named = {"month": dateformat.format(month[0], "F Y")}
    if periods._latest_wave_run(survey) is not None:
        return (
            gettext(
                "Currently: the calendar month (%(month)s), until the next wave runs: the latest "
                "wave's period is over."
            )
            % named
        )
    if DistributionRule.objects.filter(survey_id=survey.pk, kind=RuleKind.WAVE).exists():
        return (
            gettext("Currently: the calendar month (%(month)s), because no wave has run yet.")
            % named
        )
    return (
        gettext("Currently: the calendar month (%(month)s), because the survey has no wave rule.")
        % named
    )
