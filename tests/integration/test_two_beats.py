"""Fault drill: two beat processes at once (a common deployment mistake) do nothing twice.

Both beats run django-celery-beat's database schedule against two workers. Their intervals
are scaled 60 times down (BEAT_INTERVAL_SCALE): the minute entries (outbox sweep, dispatcher)
fire every second, the 15-minute ones (reminders) every 15 s, and so on, never below a second.
The drill's 16 s therefore hold sixteen minutes of the minute entries and a firing of the
15-minute ones, each fired by both beats close together: more chances for a duplicate than a
few minutes of the real schedule give, at the timing where two beats collide.

Owed while they run: a wave sampled at 10 % and scheduled once (both beats fire it), trigger
events in the outbox, reminders for invitations sent four days ago, and webhook posts due for
a retry. Afterwards the wave has one run and its sample, each invitation is e-mailed once and
each reminder sent once, each webhook delivery posted once, and each outbox row done once.
"""

import datetime as dt
import time
from collections import Counter

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.distribution.planning import wave_schedule
from surveys.models import (
    ContactKind,
    ContactLedger,
    DistributionRule,
    Invitation,
    RuleKind,
    WaveRun,
)
from tests.integration.checks import (
    invitation_mails,
    outbox_settled,
    outbox_states,
    sent_ids,
    states,
    twice,
)
from tests.integration.world import drill_world
from tests.support.workers import celery_beats, celery_workers, process_env, wait_until
from xmplatform.api.models import DeliveryState, Webhook, WebhookDelivery

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUN = 16.0  # the 15-minute entries (reminders) fire once per beat at 15 s
WAVE = 400
SHARE = 0.1
EVENTS = 20
REMINDED = 20
RETRIES = 10


def _owed_reminders(world) -> list[int]:  # noqa: ANN001
    """The respondents' invitations, sent four days ago by a rule that reminds after three."""
    rule = DistributionRule.objects.create(
        survey=world.hosted,
        name="Reminded wave",
        kind=RuleKind.WAVE,
        segment="nobody",
        channels=["email"],
        reminder_count=1,
        reminder_after_days=3,
    )
    now = timezone.now()
    invitations = Invitation.objects.filter(survey=world.hosted)
    invitations.update(
        rule=rule, sent_at=now - dt.timedelta(days=4), expires_at=now + dt.timedelta(days=10)
    )
    return list(invitations.values_list("pk", flat=True))


def _retries_due(url: str) -> list[int]:
    """Deliveries whose first post failed a while ago: the retry beat owes them a post."""
    webhook = Webhook.objects.create(name="BI", url=url, secret="x" * 32, events=["alert.opened"])
    past = timezone.now() - dt.timedelta(seconds=1)
    return [
        WebhookDelivery.objects.create(
            webhook=webhook,
            event="alert.opened",
            object_id=i,
            payload={"event": "alert.opened", "data": {"id": i}},
            attempts=1,
            last_attempt_at=past,
            next_attempt_at=past,
        ).pk
        for i in range(1, RETRIES + 1)
    ]


def test_two_beats_do_no_periodic_work_twice(tmp_path, mail, hooks) -> None:
    world = drill_world(
        respondents=REMINDED, trigger_people=EVENTS, wave_people=WAVE, wave_share=SHARE
    )
    reminded = _owed_reminders(world)
    retried = _retries_due(hooks.url)
    shop = APIClient()
    shop.credentials(HTTP_AUTHORIZATION=f"Bearer {world.api_key}")
    now = timezone.now().isoformat()
    for person in world.trigger_people:
        body = [{"person": person, "touchpoint": "checkout", "occurred_at": now}]
        assert shop.post("/api/v1/events/", body, format="json").status_code == 200
    wave_schedule(rule=world.wave_rule, once_at=timezone.now())  # due as the beats start

    env = process_env(
        EMAIL_URL=f"smtp://127.0.0.1:{mail.port}",
        WEBHOOK_ALLOW_PRIVATE="1",
        BEAT_INTERVAL_SCALE=str(1 / 60),
    )
    with (
        celery_workers(2, concurrency=2, pool="threads", env=env),
        celery_beats(2, env, tmp_path) as logs,
    ):
        started = time.monotonic()
        time.sleep(RUN)
        trigger, wave = world.trigger_rule, world.wave_rule

        def settled() -> bool:
            return (
                outbox_settled()
                and set(states(rule__in=[trigger, wave])) == {"sent"}
                and not WebhookDelivery.objects.filter(state=DeliveryState.PENDING).exists()
            )

        assert wait_until(settled, timeout=30), (outbox_states(), states(rule__in=[trigger, wave]))
        time.sleep(2)  # a late duplicate would arrive now
        ran = time.monotonic() - started
    sweeps = [log.read_text().count("Sending due task core-outbox-sweep") for log in logs]

    runs = list(WaveRun.objects.filter(rule=world.wave_rule).values_list("planned", flat=True))
    wave_people = list(
        Invitation.objects.filter(rule=world.wave_rule).values_list("person_id", flat=True)
    )
    assert len(runs) == 1
    assert runs == [len(wave_people)]
    assert 0 < len(wave_people) < WAVE // 4  # a 10 % sample, drawn once
    assert twice(Counter(wave_people)) == []
    assert states(rule=world.wave_rule) == {"sent": len(wave_people)}
    per_event = Counter(
        Invitation.objects.filter(rule=world.trigger_rule).values_list("event_id", flat=True)
    )
    assert len(per_event) == EVENTS
    assert set(per_event.values()) == {1}

    mails = invitation_mails(mail)
    assert twice(mails) == []
    expected = sent_ids(rule__in=[world.trigger_rule, world.wave_rule])
    assert set(mails) == expected | {str(pk) for pk in reminded}
    assert set(
        Invitation.objects.filter(pk__in=reminded).values_list("reminders_sent", flat=True)
    ) == {1}
    assert (
        ContactLedger.objects.filter(invitation__in=reminded, kind=ContactKind.REMINDER).count()
        == REMINDED
    )

    assert hooks.deliveries() == Counter({str(pk): 1 for pk in retried})
    assert outbox_states() == {"done": outbox_states()["done"]}
    assert min(sweeps) >= RUN / 2  # both beats fired the minute's sweep every second or so
    print(
        f"\ntwo beats for {ran:.0f}s: sweeps sent {sweeps}; wave sample {len(wave_people)} of"
        f" {WAVE} in one run; {len(mails)} e-mails, none twice"
    )
