"""Kiosk mode of public links: device tokens, revoke, many responses per device with each
submission accepted once (also two at once, on PostgreSQL), clear refusals of bad input, and
nothing that ties an anonymous answer to its device."""

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from audiences.models import AudienceKind, Role
from surveys.kiosk.models import KioskDevice, KioskSubmission
from surveys.kiosk.services import kiosk_device_issue, kiosk_device_revoke, kiosk_submit
from surveys.kiosk.views import DEVICE_COOKIE
from surveys.models import Presentation, PublicLink, QuestionType, Response, SurveyStatus
from surveys.services import ANONYMOUS_IDS, survey_questions
from tests.access.conftest import staff_with_grant
from tests.factories import make_audience, make_user
from tests.surveys.test_hosted_support import add_question, make_survey

KEY_1 = "k1-aaaaaaaaaaaaaaaaaaaa"
KEY_2 = "k2-bbbbbbbbbbbbbbbbbbbb"


def kiosk_world(slug: str = "lobby", **survey: Any) -> tuple[PublicLink, KioskDevice, str]:
    """A live NPS + comment survey with a public link and one kiosk device (and its token)."""
    s = make_survey(**survey)
    add_question(s, "nps", QuestionType.NPS, order=1, required=True)
    add_question(s, "comment", QuestionType.TEXT, order=2, required=False)
    link = PublicLink.objects.create(survey=s, slug=slug)
    device = KioskDevice(public_link=link, name="Lobby tablet")
    token = kiosk_device_issue(device=device)
    return link, device, token


def kiosk_client(token: str) -> Client:
    client = Client()
    client.cookies[DEVICE_COOKIE] = token
    return client


@pytest.mark.django_db
def test_setup_link_keeps_the_token_in_a_cookie_and_only_its_hash_is_stored():
    link, device, token = kiosk_world()
    client = Client()

    page = client.get(f"/p/lobby/kiosk/setup/{token}/")
    other = "y" if token.endswith("x") else "x"  # a token one character off
    wrong = Client().get(f"/p/lobby/kiosk/setup/{token[:-1]}{other}/")

    assert page.status_code == 303
    assert page["Location"] == "/p/lobby/kiosk/"
    cookie = page.cookies[DEVICE_COOKIE]
    assert cookie.value == token
    assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (
        True,
        "Lax",
        "/p/lobby/kiosk/",
    )
    assert len(token) >= 32 and token not in device.token_hash
    assert not KioskDevice.objects.filter(token_hash=token).exists()
    assert wrong.status_code == 404
    # The cookie opens the kiosk page.
    kiosk = client.get("/p/lobby/kiosk/")
    assert kiosk.status_code == 200
    assert b'name="submission"' in kiosk.content


@pytest.mark.django_db
def test_a_one_question_survey_gives_kiosk_js_its_steps_and_a_pages_survey_does_not():
    _link, _device, stepped_token = kiosk_world(presentation=Presentation.ONE_QUESTION)
    _link, _device, paged_token = kiosk_world(slug="hall", audience=make_audience("hall"))

    english = kiosk_client(stepped_token).get("/p/lobby/kiosk/?lang=en").content.decode()
    turkish = kiosk_client(stepped_token).get("/p/lobby/kiosk/?lang=tr").content.decode()
    paged = kiosk_client(paged_token).get("/p/hall/kiosk/?lang=en").content.decode()

    assert 'data-one-question="1"' in english
    assert 'data-words="Question {number} of {total}"' in english
    assert 'data-words="Soru {number} / {total}"' in turkish
    assert '<div class="kiosk-question" data-key="nps" data-required="1">' in english
    assert '<div class="kiosk-question" data-key="comment">' in english
    assert '<button type="button" class="button" id="kiosk-next" hidden>Next</button>' in english
    back = '<button type="button" class="button secondary" id="kiosk-back" hidden>Geri</button>'
    assert back in turkish
    assert "Lütfen bu soruyu yanıtlayın." in turkish  # the hosted page's error, for kiosk.js
    # Without kiosk.js it is the whole form, and survey.js (the hosted pages' steps) stays out.
    assert '<button type="submit" class="button">Submit</button>' in english
    assert "<body>" in english
    for markup in ("data-one-question", "kiosk-progress", "kiosk-next", "data-required"):
        assert markup not in paged
    assert '<div class="kiosk-question" data-key="nps">' in paged


