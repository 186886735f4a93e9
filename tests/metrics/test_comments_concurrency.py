"""Two processing runs at once (a doubled beat, a slow run overlapping the next) on PostgreSQL:
every comment once, every topic link once, topic ids the same, one alert per response."""

import threading

import pytest
from django.db import connection

from metrics.comments import processing
from metrics.comments.models import Comment, CommentTopic, Topic
from metrics.models import Alert, AlertRule, RuleCondition
from tests.metrics.comments_support import TR_DELIVERY, TR_PRICE, seed_and_process, theme_specs
from tests.metrics.conftest import add_responses, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _twice_at_once() -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            processing.comments_process()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_two_runs_at_once_file_each_comment_once_and_alert_once(needs_postgres):  # noqa: ANN001
    world = build_world()
    seed_and_process(world, theme_specs(91, {"d": TR_DELIVERY, "p": TR_PRICE}, 30, "tr"))
    topics = set(Topic.objects.filter(active=True).values_list("pk", flat=True))
    delivery = next(t for t in Topic.objects.filter(active=True) if "kargo" in t.terms[:5])
    AlertRule.objects.create(
        name="kargo", audience=world.audience, condition=RuleCondition.TOPIC, topic=delivery
    )
    add_responses(world, theme_specs(92, {"d": TR_DELIVERY, "p": TR_PRICE}, 20, "tr"))
    assert _twice_at_once() == []
    assert Comment.objects.count() == 100
    links = list(CommentTopic.objects.values_list("comment_id", "topic_id"))
    assert len(links) == len(set(links))
    assert topics <= set(Topic.objects.filter(active=True).values_list("pk", flat=True))
    alerts = list(Alert.objects.values_list("rule_id", "response_id"))
    assert alerts and len(alerts) == len(set(alerts))
    assert processing.comments_process().comments == 0
