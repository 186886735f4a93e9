"""Fault drill: PostgreSQL restarted under load; web and workers recover without a restart.

The drill runs its own PostgreSQL cluster (initdb + pg_ctl on a spare port under /tmp; the
shared one is never stopped) holding a copy of the test database, with a scheduled wave and
invited respondents. gunicorn (persistent connections, as production runs), a Celery worker and
beat (intervals scaled 60 times down) use it. While the wave is being sent to a slow SMTP
server and respondents answer over HTTP, the cluster is stopped in `fast` mode (every session
ends, open transactions roll back) and started again two seconds later.

Requests while it is down get the 503 page (styled, in the reader's language, Retry-After;
JSON on the API), never a 500 or a traceback. After it is back, the same processes serve and
work on: respondents who met the 503 answer again and see the thank-you page, each response is
whole (completed with its answer) or absent, every wave invitation is sent and e-mailed exactly
once (none "delivery unknown", none left in flight), and the outbox owes nothing.
"""

import threading
import time
from collections import Counter

import pytest
import requests
from django.db import connection
from django.utils import timezone, translation

from surveys.distribution.planning import wave_schedule
from surveys.models import Response
from tests.conftest import _unavailable as service_missing
from tests.integration.checks import (
    closed_loop,
    invitation_mails,
    leases_end,
    outbox_settled,
    outbox_states,
    sent_ids,
    states,
    twice,
)
from tests.integration.world import THANKS, answer_over_http, drill_world, events_over_http
from tests.support.pg_cluster import PostgresCluster, default_database, postgres_cluster_problem
from tests.support.web import gunicorn_web
from tests.support.workers import celery_beats, celery_workers, process_env, wait_until
from tests.support.workers import test_database_url as copied_database_url
from tests.surveys.distribution_factories import SmtpSink
from xmplatform.core.models import OutboxMessage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RESPONDENTS = 24
WAVE = 200
DOWN_FOR = 2.0
UNAVAILABLE_TITLE = "(503)</title>"