@pytest.mark.django_db
def test_a_device_takes_many_responses_and_each_submission_once():
    link, device, token = kiosk_world()
    client = kiosk_client(token)

    first = client.post("/p/lobby/kiosk/", {"submission": KEY_1, "q-nps": "9", "lang": "en"})
    again = client.post("/p/lobby/kiosk/", {"submission": KEY_1, "q-nps": "2", "lang": "en"})
    second = client.post("/p/lobby/kiosk/", {"submission": KEY_2, "q-nps": "3"})
    queued = client.post(
        "/p/lobby/kiosk/",
        {"submission": "k3-cccccccccccccccccccc", "q-nps": "10"},
        headers={"X-Kiosk-Delivery": "queued"},
    )
    thanks = client.get(first["Location"])

    assert (first.status_code, again.status_code, second.status_code) == (303, 303, 303)
    assert first["Location"] == "/p/lobby/kiosk/?done=1&lang=en"
    assert queued.status_code == 204
    assert thanks.status_code == 200 and b"Thanks a lot!" in thanks.content
    assert b'data-thank-you-seconds="10"' in thanks.content
    # The one-per-browser cookie plays no part: one client, three responses, no xm_browser.
    assert "xm_browser" not in client.cookies
    scores = sorted(
        Response.objects.filter(public_link=link, completed_on__isnull=False).values_list(
            "answers__number", flat=True
        )
    )
    assert scores == [3, 9, 10]  # the replay of KEY_1 changed nothing
    assert KioskSubmission.objects.filter(device=device).count() == 3
    assert KioskSubmission.objects.filter(device=device, response__isnull=False).count() == 3


@pytest.mark.django_db
def test_a_revoked_device_is_refused_and_its_setup_link_is_void():
    link, device, token = kiosk_world()
    client = kiosk_client(token)

    assert kiosk_device_revoke(devices=KioskDevice.objects.all()) == 1
    page = client.get("/p/lobby/kiosk/", {"lang": "en"})
    post = client.post("/p/lobby/kiosk/", {"submission": KEY_1, "q-nps": "9"})
    setup = Client().get(f"/p/lobby/kiosk/setup/{token}/")

    assert (page.status_code, post.status_code, setup.status_code) == (403, 403, 404)
    assert "This device is not set up as a kiosk" in page.content.decode()
    assert not Response.objects.exists()
    # A device given a new token works again with the new one only.
    device.revoked_at = None
    new = kiosk_device_issue(device=device)
    assert kiosk_client(new).get("/p/lobby/kiosk/").status_code == 200
    assert kiosk_client(token).get("/p/lobby/kiosk/").status_code == 403


