"""What the demo seeds: its surveys (DemoSurvey), and when the quarterly pulse's wave ran."""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings

from audiences.models import Channel
from journeys.models import TouchpointRole

BATCH = 1000
WINDOW_DAYS = 90
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)

# The quarterly pulse's wave rule (DEMO_RULES): when it runs, how many it sends an hour, how
# long its invitations last (its reporting period: the run day and the 13 after).
PULSE_HOUR = 9
PULSE_MONTHS = (1, 4, 7, 10)
PULSE_HOURLY_CAP = 200
PULSE_EXPIRY_DAYS = 14


@dataclass(frozen=True)
class DemoSurvey:
    audience: str
    template: str
    name: str
    share: float  # of the audience's members invited (a wave invites every current member)
    touchpoint_role: str | None = None  # the survey is about the first touchpoint in this role
    mood: float = 0.7  # mean sentiment, 0 (awful) … 1 (delighted)
    channels: tuple[str, ...] = (Channel.EMAIL,)
    # Planned this long before it was due (a trigger's delay; a wave's invitations are planned
    # at the run, due in hourly batches).
    lead: datetime.timedelta = HOUR
    # > 0: sent as the quarterly wave, its last `waves` runs up to now, instead of spread.
    waves: int = 0
    participation: float = 0.55  # of the invitations answered (a wave's varies a little)
    # Which comments its respondents write: "customer" or "employee" (TEXTS, EMPLOYEE_TEXTS),
    # "checkout" (story_texts: delivery, price or support, in the tone of the CSAT answer).
    texts: str = "customer"
    text_share: float = 0.6  # of respondents shown a free-text question who write something
    question_moods: tuple[tuple[str, float], ...] = ()  # a question's offset from the mood
    segment_spread: float = 0.1  # the best segment this much above the mood, the worst below
    # Times the respondent's store climate (audiences.demo.STORES) added to the mood: a
    # store's employees and customers feel alike (EX drives CX).
    store_effect: float = 0.0
    # The customers' NPS story (surveys.demo.story): driver ratings, context and outcomes.
    story: bool = False


DEMO_SURVEYS = (
    DemoSurvey(
        "customers",
        "relationship_nps",
        "Customer relationship NPS",
        0.45,
        mood=0.8,
        store_effect=1.2,
        story=True,
    ),
    DemoSurvey(
        "customers",
        "transactional_csat",
        "Checkout satisfaction (CSAT)",
        0.3,
        touchpoint_role=TouchpointRole.PURCHASE,
        mood=0.8,
        channels=(Channel.EMAIL, Channel.SMS),
        store_effect=0.6,
        texts="checkout",
    ),
    DemoSurvey(
        "customers",
        "support_ces",
        "Support effort (CES)",
        0.15,
        touchpoint_role=TouchpointRole.SUPPORT_REQUEST,
        mood=0.7,
        lead=2 * HOUR,
    ),
    DemoSurvey(
        "employees",
        "employee_pulse",
        "Employee engagement pulse",
        1.0,
        mood=0.79,
        channels=(Channel.EMAIL,),  # the wave's channel: work e-mail only
        waves=3,
        participation=0.68,
        texts="employee",
        text_share=0.4,
        # Stores (the employees' segment) differ by their climate, not by their name.
        segment_spread=0.0,
        store_effect=1.5,
        # Proud and supported by their managers, less sure about growth and the workload.
        question_moods=(("proud", 0.05), ("manager", 0.03), ("growth", -0.06), ("workload", -0.1)),
    ),
    DemoSurvey("fans", "fan_experience", "Match-day experience", 0.3, mood=0.8),
    DemoSurvey("suppliers", "supplier_satisfaction", "Supplier satisfaction", 0.5, mood=0.7),
)


def wave_runs(*, now: datetime.datetime, count: int) -> list[datetime.datetime]:
    """The quarterly pulse's last `count` runs up to `now`, oldest first: PULSE_HOUR on the
    first day of each PULSE_MONTHS month, in the beat's time zone (the rule's crontab)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    year, month = local.year, max(m for m in PULSE_MONTHS if m <= local.month)
    runs: list[datetime.datetime] = []
    while len(runs) < count:
        run = datetime.datetime(year, month, 1, PULSE_HOUR, tzinfo=zone)
        if run <= now:
            runs.append(run)
        earlier = [m for m in PULSE_MONTHS if m < month]
        year, month = (year, max(earlier)) if earlier else (year - 1, max(PULSE_MONTHS))
    return runs[::-1]