def test_postgres_restart_under_load_answers_503_then_recovers(tmp_path, static_root) -> None:
    problem = postgres_cluster_problem()
    if problem:
        service_missing(f"PostgreSQL restart drill: {problem}")
    world = drill_world(respondents=RESPONDENTS, wave_people=WAVE, trigger_people=2)
    wave_schedule(rule=world.wave_rule, once_at=timezone.now())  # fires as beat starts
    answers: dict[int, list[tuple[int, bool, str]]] = {i: [] for i in range(RESPONDENTS)}

    with (
        SmtpSink(delay=0.05) as mail,  # a slow provider: the restart meets the wave mid-send
        PostgresCluster() as pg,
        default_database(pg.copy_database(copied_database_url(), "drill")),
    ):
        env = process_env(
            database_url=pg.url("drill"),
            CONN_MAX_AGE="60",  # persistent connections, broken by the restart
            EMAIL_URL=f"smtp://127.0.0.1:{mail.port}",
            BEAT_INTERVAL_SCALE=str(1 / 60),
            STATIC_ROOT=str(static_root),
            DEBUG="0",
        )
        with (
            gunicorn_web(env, tmp_path) as web,
            celery_workers(1, concurrency=2, pool="threads", env=env) as (worker,),
            celery_beats(1, env, tmp_path) as (beat_log,),
        ):

            def respondents() -> None:
                for i, token in enumerate(world.tokens):
                    try:
                        page = answer_over_http(web.url, token, nps=3 if i % 2 == 0 else 9)
                        answers[i].append((page.status_code, THANKS in page.text, page.text))
                    except requests.RequestException as exc:
                        answers[i].append((0, False, repr(exc)))
                    time.sleep(0.25)

            assert wait_until(lambda: len(mail.messages) >= 20, timeout=40), states()
            load = threading.Thread(target=respondents)
            load.start()
            time.sleep(1.0)

            pg.stop()
            down_at, mailed_before = time.monotonic(), len(mail.messages)
            page = requests.get(
                f"{web.url}/s/{world.tokens[-1]}/", headers={"Accept-Language": "tr"}, timeout=10
            )
            api = events_over_http(web.url, world.api_key, world.trigger_people[:1])
            time.sleep(max(0.0, down_at + DOWN_FOR - time.monotonic()))
            pg.start()
            up_at, came_back = time.monotonic(), timezone.now()
            connection.close()  # this process's own connection died with the restart
            beat_seen = beat_log.stat().st_size

            assert wait_until(lambda: _serves(web.url, world.tokens[-1]), timeout=20, interval=0.1)
            served_again_in = time.monotonic() - up_at
            load.join(timeout=60)
            for i, token in enumerate(world.tokens):
                if not answers[i] or not answers[i][-1][1]:
                    again = answer_over_http(web.url, token, nps=3 if i % 2 == 0 else 9)
                    answers[i].append((again.status_code, THANKS in again.text, again.text))

            wave = world.wave_rule

            held = []

            def settled() -> bool:
                # A relay cut off by the restart holds its claimed rows for the outbox's lease
                # (five minutes): the drill lets that time pass at once.
                held.append(leases_end(claimed_before=came_back))
                return outbox_settled() and set(states(rule=wave)) == {"sent"}

            assert wait_until(settled, timeout=60, interval=0.5), (
                outbox_states(),
                list(
                    OutboxMessage.objects.filter(state="pending").values(
                        "handler", "attempts", "available_at", "created_at", "last_error"
                    )
                ),
                states(rule=wave),
            )
            time.sleep(1.5)  # a duplicate still on its way would arrive now
            beat_sends = beat_log.read_bytes()[beat_seen:].count(b"Sending due task")
            alive = {"worker": worker.poll() is None, "beat": beat_sends > 0}

        statuses = Counter(status for tries in answers.values() for status, _ok, _t in tries)
        unavailable = [t for tries in answers.values() for s, _ok, t in tries if s == 503]
        mails = invitation_mails(mail)
        completed = Response.objects.filter(completed_on__isnull=False)
        whole = completed.filter(answers__question__key="nps").distinct().count()
        responses = {"completed": completed.count(), "whole": whole}
        responses["unfinished"] = Response.objects.filter(completed_on__isnull=True).count()
        loop = closed_loop()
        wave_states = states(rule=world.wave_rule)
        wave_sent = sent_ids(rule=world.wave_rule)

    assert page.status_code == 503
    assert page.headers["Retry-After"] == "10"
    assert page.headers["Content-Language"] == "tr"
    assert '<html lang="tr"' in page.text
    assert 'href="/static/surveys/survey.css"' in page.text
    assert UNAVAILABLE_TITLE in page.text
    with translation.override("tr"):
        assert translation.gettext("Temporarily unavailable") in page.text
    assert "Traceback" not in page.text
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "10"
    assert set(api.json()) == {"detail"}

    assert set(statuses) <= {200, 503}, statuses
    assert all(UNAVAILABLE_TITLE in text and "Traceback" not in text for text in unavailable)
    assert [tries[-1][:2] for tries in answers.values()] == [(200, True)] * RESPONDENTS
    assert responses == {"completed": RESPONDENTS, "whole": RESPONDENTS, "unfinished": 0}
    assert alive == {"worker": True, "beat": True}

    assert 0 < mailed_before < WAVE
    assert wave_states == {"sent": WAVE}
    assert twice(mails) == []
    assert set(mails) == wave_sent
    assert len(loop["detractors"]) == RESPONDENTS // 2
    assert loop["alerts_per_response"] == Counter(dict.fromkeys(loop["detractors"], 1))
    print(
        f"\nPostgreSQL down {DOWN_FOR:.0f}s: answers {dict(statuses)};"
        f" served again {served_again_in:.1f}s after it was back; {len(mails)} wave e-mails"
        f" ({mailed_before} before the restart);"
        f" {sum(held)} outbox rows held by a relay the restart cut off"
    )


def _serves(base: str, token: str) -> bool:
    try:
        return requests.get(f"{base}/s/{token}/", timeout=5).status_code == 200
    except requests.RequestException:
        return False