@pytest.mark.django_db
def test_bad_keys_and_garbage_are_refused_clearly_and_never_a_500():
    link, device, token = kiosk_world()
    client = kiosk_client(token)
    cases = [
        ({"q-nps": "9"}, 400, "submission key is missing or malformed"),
        ({"submission": "short", "q-nps": "9"}, 400, "submission key is missing or malformed"),
        ({"submission": "x" * 65, "q-nps": "9"}, 400, "submission key is missing or malformed"),
        ({"submission": "bad key with spaces!!", "q-nps": "9"}, 400, "malformed"),
        ({"submission": KEY_1, "q-nps": "eleven"}, 400, "Some answers need your attention"),
        ({"submission": KEY_1, "q-nps": "11"}, 400, "Some answers need your attention"),
        ({"submission": KEY_1}, 400, "Please answer this question."),
        ({"submission": KEY_1, "q-nps": "5", "q-comment": "x" * 9000}, 400, "attention"),
    ]
    for data, status, text in cases:
        page = client.post("/p/lobby/kiosk/", {**data, "lang": "en"})
        assert page.status_code == status, data
        assert text in page.content.decode(), data
    # A refused answer keeps its key, so the corrected one is still one submission.
    assert (
        f'value="{KEY_1}"' in client.post("/p/lobby/kiosk/", {"submission": KEY_1}).content.decode()
    )
    assert not Response.objects.exists() and not KioskSubmission.objects.exists()

    assert Client().get("/p/lobby/kiosk/").status_code == 403  # no device cookie
    assert kiosk_client("garbage" * 20).get("/p/lobby/kiosk/").status_code == 403
    assert client.get("/p/nowhere/kiosk/").status_code == 404
    assert client.put("/p/lobby/kiosk/").status_code == 405
    assert Client().get("/p/lobby/kiosk/setup/%00%ff/").status_code == 404
    link.survey.status = SurveyStatus.CLOSED
    link.survey.save(update_fields=["status"])
    assert client.post("/p/lobby/kiosk/", {"submission": KEY_2, "q-nps": "1"}).status_code == 410


@pytest.mark.django_db
def test_the_service_worker_is_served_under_the_kiosk_page_with_a_strict_policy():
    kiosk_world()

    worker = Client().get("/p/lobby/kiosk/sw.js")
    page = kiosk_client(KioskDevice.objects.get().token_hash).get("/p/lobby/kiosk/")

    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Cache-Control"] == "no-cache"
    assert 'var START = "/p/lobby/kiosk/";' in worker.content.decode()
    assert "script-src 'self'" in worker["Content-Security-Policy"]
    assert page.status_code == 403  # the stored hash is not a token


@pytest.mark.django_db
def test_an_anonymous_kiosk_answer_names_no_device_nor_time_below_superuser():
    employees = make_audience("employees", kind=AudienceKind.EMPLOYEE)
    link, device, token = kiosk_world(audience=employees, anonymous=True)
    superuser = make_user("root", is_superuser=True, is_staff=True)
    analyst = Client()
    analyst.force_login(staff_with_grant("hr.analyst", employees, Role.ANALYST, superuser))
    manager = Client()
    manager.force_login(staff_with_grant("hr.manager", employees, Role.MANAGER, superuser))

    for n, key in enumerate([KEY_1, KEY_2]):
        answer = {"submission": key, "q-nps": str(n), "q-comment": "my boss"}
        assert kiosk_client(token).post("/p/lobby/kiosk/", answer).status_code == 303

    responses = Response.objects.filter(survey=link.survey)
    assert responses.count() == 2
    # No start, completion time or user agent; the day is the period's first; no device link.
    assert set(responses.values_list("started_at", "completed_at", "user_agent")) == {
        (None, None, "")
    }
    assert not KioskSubmission.objects.filter(response__isnull=False).exists()
    # Random ids: the order of the device's rows does not pair them with the answers' order.
    assert all(
        pk >= ANONYMOUS_IDS[0] for pk in KioskSubmission.objects.values_list("pk", flat=True)
    )
    assert not Response.objects.filter(kiosk_submissions__isnull=False).exists()
    # The HR insider: no row, no lookup through submissions, no device list.
    listing = analyst.get("/admin/surveys/response/")
    assert listing.status_code == 200 and "Lobby tablet" not in listing.content.decode()
    for lookup in ("kiosk_submissions__device", "kiosk_submissions__device__name"):
        assert analyst.get("/admin/surveys/response/", {lookup: device.pk}).status_code == 400
    assert analyst.get("/admin/surveys/kioskdevice/").status_code == 403
    # The manager sees the device (to revoke it) but nothing of when or how often it was used.
    devices = manager.get("/admin/surveys/kioskdevice/")
    assert devices.status_code == 200 and "Lobby tablet" in devices.content.decode()
    change = manager.get(f"/admin/surveys/kioskdevice/{device.pk}/change/").content.decode()
    assert "my boss" not in change and "submission" not in change.lower()


