"""The closed loop: alert rules raise alerts, alerts open follow-up cases, and people are told.

Exactly-once is the database's job. One alert per rule × response and one alert per rule ×
cooldown window are unique constraints, and a case is one-to-one with its alert, so a response
submitted twice or a task retried finds the row taken and does nothing. E-mail is claimed with a
conditional UPDATE (immediate alerts) or by inserting the user's digest row for the day, and the
claim commits before the mail server is contacted: a crash costs a visible "claimed, not sent"
state, never a second e-mail.

Privacy: responses to anonymous surveys are never evaluated one by one: their answers (and so
their free text) never reach a rule, an alert, a case or an e-mail. Score rules see them only
in aggregate: answers of published (ended) reporting periods (metrics.privacy), above the
anonymity threshold; response rate rules count an anonymous survey's invitations as the
dashboard does (published periods).
A respondent who answered "no" to the survey's `may_contact` question gets a case marked "do
not contact".
"""

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Case as SqlCase
from django.db.models import CharField, Count, F, Q, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from metrics import definitions as d
from metrics import hooks
from metrics import selectors as s
from metrics.models import (
    CLOSED_STATUSES,
    Alert,
    AlertDigest,
    AlertRule,
    Case,
    CaseNote,
    CaseStatus,
    NotifyMode,
    RuleCondition,
    RuleKind,
)
from surveys.models import SCORED_TYPES, Answer, Invitation, QuestionType, Response

log = logging.getLogger(__name__)

# The survey question whose answer says whether the respondent may be contacted (see
# surveys.catalog.may_contact); "no" marks the case "do not contact".
CONTACT_QUESTION_KEY = "may_contact"
CONTACT_NO = "no"
CONTACT_YES = "yes"
# Cooldown windows are counted from this instant, so every worker computes the same window.
WINDOW_EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)
# An immediate alert not claimed after this long lost its on_commit dispatch: send it again.
DISPATCH_GRACE = dt.timedelta(minutes=2)
MAIL_ERRORS = (smtplib.SMTPException, OSError)


class MailFailed(Exception):
    """The mail server refused or could not be reached; the claim was released for a retry."""


def window_start(*, now: dt.datetime, cooldown: dt.timedelta) -> dt.datetime:
    """The start of the cooldown window `now` falls in (fixed windows from WINDOW_EPOCH)."""
    return WINDOW_EPOCH + ((now - WINDOW_EPOCH) // cooldown) * cooldown


# --- Opening alerts and cases ---------------------------------------------------------------


@dataclass(frozen=True)
class Firing:
    """What a rule found: the value, the previous value (score drops) and the summary."""

    summary: str
    value: float | None = None
    previous: float | None = None
    n: int | None = None


@transaction.atomic
def alert_open(
    *,
    rule: AlertRule,
    firing: Firing,
    now: dt.datetime,
    response: Response | None = None,
    window: dt.datetime | None = None,
    may_contact: bool | None = None,
) -> Alert | None:
    """Open one alert and its case, or return None when the rule already fired for it.

    Exactly one of `response` (response rules) and `window` (score rules) is given; the
    unique constraint on (rule, response) or (rule, window_start) makes a retry a no-op.
    Listeners of metrics.hooks and the notification task run after commit.
    """
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                audience_id=rule.audience_id,
                response=response,
                window_start=window,
                value=firing.value,
                previous=firing.previous,
                n=firing.n,
                summary=firing.summary[:300],
                opened_at=now,
                notify=rule.notify,
            )
    except IntegrityError:
        return None
    person_id = None
    if response is not None and not response.survey.anonymous:
        person_id = response.person_id
    Case.objects.create(
        alert=alert,
        audience_id=rule.audience_id,
        response=response,
        person_id=person_id,
        may_contact=may_contact,
        title=firing.summary[:300],
        assignee_id=rule.assignee_id or rule.audience.owner_id,
        opened_at=now,
        due_at=now + rule.sla,
    )
    _announce(alert_id=alert.pk, notify=rule.notify)
    return alert


def _announce(*, alert_id: int, notify: str) -> None:
    """After commit: tell metrics.hooks' listeners, and enqueue an immediate alert's e-mail."""
    transaction.on_commit(lambda: hooks.alert_opened(alert_id))
    if notify == NotifyMode.IMMEDIATE:
        from metrics.tasks import alert_notify_task

        transaction.on_commit(lambda: alert_notify_task.delay(alert_id))


def _answer_label(question_type: str) -> str:
    return str(QuestionType(question_type).label) if question_type else _("Answer")


