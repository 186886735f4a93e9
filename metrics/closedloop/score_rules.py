"""Score rules: a touchpoint's score below X, a drop beyond the margin of error, a response
rate below Y %, checked by the beat at most once per rule and cooldown window.

Scores under the audience's anonymity threshold never fire, and anonymous surveys count only
their published reporting periods (metrics.privacy), as the dashboard shows them.
"""

import datetime as dt

from django.db.models import Case as SqlCase
from django.db.models import CharField, Count, Q, Value, When
from django.utils import timezone

from metrics import definitions as d
from metrics import selectors as s
from metrics.closedloop.alerts import Firing, alert_open, window_start
from metrics.closedloop.models import Alert, AlertRule, RuleCondition, RuleKind
from metrics.closedloop.titles import message
from surveys.models import Invitation


def _period_scores(
    rule: AlertRule, *, date_from: dt.date, date_to: dt.date
) -> tuple[d.Score, d.Score]:
    """The rule's metric in [date_from, date_to] and the equal period before, in one query."""
    metric = rule.question_type
    length = (date_to - date_from).days + 1
    filters = s.Filters(
        audience_id=rule.audience_id,
        date_from=date_from - dt.timedelta(days=length),
        date_to=date_to,
        survey_id=rule.survey_id,
        touchpoint_id=rule.touchpoint_id,
        scale=rule.scale_max,
    )
    question_type = s.METRIC_QUESTION_TYPE[metric]
    rows = (
        # Anonymous answers count only once their period is published (metrics.privacy): a
        # score of an open period could be subtracted from the one published after it.
        s.answers_counted(s.answers_scored(question_type=question_type, filters=filters))
        .annotate(
            p=SqlCase(
                When(response__completed_on__gte=date_from, then=Value("current")),
                default=Value("previous"),
                output_field=CharField(),
            )
        )
        .values("p")
        .annotate(**s.raw_aggregates(s.METRIC_FIELDS[metric]))
        .order_by()
    )
    found = {
        r["p"]: s.Agg(**{k: r[k] for k in s.METRIC_FIELDS[metric]})  # type: ignore[literal-required]
        for r in rows
    }
    return (
        s.score_from(metric, found.get("current", s.Agg())),
        s.score_from(metric, found.get("previous", s.Agg())),
    )


def _response_rate(
    rule: AlertRule, *, date_from: dt.date, date_to: dt.date
) -> tuple[float | None, int]:
    sent, answered = s.invitations_counted()
    qs = Invitation.objects.filter(
        sent,
        survey__audience_id=rule.audience_id,
        sent_at__date__gte=date_from,
        sent_at__date__lte=date_to,
    )
    if rule.survey_id is not None:
        qs = qs.filter(survey_id=rule.survey_id)
    if rule.touchpoint_id is not None:
        qs = qs.filter(
            Q(event__touchpoint_id=rule.touchpoint_id) | Q(survey__touchpoint_id=rule.touchpoint_id)
        )
    row = qs.aggregate(sent=Count("id"), responded=Count("id", filter=answered))
    return d.response_rate(responses=row["responded"], sent=row["sent"]), row["sent"]


def score_rule_check(*, rule: AlertRule, now: dt.datetime) -> Firing | None:
    """Whether a score rule fires now (reads only; one aggregate query).

    Scores under the audience's anonymity threshold never fire: an alert must not reveal what
    the dashboard hides. A drop fires only when it exceeds the combined margin of error.
    """
    date_to = now.date()
    date_from = date_to - dt.timedelta(days=rule.window_days - 1)
    threshold_n = rule.audience.anonymity_threshold
    names = {"rule": rule.name, "days": rule.window_days}
    if rule.condition == RuleCondition.RESPONSE_RATE_BELOW:
        rate, sent = _response_rate(rule, date_from=date_from, date_to=date_to)
        if rate is None or sent < threshold_n or rate >= (rule.threshold or 0):
            return None
        return Firing.of(
            message("rate_below", value=rate, **names),
            value=rate,
            n=sent,
        )
    current, previous = _period_scores(rule, date_from=date_from, date_to=date_to)
    if current.value is None or current.n < threshold_n:
        return None
    if rule.condition == RuleCondition.SCORE_BELOW:
        if current.value >= (rule.threshold or 0):
            return None
        return Firing.of(
            message("score_below", metric=rule.question_type, value=current.value, **names),
            value=current.value,
            n=current.n,
        )
    if previous.value is None or previous.n < threshold_n:
        return None
    drop = previous.value - current.value
    if drop <= 0 or not d.change_is_significant(current, previous):
        return None
    if rule.threshold is not None and drop < rule.threshold:
        return None
    return Firing.of(
        message(
            "score_drop",
            metric=rule.question_type,
            previous=previous.value,
            value=current.value,
            rule=rule.name,
        ),
        value=current.value,
        previous=previous.value,
        n=current.n,
    )


def score_rules_evaluate(*, now: dt.datetime | None = None) -> list[int]:
    """Check every active score rule once; returns the alerts opened.

    At most one alert per rule and cooldown window, whoever runs this and however often: two
    beats at once both compute a firing rule, and the unique constraint lets one alert in.
    """
    now = now or timezone.now()
    opened: list[int] = []
    rules = AlertRule.objects.filter(kind=RuleKind.SCORE, active=True).select_related("audience")
    for rule in rules.order_by("pk"):
        window = window_start(now=now, cooldown=rule.cooldown)
        if Alert.objects.filter(rule=rule, window_start=window).exists():
            continue  # fired in this window already: skip the aggregate
        firing = score_rule_check(rule=rule, now=now)
        if firing is None:
            continue
        alert = alert_open(rule=rule, firing=firing, now=now, window=window)
        if alert is not None:
            opened.append(alert.pk)
    return opened
