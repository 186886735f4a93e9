"""The customers' NPS story: what drives their score, and what follows it.

The relationship NPS asks three ratings besides the score (delivery speed, price fairness,
support helpfulness). Each respondent's three ratings move around their mood, a late delivery
or a support request not resolved at first contact in the 30 days before answering pulls the
delivery or support rating down, and the score is made of the three with known weights
(delivery strong, support medium, price weak, `WEIGHTS`) plus noise, so key-driver analysis has
something true to find. The main reason and the comment follow: a detractor complains about
their worst driver, a passive says what would make it better, a promoter praises their best,
in their own language.

After answering, what happens differs by NPS category (`AFTER`): promoters buy more and spend
more per order, refer friends, and rarely leave; detractors leave far more often (a churn
event at the audience's CHURNED-role touchpoint, and their membership ends that day). The
random purchases and referrals the journeys seed left after the answer are replaced by these.
"""

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone

from audiences.models import Audience, Membership
from journeys.models import Touchpoint, TouchpointEvent, TouchpointRole
from surveys.demo.answers import clamp
from surveys.demo.story_texts import story_comment
from surveys.models import Question, QuestionType, Survey

DAY = dt.timedelta(days=1)
CHUNK = 5000  # people per query (SQLite's limit on a statement's parameters)
BEFORE = dt.timedelta(days=30)  # events this long before answering colour the answer

# The ratings the relationship NPS asks besides the score: (key, driver, English, Turkish).
RATING_HELP = {"en": "1 = very poor, 5 = excellent", "tr": "1 = çok kötü, 5 = mükemmel"}
DRIVER_QUESTIONS = (
    (
        "delivery_speed",
        "delivery",
        "How satisfied are you with the speed of our deliveries?",
        "Teslimat hızımızdan ne kadar memnunsunuz?",
    ),
    (
        "support_helpfulness",
        "support",
        "How helpful has our support team been?",
        "Destek ekibimiz size ne kadar yardımcı oldu?",
    ),
    (
        "price_fairness",
        "price",
        "How fair do you find our prices?",
        "Fiyatlarımızı ne kadar adil buluyorsunuz?",
    ),
)
# How much each driver makes the score (they sum to 1): delivery strong, support medium, price
# weak. What key-driver analysis should find, in this order.
WEIGHTS = {"delivery": 0.55, "support": 0.3, "price": 0.15}
# The main-reason option that names each driver (the template's choices).
REASON = {"delivery": "delivery", "price": "price", "support": "service"}
# The free-text question each NPS category is shown, and the tone it writes in.
COMMENT = {
    "detractor": ("improve", "bad"),
    "passive": ("higher", "meh"),
    "promoter": ("liked", "good"),
}


@dataclass(frozen=True)
class After:
    """What follows an answer of one NPS category over 30 days (scaled by the days left)."""

    churn: float  # chance of leaving over the follow-up (at most 60 days' worth)
    purchases: float  # purchases a month
    order_value: float  # median order value (log-normal)
    referral: float  # chance of a referred purchase over the follow-up


AFTER = {
    "promoter": After(churn=0.03, purchases=1.2, order_value=95.0, referral=0.3),
    "passive": After(churn=0.08, purchases=0.8, order_value=75.0, referral=0.1),
    "detractor": After(churn=0.24, purchases=0.45, order_value=60.0, referral=0.02),
}
FOLLOW_UP_FULL = dt.timedelta(days=60)  # an answer older than this has its full outcomes


def category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def driver_questions_add(survey: Survey) -> None:
    """The three driver ratings on the first page, right after the score."""
    nps = Question.objects.get(survey=survey, key="nps")
    Question.objects.filter(survey=survey, order__gt=nps.order).update(
        order=F("order") + len(DRIVER_QUESTIONS)
    )
    Question.objects.bulk_create(
        [
            Question(
                survey=survey,
                order=nps.order + i,
                page=nps.page,
                key=key,
                type=QuestionType.RATING,
                scale_max=5,
                label={"en": en, "tr": tr},
                help=dict(RATING_HELP),
            )
            for i, (key, _driver, en, tr) in enumerate(DRIVER_QUESTIONS, start=1)
        ]
    )


@dataclass
class Context:
    """What one respondent went through in the 30 days before answering."""

    late_delivery: bool = False
    delivered: bool = False
    support: bool = False
    unresolved: bool = False


