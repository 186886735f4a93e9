"""Score rules (below X, a drop beyond the margin, response rate), cooldowns, the digest."""

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from metrics.closedloop import handlers, notifications, score_rules
from metrics.models import (
    Alert,
    AlertDigest,
    AlertRule,
    Case,
    NotifyMode,
    RuleCondition,
)
from surveys.models import Invitation, InvitationState, Response
from tests.metrics.conftest import (
    TODAY,
    add_period,
    add_responses,
    build_world,
    make_people,
    nps_specs,
)
from xmplatform.core.models import OutboxMessage
from xmplatform.flows import HANDLERS

pytestmark = pytest.mark.django_db

NOON = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
CURRENT = TODAY - dt.timedelta(days=3)  # inside the 7-day window ending today
PREVIOUS = TODAY - dt.timedelta(days=10)  # inside the 7 days before it


@pytest.fixture
def world():  # noqa: ANN201
    return build_world()


def _rule(world, condition: str = RuleCondition.SCORE_DROP, **extra) -> AlertRule:  # noqa: ANN001, ANN003
    extra.setdefault("name", "Checkout NPS")
    extra.setdefault("question_type", "nps")
    extra.setdefault("notify", NotifyMode.DIGEST)
    extra.setdefault("cooldown", dt.timedelta(days=1))
    return AlertRule.objects.create(audience=world.audience, condition=condition, **extra)


def _drop(world) -> None:  # noqa: ANN001
    """Previous week NPS 100 (n=20); this week NPS 0 (n=20): a 100-point drop, margin ≈ 43.8."""
    add_responses(world, nps_specs([10] * 20, day=PREVIOUS))
    add_responses(world, nps_specs([10] * 10 + [0] * 10, day=CURRENT))


def test_drop_beyond_the_margin_raises_one_alert_with_both_values(world) -> None:  # noqa: ANN001
    rule = _rule(world)
    _drop(world)

    [alert_id] = score_rules.score_rules_evaluate(now=NOON)

    alert = Alert.objects.get(pk=alert_id)
    assert alert.rule == rule
    assert alert.response is None
    assert alert.value == 0.0
    assert alert.previous == 100.0
    assert alert.n == 20
    assert alert.window_start == dt.datetime(2026, 6, 15, tzinfo=dt.UTC)
    assert alert.summary == "NPS fell from 100.0 to 0.0: Checkout NPS"
    case = Case.objects.get()
    assert case.person is None
    assert case.assignee == world.audience.owner
    assert mail.outbox == []  # score alerts wait for the digest


def test_drop_within_the_margin_raises_nothing(world) -> None:  # noqa: ANN001
    _rule(world)
    add_responses(world, nps_specs([10] * 12 + [8] * 8, day=PREVIOUS))  # NPS 60 ± 21.5
    add_responses(world, nps_specs([10] * 10 + [8] * 10, day=CURRENT))  # NPS 50 ± 21.9

    assert score_rules.score_rules_evaluate(now=NOON) == []
    assert Alert.objects.count() == 0


def test_one_alert_per_cooldown_window(world) -> None:  # noqa: ANN001
    _rule(world)
    _drop(world)

    assert len(score_rules.score_rules_evaluate(now=NOON)) == 1
    assert score_rules.score_rules_evaluate(now=NOON + dt.timedelta(hours=6)) == []
    assert score_rules.score_rules_evaluate(now=NOON + dt.timedelta(hours=11, minutes=59)) == []
    assert len(score_rules.score_rules_evaluate(now=NOON + dt.timedelta(hours=12, minutes=30))) == 1

    assert list(Alert.objects.order_by("window_start").values_list("window_start", flat=True)) == [
        dt.datetime(2026, 6, 15, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 16, tzinfo=dt.UTC),
    ]


def test_database_refuses_a_second_alert_in_the_same_window(world) -> None:  # noqa: ANN001
    rule = _rule(world)
    _drop(world)
    [alert_id] = score_rules.score_rules_evaluate(now=NOON)
    window = Alert.objects.get(pk=alert_id).window_start

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            rule=rule,
            audience=world.audience,
            window_start=window,
            summary="again",
            opened_at=NOON,
            notify=NotifyMode.NONE,
        )


def test_score_under_the_anonymity_threshold_never_alerts(world) -> None:  # noqa: ANN001
    _rule(world, condition=RuleCondition.SCORE_BELOW, threshold=50)
    add_responses(world, nps_specs([0, 0, 0, 0], day=CURRENT))  # n=4 < 5

    assert score_rules.score_rules_evaluate(now=NOON) == []


def test_anonymous_answers_reach_a_score_rule_only_once_their_period_is_published(world) -> None:  # noqa: ANN001
    world.survey.anonymous = True
    world.survey.save()
    _rule(world, condition=RuleCondition.SCORE_BELOW, threshold=50)
    period = add_period(world.survey, CURRENT, CURRENT + dt.timedelta(days=1), published=False)
    add_responses(world, nps_specs([10] * 5, day=CURRENT))  # a released batch of the open period
    add_responses(world, nps_specs([0] * 4, day=CURRENT, released=False))  # waiting

    # The period is open: not even its released batch counts.
    assert score_rules.score_rules_evaluate(now=NOON) == []

    # It ended: everything it holds is released and it is published.
    Response.objects.update(released=True)
    period.published_at = NOON
    period.save()
    [alert_id] = score_rules.score_rules_evaluate(now=NOON)
    alert = Alert.objects.get(pk=alert_id)
    assert (alert.n, alert.summary) == (9, "NPS 11.1 over 7 days: Checkout NPS")  # 5 − 4 of 9
    assert alert.response is None


