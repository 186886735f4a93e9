"""Journeys read with their stages and touchpoint slugs; distribution rules created through the
API, checked as the admin's rule form checks them, within the key's audiences."""

import datetime as dt

import pytest
from django.utils import timezone

from surveys.models import DistributionRule
from tests.api.conftest import client_for
from tests.factories import make_touchpoint

pytestmark = pytest.mark.django_db


def test_journeys_list_stages_and_touchpoints_with_their_slugs(
    api, hr, world, django_assert_max_num_queries
):
    make_touchpoint(world.customers, slug="delivery", stage_name="Delivery", order=2)

    with django_assert_max_num_queries(6):  # key, key touch, journeys, stages, touchpoints
        journeys = api.get("/api/v1/journeys/").json()

    assert [(j["audience"], [s["name"] for s in j["stages"]]) for j in journeys] == [
        ("customers", ["Purchase", "Delivery"]),
        ("employees", ["Onboarding"]),
    ]
    customers = journeys[0]
    assert customers["stages"][0]["touchpoints"] == [
        {"slug": "checkout", "name": "Checkout", "channel": "web", "role": "", "order": 0}
    ]
    assert api.get(f"/api/v1/journeys/{customers['id']}/").json() == customers
    assert [j["audience"] for j in hr.get("/api/v1/journeys/").json()] == ["employees"]
    hidden, missing = (
        hr.get(f"/api/v1/journeys/{customers['id']}/"),
        hr.get("/api/v1/journeys/999999/"),
    )
    assert hidden.status_code == missing.status_code == 404


def test_a_trigger_rule_is_created_with_defaults(api, world):
    created = api.post(
        "/api/v1/distribution-rules/",
        {
            "survey": world.customer_survey.pk,
            "name": "After checkout",
            "kind": "trigger",
            "delay": 3600,
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    rule = DistributionRule.objects.get(pk=created.json()["id"])
    assert (rule.touchpoint, rule.delay, rule.channels) == (
        None,
        dt.timedelta(hours=1),
        ["email", "sms"],
    )
    assert created.json()["delay_seconds"] == 3600
    assert (created.json()["sampling_rate"], created.json()["expiry_days"]) == (1.0, 14)


def test_a_wave_is_created_and_scheduled(api, world):
    first_run = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)

    created = api.post(
        "/api/v1/distribution-rules/",
        {
            "survey": world.customer_survey.pk,
            "name": "Monthly pulse",
            "kind": "wave",
            "segment": "premium",
            "schedule": "monthly",
            "first_run": first_run.isoformat(),
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["scheduled"] is True
    rule = DistributionRule.objects.get(pk=created.json()["id"])
    assert rule.periodic_task.crontab.day_of_month == str(
        min(timezone.localtime(first_run).day, 28)
    )


def test_a_refused_rule_names_its_fields_and_stores_nothing(api, hr, read_only_key, world):
    survey = world.customer_survey.pk
    cases = [
        ({"kind": "trigger", "touchpoint": "onboarding"}, "touchpoint"),
        ({"kind": "wave", "schedule": "cron", "cron": "every day"}, "cron"),
        ({"kind": "wave", "schedule": "once"}, "first_run"),
        ({"kind": "trigger", "channels": ["pigeon"]}, "channels"),
        ({"kind": "trigger", "condition": {"a__b": 1}}, "condition"),
        ({"kind": "ring"}, "kind"),
    ]
    for extra, field in cases:
        refused = api.post(
            "/api/v1/distribution-rules/",
            {"survey": survey, "name": "r", **extra},
            format="json",
        )
        assert refused.status_code == 400, extra
        assert list(refused.json()) == [field], refused.json()
    outside = hr.post(
        "/api/v1/distribution-rules/",
        {"survey": survey, "name": "r", "kind": "trigger"},
        format="json",
    )
    assert (outside.status_code, outside.json()) == (400, {"survey": ["No survey has this id."]})
    read_only = client_for(read_only_key)
    assert read_only.post("/api/v1/distribution-rules/", {}, format="json").status_code == 403
    assert not DistributionRule.objects.exists()
