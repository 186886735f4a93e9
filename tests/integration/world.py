"""The cast of the fault drills (this module has no tests).

One customer audience in three groups that never meet, so that no fatigue rule links them:
respondents (`respondent` segment) hold sent invitations to a one-page NPS survey with a
detractor alert rule; trigger people (`trigger`) have a touchpoint whose events plan a CSAT
invitation each; wave people (`wave`) are the sample frame of a wave rule. A webhook takes
`response.completed` and `alert.opened`; an API key records events.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import requests

from audiences.models import Audience, Membership, Person
from journeys.models import Touchpoint
from metrics.models import AlertRule, NotifyMode, RuleCondition
from surveys.models import (
    DistributionRule,
    FatiguePolicy,
    Question,
    QuestionType,
    RuleKind,
    Survey,
    SurveyStatus,
)
from surveys.services import invitation_create
from tests.factories import make_audience, make_touchpoint
from xmplatform.api.models import Webhook
from xmplatform.api.services import api_key_create

THANKS = "Thanks for telling us!"  # the survey's own thank-you text
# The survey's own text is the thank-you page's heading; "already answered" heads the other.
FIRST_THANKS = f'<h2 id="message-heading">{THANKS}</h2>'  # not "You have already answered"
WEBHOOK_SECRET = "drill-secret-0123456789abcdef"  # noqa: S105 - a test receiver's secret


@dataclass
class DrillWorld:
    audience: Audience
    touchpoint: Touchpoint
    hosted: Survey
    trigger_rule: DistributionRule
    wave_rule: DistributionRule
    api_key: str
    tokens: list[str] = field(default_factory=list)
    trigger_people: list[str] = field(default_factory=list)
    wave_people: list[int] = field(default_factory=list)


def _people(audience: Audience, prefix: str, count: int) -> list[Person]:
    people = Person.objects.bulk_create(
        Person(
            external_id=f"{prefix}-{i}",
            email=f"{prefix}-{i}@example.com",
            language="en",
            time_zone="UTC",
        )
        for i in range(count)
    )
    Membership.objects.bulk_create(
        Membership(person=p, audience=audience, segment=prefix) for p in people
    )
    return people


def _survey(audience: Audience, name: str, **extra: object) -> Survey:
    survey = Survey.objects.create(
        audience=audience,
        name=name,
        status=SurveyStatus.LIVE,
        title={"en": name, "tr": name},
        thank_you={"en": THANKS, "tr": "Bize anlattığınız için teşekkürler!"},
        default_language="en",
        languages=["en", "tr"],
        **extra,
    )
    Question.objects.create(
        survey=survey,
        key="nps",
        type=QuestionType.NPS,
        page=1,
        order=1,
        label={"en": "How likely are you to recommend us?", "tr": "Bizi tavsiye eder misiniz?"},
    )
    return survey


def drill_world(
    *,
    respondents: int = 0,
    trigger_people: int = 0,
    wave_people: int = 0,
    wave_share: float = 1.0,
    webhook_url: str = "",
) -> DrillWorld:
    """Build the cast; `respondents` invitation tokens are kept on the world, in order."""
    audience = make_audience("customers", name="Customers")
    # No quiet hours (drills run at any hour) and no frequency limit across the groups.
    FatiguePolicy.objects.create(
        audience=None, quiet_start=dt.time(0), quiet_end=dt.time(0), min_gap_days=0
    )
    touchpoint = make_touchpoint(audience, slug="checkout")
    hosted = _survey(audience, "Relationship NPS")
    AlertRule.objects.create(
        audience=audience,
        name="Detractor callback",
        condition=RuleCondition.ANSWER_AT_MOST,
        question_type=QuestionType.NPS,
        threshold=6,
        notify=NotifyMode.IMMEDIATE,
        sla=dt.timedelta(hours=24),
        cooldown=dt.timedelta(0),  # an e-mail per alert (no digest): each one is counted
    )
    trigger_rule = DistributionRule.objects.create(
        survey=_survey(audience, "Checkout CSAT", touchpoint=touchpoint),
        name="After checkout",
        kind=RuleKind.TRIGGER,
        touchpoint=touchpoint,
        channels=["email"],
    )
    wave_rule = DistributionRule.objects.create(
        survey=_survey(audience, "Quarterly wave"),
        name="Quarterly wave",
        kind=RuleKind.WAVE,
        segment="wave",
        sample_share=wave_share,
        channels=["email"],
    )
    if webhook_url:
        Webhook.objects.create(
            name="CRM",
            url=webhook_url,
            secret=WEBHOOK_SECRET,
            events=["response.completed", "alert.opened"],
        )
    world = DrillWorld(
        audience=audience,
        touchpoint=touchpoint,
        hosted=hosted,
        trigger_rule=trigger_rule,
        wave_rule=wave_rule,
        api_key=api_key_create(name="Shop")[1],
    )
    for person in _people(audience, "respondent", respondents):
        world.tokens.append(
            invitation_create(survey=hosted, person=person, channel="email", state="sent")[1]
        )
    world.trigger_people = [p.external_id for p in _people(audience, "trigger", trigger_people)]
    world.wave_people = [p.pk for p in _people(audience, "wave", wave_people)]
    return world


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def answer_over_http(
    base: str, token: str, nps: int, *, language: str = "en", timeout: float = 10
) -> requests.Response:
    """A respondent's browser: open the invitation, post the one page; the final response."""
    browser = requests.Session()
    page = browser.get(f"{base}/s/{token}/", timeout=timeout, headers={"Accept-Language": language})
    form = CSRF.search(page.text)
    if page.status_code != 200 or form is None:
        return page  # an error, or the thank-you page of an invitation already answered
    return browser.post(
        f"{base}/s/{token}/",
        data={
            "csrfmiddlewaretoken": form[1],
            "page": "1",
            "lang": language,
            "q-nps": str(nps),
        },
        timeout=timeout,
        headers={"Accept-Language": language},
    )


def events_over_http(
    base: str, key: str, people: list[str], *, timeout: float = 10
) -> requests.Response:
    """One POST /api/v1/events/ with a checkout event per person (idempotent by person)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    return requests.post(
        f"{base}/api/v1/events/",
        json=[
            {
                "person": person,
                "touchpoint": "checkout",
                "occurred_at": now,
                "idempotency_key": f"checkout-{person}",
            }
            for person in people
        ],
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout,
    )
