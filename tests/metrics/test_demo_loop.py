"""The demo closed loop: rules for the demo customers, alerts on recent responses, worked cases."""

import datetime as dt

import pytest
from django.utils import timezone

from metrics.demo import seed_closed_loop
from metrics.models import Alert, AlertRule, Case, CaseStatus
from surveys.models import Response
from tests.metrics.closed_loop_support import contact_survey, submit
from tests.surveys.test_hosted_support import invite

pytestmark = pytest.mark.django_db


def test_seed_opens_cases_for_recent_detractors_works_old_ones_and_runs_once(client):
    survey = contact_survey()
    for i, nps in enumerate(("3", "5", "10")):
        _, token = invite(survey, external_id=f"c-{i}")
        submit(client, token, nps=nps)
    now = timezone.now()
    first = Response.objects.order_by("pk").first()
    Response.objects.filter(pk=first.pk).update(completed_at=now - dt.timedelta(days=10))

    created = seed_closed_loop(now=now)

    assert AlertRule.objects.filter(audience=survey.audience).count() == 3
    # Two detractors (NPS ≤ 6) and three CSAT answers of 2 (≤ 2): five alerts, five cases.
    assert (created["rules"], created["alerts"]) == (3, 5)
    assert Case.objects.count() == Alert.objects.count() == 5
    old = Case.objects.filter(response=first)
    assert set(old.values_list("opened_at", flat=True)) == {now - dt.timedelta(days=10)}
    worked = [c for c in old if c.pk % 5]
    assert created["closed"] == len(worked)
    for case in worked:
        assert case.status in (CaseStatus.RESOLVED, CaseStatus.WONT_FIX)
        assert case.root_cause_id is not None
        assert case.opened_at < case.closed_at < now
    recent = Case.objects.exclude(response=first)
    assert set(recent.values_list("status", flat=True)) == {CaseStatus.NEW}

    assert seed_closed_loop(now=now) == {"rules": 0, "alerts": 0, "closed": 0}
    assert Case.objects.count() == 5


def test_seed_does_nothing_without_the_demo_customers():
    assert seed_closed_loop() == {"rules": 0, "alerts": 0, "closed": 0}
    assert AlertRule.objects.count() == 0