@pytest.mark.django_db
def test_managers_register_and_revoke_devices_of_their_audiences_only():
    link, device, token = kiosk_world()
    superuser = make_user("root", is_superuser=True, is_staff=True)
    manager = Client()
    manager.force_login(
        staff_with_grant("cx.manager", link.survey.audience, Role.MANAGER, superuser)
    )
    outsider = Client()
    outsider.force_login(
        staff_with_grant("outsider", make_audience("shops"), Role.MANAGER, superuser)
    )

    added = manager.post(
        "/admin/surveys/kioskdevice/add/",
        {"public_link": link.pk, "name": "Till 2"},
        follow=True,
    )
    text = added.content.decode()
    new = KioskDevice.objects.get(name="Till 2")
    setup = text.split("/p/lobby/kiosk/setup/")[1].split("/")[0]

    assert added.status_code == 200
    assert kiosk_client(setup).get("/p/lobby/kiosk/").status_code == 200
    # The link's page lists its devices and sets its kiosk times.
    link_page = manager.get(f"/admin/surveys/publiclink/{link.pk}/change/").content.decode()
    assert "Lobby tablet" in link_page and "Till 2" in link_page
    assert (
        'name="kiosk_thank_you_seconds"' in link_page and 'name="kiosk_idle_seconds"' in link_page
    )
    assert outsider.get(f"/admin/surveys/publiclink/{link.pk}/change/").status_code in (302, 403)
    assert outsider.get("/admin/surveys/kioskdevice/").content.decode().count("Till 2") == 0
    assert outsider.get(f"/admin/surveys/kioskdevice/{new.pk}/change/").status_code in (
        302,
        403,
        404,
    )
    revoked = manager.post(
        "/admin/surveys/kioskdevice/",
        {"action": "revoke", "_selected_action": [new.pk, device.pk]},
    )
    assert revoked.status_code == 302
    assert KioskDevice.objects.filter(revoked_at__isnull=True).count() == 0
    assert kiosk_client(setup).get("/p/lobby/kiosk/").status_code == 403


def submit_twice_at_once(device: KioskDevice) -> tuple[dict[str, Any], list[BaseException]]:
    """The same submission from two connections, the second while the first is uncommitted."""
    questions = survey_questions(survey=device.public_link.survey)
    first_written, release = threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}
    errors: list[BaseException] = []

    def submit(name: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                outcomes[name] = kiosk_submit(
                    device=device, key=KEY_1, questions=questions, values={"nps": 7}, language="tr"
                )
                if hold:  # the first keeps its transaction open until the second is waiting
                    first_written.set()
                    release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
            first_written.set()
        finally:
            connection.close()

    first = threading.Thread(target=submit, args=("first", True))
    first.start()
    assert first_written.wait(10)
    second = threading.Thread(target=submit, args=("second", False))
    second.start()
    time.sleep(0.3)  # the second now waits on the unique index for the first's commit
    waited = "second" not in outcomes
    release.set()
    first.join(20)
    second.join(20)
    assert waited
    return outcomes, errors


@pytest.mark.django_db(transaction=True)
def test_the_same_submission_twice_at_once_makes_one_response(needs_postgres):  # noqa: ANN001
    named, _named_device, _token = kiosk_world()
    anonymous, _device, _token = kiosk_world(
        audience=make_audience("employees", kind=AudienceKind.EMPLOYEE),
        anonymous=True,
        slug="pulse",
    )
    for link in (named, anonymous):
        outcomes, errors = submit_twice_at_once(link.kiosk_devices.get())

        assert errors == []
        assert (outcomes["first"].replay, outcomes["second"].replay) == (False, True)
        assert Response.objects.filter(survey=link.survey).count() == 1
        assert KioskSubmission.objects.filter(device__public_link=link).count() == 1
