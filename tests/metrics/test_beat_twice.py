"""Two beat processes at once (a common deployment mistake) do metrics' periodic work once.

Each test runs the same periodic work in two threads started together, each on its own
PostgreSQL connection: score rules open one alert per rule and window (a unique constraint),
digests go out once per user and day (the digest row is the claim), rollups and anonymous
releases take the rollup state's row lock and come out as one run leaves them, and a
completion relayed twice opens one alert.
"""

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from journeys.models import TouchpointEvent, TouchpointRole
from metrics import services
from metrics.closedloop import handlers, notifications, score_rules
from metrics.models import (
    Alert,
    AlertDigest,
    AlertRule,
    AnswerOutcome,
    Case,
    DailyOutcome,
    DailyRollup,
    EventDay,
    NotifyMode,
    OperationsSnapshot,
    RollupState,
    RuleCondition,
    Verbatim,
)
from surveys.models import Response
from tests.factories import make_touchpoint
from tests.metrics.closed_loop_support import completed_response, contact_survey, detractor_rule
from tests.metrics.conftest import (
    TODAY,
    add_period,
    add_responses,
    anonymous_world,
    build_world,
    make_people,
    nps_specs,
)
from xmplatform.core.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

NOON = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _postgres(needs_postgres: None) -> None:
    """Row locks and waiting on a unique index are PostgreSQL's; SQLite runs one writer."""


def twice(work: Callable[[], Any]) -> list[Any]:
    """Run `work` in two threads released together; returns both results (re-raises errors)."""
    start = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    assert len(results) == 2
    return results


def _drop_rule() -> AlertRule:
    """An NPS drop of 100 points (n=20 each week) on a digest rule of the customers."""
    world = build_world()
    add_responses(world, nps_specs([10] * 20, day=TODAY - dt.timedelta(days=10)))
    add_responses(world, nps_specs([10] * 10 + [0] * 10, day=TODAY - dt.timedelta(days=3)))
    return AlertRule.objects.create(
        audience=world.audience,
        name="Checkout NPS",
        condition=RuleCondition.SCORE_DROP,
        question_type="nps",
        notify=NotifyMode.DIGEST,
    )


def test_two_beats_checking_score_rules_open_one_alert_and_announce_it_once() -> None:
    _drop_rule()

    opened = twice(lambda: score_rules.score_rules_evaluate(now=NOON))

    assert sorted(len(ids) for ids in opened) == [0, 1]
    assert Alert.objects.count() == Case.objects.count() == 1
    assert OutboxMessage.objects.filter(event="alert.opened").count() == 2  # one per handler


def test_two_beats_sending_digests_send_one_per_user_and_day() -> None:
    _drop_rule()
    score_rules.score_rules_evaluate(now=NOON)

    sent = twice(lambda: notifications.alert_digests_send(now=NOON))

    assert sorted(sent) == [0, 1]
    assert AlertDigest.objects.count() == 1
    assert [m.subject for m in mail.outbox] == ["Your daily alerts: 1"]


def test_two_relays_of_one_completion_open_one_alert() -> None:
    survey = contact_survey()
    detractor_rule(survey)
    response = completed_response(survey)

    def relay() -> None:
        with transaction.atomic():
            handlers.response_completed_handler(message_id=1, response_id=response.pk)

    twice(relay)

    assert Alert.objects.count() == Case.objects.count() == 1
    assert OutboxMessage.objects.filter(event="alert.opened").count() == 2


ROLLED = (DailyRollup, Verbatim, AnswerOutcome, DailyOutcome, EventDay, OperationsSnapshot)
IGNORED = {"id", "computed_at"}


def _rolled() -> dict[str, list[tuple[Any, ...]]]:
    """Every row the rollup task writes, without ids, sorted."""
    found = {}
    for model in ROLLED:
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in IGNORED]
        found[model.__name__] = sorted(
            model.objects.values_list(*names), key=lambda row: tuple(map(str, row))
        )
    return found


def test_two_beats_rolling_up_leave_the_rows_of_one_run() -> None:
    world = build_world()
    shop = make_touchpoint(world.audience, slug="shop", role=TouchpointRole.PURCHASE)
    buyers = make_people("buyer", 6)
    today = timezone.localdate()
    add_responses(
        world,
        [
            {"nps": n, "person": buyer, "day": today - dt.timedelta(days=1), "comment": "ok"}
            for n, buyer in zip((10, 9, 3, 7, 0, 10), buyers, strict=True)
        ],
    )
    add_responses(world, nps_specs([8, 2, 10], day=today))
    TouchpointEvent.objects.bulk_create(
        TouchpointEvent(
            person=buyer,
            touchpoint=shop,
            occurred_at=timezone.now() - dt.timedelta(hours=i),
            attributes={"value": 10 + i},
        )
        for i, buyer in enumerate(buyers)
    )
    services.rollup_recent()
    once = _rolled()
    assert len(once["DailyRollup"]) == 2 and len(once["EventDay"]) == 6
    for model in ROLLED:
        model.objects.all().delete()
    RollupState.objects.update(complete_through=None, rolled_at=None)

    twice(services.rollup_recent)

    assert _rolled() == once


def test_two_beats_releasing_anonymous_periods_release_each_batch_once() -> None:
    world = anonymous_world("staff", threshold=5)
    october = dt.date(2026, 10, 1)
    add_period(world.survey, october, dt.date(2026, 10, 31), published=False)
    add_responses(world, [{"nps": 9, "day": october, "released": False}] * 6)
    now = dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC)

    released = twice(lambda: services.anonymous_periods_release(now=now))

    assert sorted(released, key=len) == [[], [(world.survey.pk, october)]]
    assert not Response.objects.filter(released=False).exists()
    assert list(DailyRollup.objects.filter(anonymous=True).values_list("day", "n")) == [
        (october, 6)
    ]
