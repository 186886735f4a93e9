"""The admin in words: the reader's time zone, schedules and delays in words, case titles and
names in the reader's language, the beat pages in Turkish."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from metrics.closedloop import response_rules
from metrics.models import Case
from surveys.admin.forms_distribution import Schedule, crontab_for
from surveys.distribution import planning
from surveys.models import RuleKind
from tests.metrics.closed_loop_support import completed_response, contact_survey, detractor_rule
from tests.surveys.distribution_factories import customers, make_rule, make_survey
from tests.surveys.test_hosted_support import plain_static_files  # noqa: F401 - autouse
from xmplatform.core.time import local_day_start

pytestmark = pytest.mark.django_db

ISTANBUL = zoneinfo.ZoneInfo("Europe/Istanbul")
RAN = dt.datetime(2026, 12, 7, 14, 5, tzinfo=dt.UTC)


def _page(client, url: str, language: str, zone: str | None = None) -> str:  # noqa: ANN001
    client.cookies.pop("xm_tz", None)
    if zone is not None:
        client.cookies["xm_tz"] = zone
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200
    return response.content.decode()


def test_the_readers_zone_moves_the_times_shown_not_the_days_reports_count(
    client, xm_manager
) -> None:  # noqa: ANN001
    rule = make_rule(make_survey(customers()), name="Quarterly pulse")
    type(rule).objects.filter(pk=rule.pk).update(last_run_at=RAN)
    client.force_login(xm_manager)
    url = reverse("admin:surveys_distributionrule_changelist")
    assert "7 Dec 2026, 14:05" in _page(client, url, "en")
    assert "7 Dec 2026, 17:05" in _page(client, url, "en", "Europe/Istanbul")
    assert "7 Aralık 2026 17:05" in _page(client, url, "tr", "Europe/Istanbul")
    # A name the IANA database does not know is ignored: the platform's zone applies.
    for bogus in ("Mars/Olympus_Mons", "../../etc/passwd", "Europe/Istanbul" * 10):
        assert "7 Dec 2026, 14:05" in _page(client, url, "en", bogus)
    with timezone.override(ISTANBUL):
        assert local_day_start(dt.date(2026, 12, 7)) == dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def test_a_wave_reads_when_it_runs_in_words_in_its_zone_and_a_trigger_its_delay(
    client, xm_manager
) -> None:  # noqa: ANN001
    survey = make_survey(customers(), name="Relationship NPS")
    wave = make_rule(survey, RuleKind.WAVE, name="Monthly pulse")
    with timezone.override(ISTANBUL):
        first = dt.datetime(2027, 1, 1, 10, 0, tzinfo=ISTANBUL)
        planning.wave_schedule(rule=wave, crontab=crontab_for(Schedule.MONTHLY, first))
    make_rule(survey, RuleKind.TRIGGER, name="After support", delay=dt.timedelta(days=2))
    client.force_login(xm_manager)
    url = reverse("admin:surveys_distributionrule_changelist")
    english = _page(client, url, "en")
    assert "At 10:00, on day 1 of the month (Europe/Istanbul)" in english
    assert "2 days after" in english
    assert "(m/h/dM/MY/d)" not in english
    turkish = _page(client, url, "tr")
    assert "Saat 10:00, ayın 1. günü (Europe/Istanbul)" in turkish
    assert "sonrasında 2 gün sonra" in turkish
    change = _page(client, reverse("admin:surveys_distributionrule_change", args=[wave.pk]), "tr")
    assert "Saat 10:00, ayın 1. günü (Europe/Istanbul)" in change
    trigger = survey.distribution_rules.get(kind=RuleKind.TRIGGER)
    form = _page(client, reverse("admin:surveys_distributionrule_change", args=[trigger.pk]), "tr")
    assert re.search(r'name="delay"[^>]*value="2 gün"|value="2 gün"[^>]*name="delay"', form)


def test_a_delay_typed_in_words_is_saved_and_a_wrong_one_is_refused_in_words(
    client, xm_manager
) -> None:  # noqa: ANN001
    survey = make_survey(customers(), name="Support CSAT")
    rule = make_rule(survey, RuleKind.TRIGGER, name="After support")
    client.force_login(xm_manager)
    url = reverse("admin:surveys_distributionrule_change", args=[rule.pk])
    data = {
        "survey": survey.pk,
        "name": "After support",
        "kind": RuleKind.TRIGGER,
        "active": "on",
        "channels": "email",
        "touchpoint": "",
        "delay": "1 gün 12 saat",
        "sampling_rate": "1",
        "condition": "{}",
        "segment": "",
        "attribute_filter": "{}",
        "sample_share": "1",
        "schedule": "",
        "cron": "",
        "hourly_cap": "",
        "reminder_count": "0",
        "reminder_after_days": "3",
        "expiry_days": "14",
    }
    survey.touchpoint = None
    refused = client.post(url, {**data, "delay": "soon"}, headers={"accept-language": "tr"})
    assert refused.status_code == 200
    assert "Süreyi sözcüklerle yazın" in refused.content.decode()
    rule.refresh_from_db()
    assert rule.delay == dt.timedelta(0)
    # A trigger needs a touchpoint; the survey has none, so name one of its audience.
    from journeys.models import Journey, Stage, Touchpoint

    journey = Journey.objects.create(audience=survey.audience, name="Support")
    stage = Stage.objects.create(journey=journey, name="Help")
    touchpoint = Touchpoint.objects.create(
        stage=stage, slug="ticket-closed", name="Ticket", channel="web"
    )
    saved = client.post(url, {**data, "touchpoint": touchpoint.pk})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.delay == dt.timedelta(days=1, hours=12)


def test_a_case_title_reads_in_each_readers_language(client, xm_manager) -> None:  # noqa: ANN001
    survey = contact_survey()
    detractor_rule(survey, name="Call back detractors")
    response = completed_response(survey, nps=3)
    with translation.override("tr"):  # the outbox ran while the platform spoke Turkish
        response_rules.response_alerts_open(response_id=response.pk)
    case = Case.objects.get()
    assert case.title == "NPS (0–10) yanıtı 3: Call back detractors"
    with translation.override("en"):
        assert case.title_shown == "NPS (0–10) answer 3: Call back detractors"
        assert case.alert.summary_shown == "NPS (0–10) answer 3: Call back detractors"
    client.force_login(xm_manager)
    page = reverse("admin:metrics_case_change", args=[case.pk])
    assert "NPS (0–10) answer 3: Call back detractors" in _page(client, page, "en")
    assert "yanıtı" not in _page(client, page, "en")
    assert "NPS (0–10) yanıtı 3: Call back detractors" in _page(client, page, "tr")
    listing = _page(client, reverse("admin:metrics_case_changelist"), "en")
    assert "NPS (0–10) answer 3: Call back detractors" in listing
    # A case older than stored messages keeps the title it was opened with.
    Case.objects.filter(pk=case.pk).update(message={})
    assert "NPS (0–10) yanıtı 3: Call back detractors" in _page(client, page, "en")


def test_names_read_in_the_readers_language_and_are_edited_per_language(client, xm_manager) -> None:  # noqa: ANN001
    audience = customers()
    audience.name_translations = {"tr": "Müşteriler", "en": "Customers"}
    audience.name = "Customers"
    audience.save()
    survey = make_survey(audience, name="Relationship NPS")
    survey.name_translations = {"tr": "İlişki NPS"}
    survey.save()
    with translation.override("tr"):
        assert (str(audience), str(survey)) == ("Müşteriler", "İlişki NPS")
    with translation.override("en"):
        assert (str(audience), str(survey)) == ("Customers", "Relationship NPS")
    client.force_login(xm_manager)
    listing = _page(client, reverse("admin:audiences_audience_changelist"), "tr")
    assert "Müşteriler" in listing
    url = reverse("admin:audiences_audience_change", args=[audience.pk])
    form = _page(client, url, "tr")
    assert 'name="name_translations_en"' in form
    assert 'name="name_translations_tr" value="Müşteriler"' in form
    saved = client.post(
        url,
        {
            "slug": audience.slug,
            "name": "Customers",
            "name_translations_en": "Our customers",
            "name_translations_tr": "  ",
            "kind": audience.kind,
            "owner": audience.owner_id,
            "priority": "100",
            "description": "",
            "anonymity_threshold": "5",
            "retention_months": "",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    audience.refresh_from_db()
    assert audience.name_translations == {"en": "Our customers"}
    with translation.override("tr"):
        assert str(audience) == "Customers"


BEAT_ENGLISH = (
    "Task (registered)",
    "Interval Schedule",
    "Crontab Schedule",
    "Solar Schedule",
    "Clocked Schedule",
    "Positional Arguments",
    "Keyword Arguments",
    "Execution Options",
    "Expires Datetime",
    "Start Datetime",
    "One-off Task",
    "Last Run Datetime",
    "Short Description For This Task",
)


def test_the_turkish_beat_pages_have_no_english_labels_and_read_schedules_in_words(
    client, xm_manager
) -> None:  # noqa: ANN001
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab = CrontabSchedule.objects.create(
        minute="0",
        hour="10",
        day_of_month="1",
        month_of_year="*",
        day_of_week="*",
        timezone="Europe/Istanbul",
    )
    PeriodicTask.objects.create(name="wave-1", task="surveys.wave_run_task", crontab=crontab)
    client.force_login(xm_manager)
    add = _page(client, reverse("admin:django_celery_beat_periodictask_add"), "tr")
    labels = " ".join(re.findall(r"<label[^>]*>(.*?)</label>", add, flags=re.S))
    headings = " ".join(re.findall(r"<h2[^>]*>(.*?)</h2>", add, flags=re.S))
    for english in BEAT_ENGLISH:
        assert english not in labels + headings, english
    assert "Aralıklı zamanlama" in labels
    listing = _page(client, reverse("admin:django_celery_beat_periodictask_changelist"), "tr")
    assert "Saat 10:00, ayın 1. günü (Europe/Istanbul)" in listing
    # The package's __str__ (a cron line) stays in the checkbox's label only.
    assert "(m/h/dM/MY/d)" not in re.sub(r'aria-label="[^"]*"', "", listing)
    crontabs = _page(client, reverse("admin:django_celery_beat_crontabschedule_changelist"), "en")
    assert "At 10:00, on day 1 of the month (Europe/Istanbul)" in crontabs
