"""An anonymous staff pulse stored as surveys.periods stores it (this module has no tests).

Responses sit on their reporting period's first day with no time; `released` says whether
their batch was released. October is published (ended, frozen), November is open with one
released batch and two waiting, December holds two released responses: fewer than k (5).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from audiences.models import AudienceKind
from surveys.models import ReportingPeriod, Response, Survey
from tests.factories import make_audience
from tests.surveys.test_admin_support import add_response, survey_with_questions

OCTOBER = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
DECEMBER = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def add_period_responses(
    survey: Survey,
    period: tuple[dt.date, dt.date],
    answers: list[dict[str, Any]],
    *,
    released: bool = True,
    published: bool = False,
    segment: str = "",
) -> list[Response]:
    """Responses stored on the period's first day (no time), and the period's row."""
    starts_on, ends_on = period
    row, _ = ReportingPeriod.objects.get_or_create(
        survey=survey, starts_on=starts_on, defaults={"ends_on": ends_on}
    )
    noon = dt.datetime.combine(starts_on, dt.time(9), tzinfo=dt.UTC)
    made = [add_response(survey, given, segment=segment, completed_at=noon) for given in answers]
    Response.objects.filter(pk__in=[r.pk for r in made]).update(
        completed_on=starts_on, completed_at=None, started_at=None, released=released
    )
    if released:
        row.released += len(made)
    if published:
        row.published_at = timezone.now()
    row.save()
    return made


@dataclass
class Pulse:
    survey: Survey
    october: list[Response]
    november: list[Response]


def staff_pulse(audience: Any = None) -> Pulse:
    """The anonymous pulse: Visit's questions (NPS, reason, improve) for an employee audience.

    October (published): 6 released answers, 5 with a reason, 5 comments, 2 in "legal", and one
    waiting (never released: it came after publication). November (open): 5 released, 2 waiting.
    December (open): 2 released, under k.
    """
    audience = audience or make_audience("employees", AudienceKind.EMPLOYEE, name="Staff")
    survey = survey_with_questions(audience, name="Pulse", anonymous=True)
    october = add_period_responses(
        survey,
        OCTOBER,
        [
            {"nps": 10, "reason": "price", "improve": "Daha çok eğitim"},
            {"nps": 9, "reason": "speed", "improve": "Esnek saatler"},
            {"nps": 9, "reason": "price", "improve": "Yöneticim dinlemiyor"},
            {"nps": 6, "reason": "price", "improve": "Maaşlar düşük"},
            {"nps": 3, "reason": "speed", "improve": '=HYPERLINK("http://x")'},
        ],
        published=True,
        segment="sales",
    )
    october += add_period_responses(survey, OCTOBER, [{"nps": 0}], published=True, segment="legal")
    add_period_responses(survey, OCTOBER, [{"nps": 0, "improve": "late and alone"}], released=False)
    november = add_period_responses(
        survey, NOVEMBER, [{"nps": 8, "reason": "speed", "improve": "Kasım notu"}] * 5
    )
    add_period_responses(survey, NOVEMBER, [{"nps": 1, "improve": "waiting"}] * 2, released=False)
    add_period_responses(survey, DECEMBER, [{"nps": 2, "improve": "December alone"}] * 2)
    return Pulse(survey=survey, october=october, november=november)


OCTOBER_COMMENTS = [
    '=HYPERLINK("http://x")',
    "Daha çok eğitim",
    "Esnek saatler",
    "Maaşlar düşük",
    "Yöneticim dinlemiyor",
]