def _match(rule: AlertRule, answers: Sequence[Mapping[str, Any]]) -> Firing | None:
    """Whether a response's answers meet a response rule (no queries)."""
    for a in answers:
        if rule.question_id is not None and a["question_id"] != rule.question_id:
            continue
        if rule.condition in (RuleCondition.ANSWER_AT_MOST, RuleCondition.ANSWER_AT_LEAST):
            if a["number"] is None or a["type"] not in SCORED_TYPES:
                continue
            if rule.question_id is None and a["type"] != rule.question_type:
                continue
            if rule.scale_max is not None and a["scale_max"] != rule.scale_max:
                continue
            at_most = rule.condition == RuleCondition.ANSWER_AT_MOST
            hit = a["number"] <= rule.threshold if at_most else a["number"] >= rule.threshold
            if hit:
                return Firing(
                    summary=_("%(question)s answer %(value)s: %(rule)s")
                    % {"question": _answer_label(a["type"]), "value": a["number"], "rule": rule},
                    value=float(a["number"]),
                )
        elif rule.condition == RuleCondition.KEYWORD:
            if a["type"] != QuestionType.TEXT or not a["text"]:
                continue
            text = a["text"].casefold()
            found = [k for k in rule.keyword_list() if k in text]
            if found:
                return Firing(
                    summary=_("Keyword “%(keyword)s” in a comment: %(rule)s")
                    % {"keyword": found[0], "rule": rule}
                )
        elif rule.condition == RuleCondition.ANY_ANSWER:
            if a["number"] is not None or a["text"] or a["choices"]:
                return Firing(
                    summary=_("Answered “%(key)s”: %(rule)s") % {"key": a["key"], "rule": rule}
                )
    return None


def _may_contact(answers: Iterable[Mapping[str, Any]]) -> bool | None:
    for a in answers:
        if a["key"] == CONTACT_QUESTION_KEY:
            value = (a["text"] or "").strip().casefold()
            if value == CONTACT_NO:
                return False
            if value == CONTACT_YES:
                return True
    return None


def _rules_apply(*, responses: Sequence[Response], now: dt.datetime) -> list[int]:
    """Evaluate the response rules on completed responses; returns the alerts opened.

    The responses come with their survey and audience loaded. Set-based: one query each for
    the rules, the answers, the alerts inserted, the alerts found new and their cases, however
    many responses. An alert its rule already raised for the response is not inserted again
    (ON CONFLICT DO NOTHING on the unique constraint), so a re-run opens nothing; concurrent
    runs insert in the same (response, rule) order, so they wait for each other, never deadlock.
    """
    named = sorted((r for r in responses if not r.survey.anonymous), key=lambda r: r.pk)
    if not named:
        return []
    rules = list(
        AlertRule.objects.filter(
            audience_id__in={r.audience_id for r in named}, kind=RuleKind.RESPONSE, active=True
        ).order_by("pk")
    )
    applicable = {
        r.pk: found
        for r in named
        if (
            found := [
                rule
                for rule in rules
                if rule.audience_id == r.audience_id
                and rule.survey_id in (None, r.survey_id)
                and rule.touchpoint_id in (None, r.touchpoint_id)
            ]
        )
    }
    if not applicable:
        return []
    answers: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for a in (
        Answer.objects.filter(response_id__in=list(applicable))
        .values("response_id", "question_id", "number", "text", "choices")
        .annotate(
            key=F("question__key"), type=F("question__type"), scale_max=F("question__scale_max")
        )
        .order_by("response_id", "question__order", "question_id")
    ):
        answers[a["response_id"]].append(a)
    alerts: list[Alert] = []
    cases: dict[tuple[int, int], Case] = {}
    for response in named:
        if response.pk not in applicable:
            continue
        given = answers[response.pk]
        may_contact = _may_contact(given)
        for rule in applicable[response.pk]:
            firing = _match(rule, given)
            if firing is None:
                continue
            summary = firing.summary[:300]
            alerts.append(
                Alert(
                    rule=rule,
                    audience_id=rule.audience_id,
                    response=response,
                    value=firing.value,
                    summary=summary,
                    opened_at=now,
                    notify=rule.notify,
                )
            )
            cases[(rule.pk, response.pk)] = Case(
                audience_id=rule.audience_id,
                response=response,
                person_id=response.person_id,
                may_contact=may_contact,
                title=summary,
                assignee_id=rule.assignee_id or response.audience.owner_id,
                opened_at=now,
                due_at=now + rule.sla,
            )
    if not alerts:
        return []
    # One transaction (the caller's, if any): an alert never commits without its case.
    with transaction.atomic(savepoint=False):
        Alert.objects.bulk_create(alerts, ignore_conflicts=True)
        # Inserted just now: this run's time and no case yet (a re-run finds the case).
        opened = list(
            Alert.objects.filter(
                response_id__in={a.response_id for a in alerts},
                rule_id__in={a.rule_id for a in alerts},
                opened_at=now,
                case__isnull=True,
            )
            .order_by("pk")
            .values_list("pk", "rule_id", "response_id", "notify")
        )
        opened = [row for row in opened if (row[1], row[2]) in cases]
        for alert_id, rule_id, response_id, _notify in opened:
            cases[(rule_id, response_id)].alert_id = alert_id
        Case.objects.bulk_create([cases[(row[1], row[2])] for row in opened])
        for alert_id, _rule_id, _response_id, notify in opened:
            _announce(alert_id=alert_id, notify=notify)
    return [row[0] for row in opened]


