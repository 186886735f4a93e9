"""A real browser over a distribution rule and a case, in Turkish and English, on a phone and
a desktop, in the reader's time zone: schedules, delays, dates and titles read in words."""

import datetime as dt
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone, translation

from metrics.closedloop import response_rules
from metrics.models import Case
from surveys.admin.forms_distribution import Schedule, crontab_for
from surveys.distribution import planning
from surveys.models import RuleKind
from tests.metrics.closed_loop_support import completed_response, contact_survey, detractor_rule
from tests.support.browser import DEVICES, LOCALES
from tests.surveys.distribution_factories import make_rule

ISTANBUL = zoneinfo.ZoneInfo("Europe/Istanbul")

EXPECTED = {
    "en": {
        "schedule": "At 10:00, on day 1 of the month (Europe/Istanbul)",
        "title": "NPS (0–10) answer 3: Call back detractors",
        "due": "Due",
    },
    "tr": {
        "schedule": "Saat 10:00, ayın 1. günü (Europe/Istanbul)",
        "title": "NPS (0–10) yanıtı 3: Call back detractors",
        "due": "Son tarih",
    },
}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_rule_and_a_case_read_in_words_in_each_language_and_device(
    chromium, shots, live_server, xm_manager
) -> None:  # noqa: ANN001
    survey = contact_survey()
    survey.name_translations = {"tr": "Hizmet NPS", "en": "Service NPS"}
    survey.save()
    wave = make_rule(survey, RuleKind.WAVE, name="Monthly pulse", channels=["email"])
    with timezone.override(ISTANBUL):
        first = dt.datetime(2027, 1, 1, 10, 0, tzinfo=ISTANBUL)
        planning.wave_schedule(rule=wave, crontab=crontab_for(Schedule.MONTHLY, first))
    detractor_rule(survey, name="Call back detractors", sla=dt.timedelta(days=2))
    response = completed_response(survey, nps=3)
    with translation.override("tr"):
        response_rules.response_alerts_open(response_id=response.pk)
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(due_at=dt.datetime(2026, 12, 7, 14, 5, tzinfo=dt.UTC))

    client = Client()
    client.force_login(xm_manager)
    session = client.cookies["sessionid"].value
    pages = {
        "rule": f"/admin/surveys/distributionrule/{wave.pk}/change/",
        "case": f"/admin/metrics/case/{case.pk}/change/",
    }
    for language, expected in EXPECTED.items():
        for device in DEVICES:
            # The browser is in Istanbul: the frame's script names that zone in `xm_tz` too.
            page = chromium.new_context(
                locale=LOCALES[language], timezone_id="Europe/Istanbul", **DEVICES[device]
            ).new_page()
            page.context.add_cookies(
                [
                    {"name": "sessionid", "value": session, "url": live_server.url},
                    {"name": "xm_tz", "value": "Europe/Istanbul", "url": live_server.url},
                    {"name": "django_language", "value": language, "url": live_server.url},
                ]
            )
            page.goto(live_server.url + pages["rule"])
            text = page.inner_text("#content")
            assert expected["schedule"] in text
            assert "(m/h/dM/MY/d)" not in text
            page.screenshot(path=str(shots / f"h5-rule-{language}-{device}.png"), full_page=True)

            page.goto(live_server.url + pages["case"])
            text = page.inner_text("#content")
            assert expected["title"] in text
            # 14:05 UTC is 17:05 in Istanbul, in the language's one format.
            due = page.input_value("#id_due_at_0"), page.input_value("#id_due_at_1")
            assert due[1].startswith("17:05"), due
            page.screenshot(path=str(shots / f"h5-case-{language}-{device}.png"), full_page=True)
            page.context.close()
