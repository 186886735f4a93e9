"""Fault drill: Redis stopped for 30 s while respondents submit, events arrive and a wave sends.

The production processes run against the test database and a Redis of the drill's own (the
shared one is never stopped): gunicorn (two processes, DEBUG off), two Celery workers and one
beat whose intervals are scaled 60 times down (BEAT_INTERVAL_SCALE: the outbox sweep and the
dispatcher tick every second instead of every minute, so recovery is seen in seconds). A wave
is being sent to a slow local SMTP server when Redis is killed. For the 30 s it stays down,
respondents answer over HTTP and events are posted to the API; then it comes back empty (no
persistence: whatever was queued in it is gone too, only the database remembers).

Respondents must all see the thank-you page (no 500: rate limits fail open, the relay's wake
is dropped with a log line), each event request must be accepted within a second, and after
Redis returns every side effect must happen exactly once: an alert and a case per detractor,
a webhook delivery per response and alert (each posted once to a local receiver), a trigger
invitation per event and every wave invitation, each e-mailed once.
"""

import time
from collections import Counter

import pytest
import requests
from django.utils import timezone

from surveys.distribution.planning import wave_schedule
from surveys.models import Invitation, Response, WaveRun
from tests.conftest import _unavailable as service_missing
from tests.integration.checks import (
    closed_loop,
    invitation_mails,
    other_mails,
    outbox_settled,
    outbox_states,
    sent_ids,
    states,
    twice,
)
from tests.integration.world import (
    FIRST_THANKS,
    THANKS,
    answer_over_http,
    drill_world,
    events_over_http,
)
from tests.support.redis_server import RedisServer, redis_server_problem
from tests.support.web import gunicorn_web
from tests.support.workers import celery_beats, celery_workers, process_env, wait_until
from tests.surveys.distribution_factories import SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OUTAGE = 30.0
RESPONDENTS = 14  # every other one a detractor (NPS 3), the others promoters (NPS 9)
EVENTS = 14
WAVE = 120


def _accepted(posted: requests.Response) -> object:
    if posted.headers.get("Content-Type", "").startswith("application/json"):
        return posted.json().get("accepted")
    return posted.text[:300]


def test_redis_outage_costs_respondents_nothing_and_loses_no_side_effect(
    tmp_path, static_root, hooks
) -> None:
    problem = redis_server_problem()
    if problem:
        service_missing(f"Redis outage drill: {problem}")
    world = drill_world(
        respondents=RESPONDENTS, trigger_people=EVENTS, wave_people=WAVE, webhook_url=hooks.url
    )
    answers, events = [], []
    with (
        SmtpSink(delay=0.05) as mail,  # a slow provider: the outage meets the wave mid-send
        RedisServer(tmp_path / "redis") as redis_server,
    ):
        env = process_env(
            redis_url=redis_server.url(),
            EMAIL_URL=f"smtp://127.0.0.1:{mail.port}",
            WEBHOOK_ALLOW_PRIVATE="1",
            BEAT_INTERVAL_SCALE=str(1 / 60),
            STATIC_ROOT=str(static_root),
            DEBUG="0",
        )
        with (
            gunicorn_web(env, tmp_path) as web,
            celery_workers(2, concurrency=2, pool="threads", env=env),
            celery_beats(1, env, tmp_path),
        ):
            wave_schedule(rule=world.wave_rule, once_at=timezone.now())
            assert wait_until(lambda: len(mail.messages) >= 10, timeout=40), states()

            redis_server.stop()
            down_at, mailed_before = time.monotonic(), len(mail.messages)
            step = OUTAGE / max(RESPONDENTS, EVENTS)
            for i in range(max(RESPONDENTS, EVENTS)):
                if i < RESPONDENTS:
                    page = answer_over_http(web.url, world.tokens[i], nps=3 if i % 2 == 0 else 9)
                    answers.append(
                        (page.status_code, FIRST_THANKS in page.text, THANKS in page.text)
                    )
                if i < EVENTS:
                    started = time.monotonic()
                    posted = events_over_http(web.url, world.api_key, [world.trigger_people[i]])
                    took = time.monotonic() - started
                    events.append((posted.status_code, _accepted(posted), took))
                time.sleep(max(0.0, down_at + (i + 1) * step - time.monotonic()))
            redis_server.start()
            back_at = time.monotonic()

            trigger = world.trigger_rule
            wave = world.wave_rule

            def settled() -> bool:
                done = (
                    outbox_settled()
                    and Invitation.objects.filter(rule=trigger).count() == EVENTS
                    and set(states(rule__in=[trigger, wave])) == {"sent"}
                )
                return done and len(mail.messages) >= len(sent_ids()) + RESPONDENTS // 2

            # A row whose handler met the outage waits out its backoff (10, 20, 40, 80 s:
            # xmplatform.core.outbox), and a claim lost with a worker's connection its lease
            # (60 s): on a busy machine the last rows come back a few minutes later.
            assert wait_until(settled, timeout=240, interval=0.5), (
                outbox_states(),
                states(rule=trigger),
                states(rule=wave),
                len(mail.messages),
                answers,
                events,
            )
            recovered_in = time.monotonic() - back_at
            time.sleep(2)  # anything still running would show up as a duplicate now

    assert answers == [(200, True, True)] * RESPONDENTS  # "Thank you!", never "already answered"
    assert [(status, accepted) for status, accepted, _took in events] == [(200, 1)] * EVENTS
    slowest_event = max(took for _status, _accepted, took in events)
    assert slowest_event < 1.0

    assert outbox_states() == {"done": outbox_states().get("done", 0)}
    assert Response.objects.filter(completed_on__isnull=False).count() == RESPONDENTS
    loop = closed_loop()
    assert len(loop["detractors"]) == (RESPONDENTS + 1) // 2
    assert loop["alerts_per_response"] == Counter(dict.fromkeys(loop["detractors"], 1))
    assert loop["cases"] == len(loop["detractors"])
    assert len(other_mails(mail)) == len(loop["detractors"])  # one notice per alert
    assert loop["deliveries"] == {"delivered": RESPONDENTS + len(loop["detractors"])}
    assert twice(hooks.deliveries()) == []
    assert len(hooks.deliveries()) == loop["delivered"]

    assert 0 < mailed_before < WAVE  # the outage met the wave mid-send
    assert WaveRun.objects.filter(rule=world.wave_rule).count() == 1
    assert states(rule=world.wave_rule) == {"sent": WAVE}
    assert states(rule=world.trigger_rule) == {"sent": EVENTS}
    assert (
        Invitation.objects.filter(rule=world.trigger_rule).values("event_id").distinct().count()
        == EVENTS
    )
    mails = invitation_mails(mail)
    assert twice(mails) == []
    assert set(mails) == sent_ids(rule__in=[world.trigger_rule, world.wave_rule])
    print(
        f"\nRedis down {OUTAGE:.0f}s: {RESPONDENTS} answers, {EVENTS} events (slowest"
        f" {slowest_event:.2f}s), {mailed_before} of {WAVE} wave e-mails sent before it;"
        f" all side effects {recovered_in:.1f}s after it came back"
    )