def response_alerts_open(*, response_id: int, now: dt.datetime | None = None) -> list[int]:
    """Evaluate the response rules on one completed response; returns the alerts opened.

    Idempotent: a second call (a resubmit, a retried task) opens nothing. A response to an
    anonymous survey is not evaluated (no rule reads its answers), so no case can identify its
    respondent.
    """
    now = now or timezone.now()
    response = (
        Response.objects.select_related("survey", "audience")
        .filter(pk=response_id, completed_on__isnull=False)
        .first()
    )
    if response is None or response.survey.anonymous:
        return []
    return _rules_apply(responses=[response], now=now)


# --- Score rules ----------------------------------------------------------------------------


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
    names = {"rule": rule, "days": rule.window_days}
    if rule.condition == RuleCondition.RESPONSE_RATE_BELOW:
        rate, sent = _response_rate(rule, date_from=date_from, date_to=date_to)
        if rate is None or sent < threshold_n or rate >= (rule.threshold or 0):
            return None
        return Firing(
            summary=_("Response rate %(value).1f %% over %(days)s days: %(rule)s")
            % {"value": rate, **names},
            value=rate,
            n=sent,
        )
    current, previous = _period_scores(rule, date_from=date_from, date_to=date_to)
    if current.value is None or current.n < threshold_n:
        return None
    label = s.METRIC_LABELS.get(rule.question_type, rule.question_type)
    if rule.condition == RuleCondition.SCORE_BELOW:
        if current.value >= (rule.threshold or 0):
            return None
        return Firing(
            summary=_("%(metric)s %(value).1f over %(days)s days: %(rule)s")
            % {"metric": label, "value": current.value, **names},
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
    return Firing(
        summary=_("%(metric)s fell from %(previous).1f to %(value).1f: %(rule)s")
        % {"metric": label, "previous": previous.value, "value": current.value, **names},
        value=current.value,
        previous=previous.value,
        n=current.n,
    )


def score_rules_evaluate(*, now: dt.datetime | None = None) -> list[int]:
    """Check every active score rule once; returns the alerts opened.

    At most one alert per rule and cooldown window, whoever runs this and however often.
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


# --- Notifications --------------------------------------------------------------------------


def _case_url(case_id: int) -> str:
    return settings.SITE_URL + reverse("admin:metrics_case_change", args=[case_id])


def _my_cases_url() -> str:
    return settings.SITE_URL + reverse("admin:metrics_case_changelist") + "?assigned=me&state=open"


def _message(
    *, to: str, subject: str, template: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    with translation.override(settings.LANGUAGE_CODE):
        context = {**context, "language": settings.LANGUAGE_CODE}
        text = render_to_string(f"metrics/email/{template}.txt", context)
        html = render_to_string(f"metrics/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    return message


def alert_notify(*, alert_id: int, now: dt.datetime | None = None) -> bool:
    """E-mail the assignee about one immediate alert, at most once; True when sent.

    Call outside a transaction: the claim (a conditional UPDATE) commits before the mail
    server is contacted. The claim also takes the rule's cooldown window (unique per rule), so
    a rule e-mails at most once per window; a later alert of the window is moved to the
    digest instead. On a mail error the claim is released and MailFailed is raised so the
    task can retry.
    """
    now = now or timezone.now()
    unclaimed = Alert.objects.filter(
        pk=alert_id, notify=NotifyMode.IMMEDIATE, notify_claimed_at__isnull=True
    )
    cooldown = unclaimed.values_list("rule__cooldown", flat=True).first()
    if cooldown is None:
        return False  # claimed already, not immediate, or gone
    window = window_start(now=now, cooldown=cooldown) if cooldown else None
    try:
        with transaction.atomic():
            claimed = unclaimed.update(
                notify_claimed_at=now,
                notify_attempts=F("notify_attempts") + 1,
                mail_window=window,
            )
    except IntegrityError:
        # The rule has e-mailed about another alert in this cooldown window: no storm.
        unclaimed.update(notify=NotifyMode.DIGEST)
        return False
    if not claimed:
        return False
    alert = Alert.objects.select_related("rule", "audience", "case__assignee").get(pk=alert_id)
    case = alert.case
    assignee = case.assignee
    if assignee is None or not assignee.email:
        log.warning("alert %s: the assignee has no e-mail address; nothing sent", alert_id)
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("New case for %(audience)s: %(title)s") % {
            "audience": alert.audience,
            "title": case.title,
        }
        message = _message(
            to=assignee.email,
            subject=subject,
            template="alert",
            context={"alert": alert, "case": case, "case_url": _case_url(case.pk)},
        )
    try:
        message.send()
    except MAIL_ERRORS as exc:
        Alert.objects.filter(pk=alert_id).update(notify_claimed_at=None, mail_window=None)
        raise MailFailed(str(exc)) from exc
    Alert.objects.filter(pk=alert_id).update(notified_at=timezone.now())
    return True


def alerts_redispatch(*, now: dt.datetime | None = None) -> int:
    """Enqueue immediate alerts whose on_commit dispatch was lost (unclaimed after a grace)."""
    from metrics.tasks import alert_notify_task

    now = now or timezone.now()
    ids = list(
        Alert.objects.filter(
            notify=NotifyMode.IMMEDIATE,
            notify_claimed_at__isnull=True,
            notified_at__isnull=True,
            opened_at__lt=now - DISPATCH_GRACE,
            notify_attempts__lt=5,
        ).values_list("pk", flat=True)[:500]
    )
    for alert_id in ids:
        alert_notify_task.delay(alert_id)
    return len(ids)


def alert_digests_send(*, now: dt.datetime | None = None) -> int:
    """Send each user one digest of their pending digest alerts; at most one per user per day.

    The user's AlertDigest row for the day is inserted (unique) and the alerts are claimed in
    one transaction that commits before the e-mail is sent. Alerts raised after today's digest
    wait for tomorrow's. Returns the digests sent.
    """
    now = now or timezone.now()
    day = now.date()
    pending = Alert.objects.filter(
        notify=NotifyMode.DIGEST, notify_claimed_at__isnull=True, case__assignee__isnull=False
    )
    user_ids = list(pending.values_list("case__assignee_id", flat=True).distinct().order_by())
    users = get_user_model().objects.in_bulk(user_ids)
    sent = 0
    for user_id in sorted(user_ids):
        user = users[user_id]
        try:
            with transaction.atomic():
                digest = AlertDigest.objects.create(user=user, day=day, claimed_at=now)
                ids = list(pending.filter(case__assignee_id=user_id).values_list("pk", flat=True))
                digest.alerts = Alert.objects.filter(
                    pk__in=ids, notify_claimed_at__isnull=True
                ).update(notify_claimed_at=now, notify_attempts=F("notify_attempts") + 1)
                digest.save(update_fields=["alerts"])
        except IntegrityError:
            continue  # this user's digest for the day is out (or being sent) already
        if not user.email or not digest.alerts:
            continue
        alerts = list(
            Alert.objects.filter(pk__in=ids, notify_claimed_at=now)
            .select_related("audience", "case")
            .order_by("opened_at")
        )
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Your daily alerts: %(count)s") % {"count": len(alerts)}
            message = _message(
                to=user.email,
                subject=subject,
                template="digest",
                context={
                    "alerts": [(a, _case_url(a.case.pk)) for a in alerts],
                    "day": day,
                    "cases_url": _my_cases_url(),
                },
            )
        try:
            message.send()
        except MAIL_ERRORS:
            log.exception("digest for user %s on %s could not be sent", user_id, day)
            continue
        sent_at = timezone.now()
        AlertDigest.objects.filter(pk=digest.pk).update(sent_at=sent_at)
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(notified_at=sent_at)
        sent += 1
    return sent


# --- Working a case -------------------------------------------------------------------------


@transaction.atomic
def case_save(*, case: Case, by: Any, note: str = "") -> Case:
    """Save an edited case; Case.clean stamps or clears closed_at as the status says.

    Raises django.core.exceptions.ValidationError when a closing case has no root cause.
    """
    case.full_clean(exclude=["alert", "audience", "response", "person", "title", "opened_at"])
    case.save()
    if note.strip():
        CaseNote.objects.create(case=case, author=by, text=note.strip())
    return case


def case_close(*, case_id: int, status: str, root_cause_id: int, by: Any, note: str = "") -> Case:
    """Close one case as resolved or won't fix, with its root cause (and an optional note)."""
    if status not in CLOSED_STATUSES:
        raise ValueError(f"not a closing status: {status}")
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        case.status = CaseStatus(status)
        case.root_cause_id = root_cause_id
        return case_save(case=case, by=by, note=note)