@dataclass
class CustomerStory:
    """The story of one customer survey's respondents: their context, answers and outcomes."""

    audience: Audience
    now: dt.datetime
    rng: random.Random
    touchpoints: dict[str, list[int]] = field(default_factory=dict)  # role or "delivery" -> ids
    events: dict[int, list[tuple[int, dt.datetime, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    new_events: list[TouchpointEvent] = field(default_factory=list)

    @classmethod
    def load(cls, audience: Audience, now: dt.datetime, rng: random.Random) -> "CustomerStory":
        """The audience's role-tagged and delivery touchpoints."""
        story = cls(audience=audience, now=now, rng=rng)
        tps = Touchpoint.objects.filter(stage__journey__audience=audience).order_by("pk")
        for pk, role, slug in tps.values_list("pk", "role", "slug"):
            if role:
                story.touchpoints.setdefault(role, []).append(pk)
            elif "deliver" in slug:
                story.touchpoints.setdefault("delivery", []).append(pk)
        return story

    def events_load(self, person_ids: list[int]) -> None:
        """The respondents' seeded deliveries and support requests (a query per CHUNK people)."""
        watched = self._ids("delivery", TouchpointRole.SUPPORT_REQUEST)
        for start in range(0, len(person_ids), CHUNK):
            rows = TouchpointEvent.objects.filter(
                touchpoint_id__in=watched, person_id__in=person_ids[start : start + CHUNK]
            ).values_list("person_id", "touchpoint_id", "occurred_at", "attributes")
            for person_id, tp_id, occurred_at, attributes in rows:
                self.events[person_id].append((tp_id, occurred_at, attributes or {}))

    def _ids(self, *kinds: str) -> list[int]:
        return [pk for kind in kinds for pk in self.touchpoints.get(kind, [])]

    def _event(self, kind: str, person_id: int, at: dt.datetime, **attributes: Any) -> None:
        ids = self.touchpoints.get(kind)
        if not ids:
            return  # this journey has no such moment: the story goes without it
        tp_id = self.rng.choice(ids)
        self.new_events.append(
            TouchpointEvent(
                person_id=person_id, touchpoint_id=tp_id, occurred_at=at, attributes=attributes
            )
        )
        self.events[person_id].append((tp_id, at, attributes))

    def context(self, person_id: int, answered_at: dt.datetime) -> Context:
        """What the person went through in the 30 days before answering: their seeded events
        there, and one more delivery (some late) or support request for some of them."""
        r = self.rng
        since = max(answered_at - BEFORE, self.now - dt.timedelta(days=90))
        if since < answered_at - DAY:
            if r.random() < 0.35:
                at = since + (answered_at - DAY - since) * r.random()
                self._event("delivery", person_id, at, late=r.random() < 0.3)
            if r.random() < 0.2:
                at = since + (answered_at - DAY - since) * r.random()
                self._event(
                    TouchpointRole.SUPPORT_REQUEST,
                    person_id,
                    at,
                    handling_seconds=r.randint(120, 1800),
                    first_contact_resolved=r.random() < 0.55,
                )
        delivery = set(self._ids("delivery"))
        ctx = Context()
        for tp_id, at, attributes in self.events.get(person_id, ()):
            if not since <= at < answered_at:
                continue
            if tp_id in delivery:
                ctx.delivered = True
                ctx.late_delivery |= bool(attributes.get("late"))
            else:
                ctx.support = True
                ctx.unresolved |= not attributes.get("first_contact_resolved", True)
        return ctx

    def answers(
        self, questions: list[Question], mood: float, language: str, ctx: Context
    ) -> dict[str, Any]:
        """The score, the three driver ratings, the main reason and a comment that fit."""
        r = self.rng
        feel = {
            "delivery": mood
            + r.gauss(0, 0.2)
            + (-0.4 if ctx.late_delivery else 0.03 * ctx.delivered),
            "support": mood + r.gauss(0, 0.2) - (0.35 if ctx.unresolved else 0.05 * ctx.support),
            "price": mood - 0.06 + r.gauss(0, 0.2),
        }
        feel = {k: clamp(v) for k, v in feel.items()}
        score = round(
            10 * clamp(sum(WEIGHTS[k] * v for k, v in feel.items()) + 0.04 + r.gauss(0, 0.1))
        )
        kinds = {q.key: q for q in questions}
        values: dict[str, Any] = {"nps": score}
        for key, driver, _en, _tr in DRIVER_QUESTIONS:
            if key in kinds:
                values[key] = 1 + round(feel[driver] * 4)
        group = category(score)
        ranked = sorted(feel, key=lambda k: feel[k] * (1 if group == "promoter" else -1))
        # A detractor or passive names their weakest driver, a promoter their strongest.
        topic = ranked[-1] if r.random() < 0.8 else r.choice(list(feel))
        if "main_reason" in kinds and r.random() < 0.85:
            values["main_reason"] = REASON[topic] if r.random() < 0.8 else "quality"
        key, tone = COMMENT[group]
        if key in kinds and r.random() < 0.65:
            values[key] = story_comment(topic, tone, language, r)
        if "may_contact" in kinds:
            values["may_contact"] = "yes" if r.random() < 0.6 else "no"
        return values

    def outcomes(self, answered: list[tuple[int, dt.datetime, int]]) -> dict[str, int]:
        """Purchases, referrals and churn after each (person, answered at, score), replacing the
        random purchases and referrals seeded after the answer; churned members leave."""
        r = self.rng
        trading = self._ids(TouchpointRole.PURCHASE, TouchpointRole.REFERRAL)
        first_answer: dict[int, dt.datetime] = {}
        for person_id, at, _score in answered:
            first_answer[person_id] = min(at, first_answer.get(person_id, at))
        people = list(first_answer)
        stale: list[int] = []
        left: dict[int, dt.date] = {}
        for start in range(0, len(people), CHUNK):
            chunk = people[start : start + CHUNK]
            stale += [
                pk
                for pk, person_id, occurred_at in TouchpointEvent.objects.filter(
                    touchpoint_id__in=trading, person_id__in=chunk
                ).values_list("pk", "person_id", "occurred_at")
                if occurred_at > first_answer[person_id]
            ]
            for person_id, left_on in Membership.objects.filter(
                audience=self.audience, person_id__in=chunk, left_on__isnull=False
            ).values_list("person_id", "left_on"):
                if left_on is not None:
                    left[person_id] = left_on
        for start in range(0, len(stale), CHUNK):
            TouchpointEvent.objects.filter(pk__in=stale[start : start + CHUNK]).delete()
        churned: dict[int, dt.date] = {}
        counts = {"purchases": 0, "referrals": 0, "churned": 0}
        for person_id, at, score in answered:
            after = AFTER[category(score)]
            span = self.now - at - dt.timedelta(hours=1)
            if span <= DAY:
                continue
            share = min(1.0, span / FOLLOW_UP_FULL)
            end = self.now - dt.timedelta(hours=1)
            if person_id in left:
                end = min(end, _day_start(left[person_id]))
            elif r.random() < after.churn * share and self.touchpoints.get(TouchpointRole.CHURNED):
                gone = at + DAY + (span - DAY) * r.random()
                self._event(TouchpointRole.CHURNED, person_id, gone)
                churned[person_id] = timezone.localdate(gone)
                end, counts["churned"] = gone, counts["churned"] + 1
            months = max(0.0, (end - at) / dt.timedelta(days=30))
            for _ in range(_poisson(r, after.purchases * months)):
                value = round(min(r.lognormvariate(math.log(after.order_value), 0.6), 2500.0), 2)
                self._event(
                    TouchpointRole.PURCHASE, person_id, at + (end - at) * r.random(), value=value
                )
                counts["purchases"] += 1
            if end > at and r.random() < after.referral * share:
                value = round(r.lognormvariate(math.log(after.order_value), 0.5), 2)
                self._event(
                    TouchpointRole.REFERRAL, person_id, at + (end - at) * r.random(), value=value
                )
                counts["referrals"] += 1
        # Their memberships end on the day they left (a statement per day and CHUNK people).
        by_day: dict[dt.date, list[int]] = defaultdict(list)
        for person_id, day in churned.items():
            by_day[day].append(person_id)
        for day, ids in by_day.items():
            for start in range(0, len(ids), CHUNK):
                Membership.objects.filter(
                    audience=self.audience, person_id__in=ids[start : start + CHUNK]
                ).update(left_on=day)
        return counts

    def events_write(self) -> int:
        """Write the events the story added (bulk); returns how many."""
        TouchpointEvent.objects.bulk_create(self.new_events, batch_size=2000)
        written, self.new_events = len(self.new_events), []
        return written


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def _poisson(r: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth; the means here are small)."""
    limit, k, p = math.exp(-mean), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k