def test_score_below_threshold_on_one_touchpoint(world) -> None:  # noqa: ANN001
    _rule(
        world,
        condition=RuleCondition.SCORE_BELOW,
        threshold=20,
        touchpoint=world.touchpoints["checkout"],
        name="Checkout",
    )
    add_responses(world, nps_specs([0] * 5 + [10] * 5, day=CURRENT, touchpoint="checkout"))
    add_responses(world, nps_specs([10] * 30, day=CURRENT, touchpoint="delivery"))

    [alert_id] = score_rules.score_rules_evaluate(now=NOON)

    assert Alert.objects.get(pk=alert_id).summary == "NPS 0.0 over 7 days: Checkout"


def test_response_rate_below_threshold(world) -> None:  # noqa: ANN001
    _rule(world, condition=RuleCondition.RESPONSE_RATE_BELOW, threshold=25, name="Rate")
    people = make_people("rr", 10)
    sent = dt.datetime.combine(CURRENT, dt.time(9), tzinfo=dt.UTC)
    Invitation.objects.bulk_create(
        [
            Invitation(
                survey=world.survey,
                person=p,
                channel="email",
                nonce=f"n{i}",
                token_hash=f"rate-{i}",
                state=InvitationState.RESPONDED if i < 2 else InvitationState.SENT,
                sent_at=sent,
                responded_at=sent if i < 2 else None,
            )
            for i, p in enumerate(people)
        ]
    )

    [alert_id] = score_rules.score_rules_evaluate(now=NOON)

    alert = Alert.objects.get(pk=alert_id)
    assert alert.value == 20.0
    assert alert.n == 10
    assert alert.summary == "Response rate 20.0 % over 7 days: Rate"


def test_evaluating_a_firing_score_rule_costs_bounded_queries(
    world, django_assert_num_queries
) -> None:  # noqa: ANN001
    _rule(world)
    _drop(world)
    # 1 active score rules with audiences, 2 alert in this window?, 3 both periods' aggregate,
    # 4 savepoint (alert and case), 5 savepoint (alert insert), 6 insert alert, 7 release,
    # 8 insert case, 9 insert the `alert.opened` outbox rows (one INSERT), 10 release.
    with django_assert_num_queries(10):
        score_rules.score_rules_evaluate(now=NOON)
    # 1 rules, 2 "fired in this window already": no aggregate runs again.
    with django_assert_num_queries(2):
        score_rules.score_rules_evaluate(now=NOON)


def test_one_digest_per_user_per_day_lists_every_pending_score_alert(world) -> None:  # noqa: ANN001
    _rule(world)
    _rule(world, condition=RuleCondition.SCORE_BELOW, threshold=20, name="NPS under 20")
    _drop(world)
    assert len(score_rules.score_rules_evaluate(now=NOON)) == 2

    assert notifications.alert_digests_send(now=NOON) == 1
    assert notifications.alert_digests_send(now=NOON + dt.timedelta(hours=1)) == 0

    [message] = mail.outbox
    assert message.to == ["customers-owner@example.com"]
    assert message.subject == "Your daily alerts: 2"
    assert "NPS fell from 100.0 to 0.0: Checkout NPS" in message.body
    assert "NPS 0.0 over 7 days: NPS under 20" in message.body
    assert "?assigned=me&state=open" in message.body
    assert Alert.objects.filter(notified_at__isnull=True).count() == 0
    digest = AlertDigest.objects.get()
    assert digest.alerts == 2
    assert digest.sent_at is not None


def test_alert_after_todays_digest_waits_for_tomorrow(world) -> None:  # noqa: ANN001
    _rule(world)
    _drop(world)
    score_rules.score_rules_evaluate(now=NOON)
    assert notifications.alert_digests_send(now=NOON) == 1
    _rule(world, condition=RuleCondition.SCORE_BELOW, threshold=20, name="NPS under 20")
    assert len(score_rules.score_rules_evaluate(now=NOON + dt.timedelta(hours=1))) == 1

    assert notifications.alert_digests_send(now=NOON + dt.timedelta(hours=2)) == 0
    assert notifications.alert_digests_send(now=NOON + dt.timedelta(days=1)) == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "Your daily alerts: 1"
    assert "NPS under 20" in mail.outbox[1].body


def test_digest_skips_immediate_and_silent_alerts(world) -> None:  # noqa: ANN001
    _rule(world, notify=NotifyMode.NONE)
    _drop(world)
    score_rules.score_rules_evaluate(now=NOON)

    assert notifications.alert_digests_send(now=NOON) == 0
    assert AlertDigest.objects.count() == 0
    assert mail.outbox == []


def test_score_alert_is_announced_to_the_outbox_and_mailed_only_in_the_digest(
    world, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    _rule(world)
    _drop(world)

    [alert_id] = score_rules.score_rules_evaluate(now=NOON)

    rows = OutboxMessage.objects.filter(event="alert.opened").order_by("pk")
    assert list(rows.values_list("handler", "payload")) == [
        (handler, {"alert_id": alert_id}) for handler in HANDLERS["alert.opened"]
    ]
    with django_capture_on_commit_callbacks(execute=True):
        handlers.alert_opened_handler(message_id=rows[0].pk, alert_id=alert_id)
    assert mail.outbox == []
    assert Alert.objects.get().notify_claimed_at is None  # left for the digest
    assert notifications.alert_digests_send(now=NOON) == 1
