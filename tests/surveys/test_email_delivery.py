"""E-mail as it leaves: List-Id, 7-bit Turkish bodies over a real SMTP server (aiosmtpd), test
messages with their own Message-ID and a working unsubscribe, and the deploy check of the
sender's domain."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks, mail
from django.urls import reverse

from audiences.models import Consent
from surveys.checks import sender_is_deliverable
from surveys.distribution import sending
from surveys.models import Invitation, Question, QuestionType
from tests.surveys.distribution_factories import (
    NOW,
    SmtpSink,
    customers,
    make_invitation,
    make_survey,
    member,
)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _plain_static(settings):
    """Pages render without a collectstatic manifest (the production storage needs one)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def survey():
    survey = make_survey(
        customers(),
        name="Service NPS",
        title={"en": "Our service", "tr": "Hizmet kalitesi ölçümü"},
        languages=["tr", "en"],
        default_language="tr",
    )
    Question.objects.create(
        survey=survey, key="nps", type=QuestionType.NPS, label={"en": "How likely…?", "tr": "Ne?"}
    )
    return survey


@pytest.fixture
def smtp(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    with SmtpSink() as sink:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        yield sink


def _raw(message) -> bytes:  # noqa: ANN001
    return message.as_bytes()


def test_a_turkish_invitation_travels_as_quoted_printable_7bit(survey, smtp):
    ayse = member(customers(), "ayse", name="Ayşe Çağlar Işık", language="tr")
    make_invitation(survey, ayse)
    assert sending.dispatch_batch(now=NOW) == {"claimed": 1, "sent": 1}
    [message] = smtp.messages
    assert _raw(message).isascii()  # no server on the way needs 8BITMIME
    text, html = message.get_payload()
    for part in (text, html):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
    decoded = text.get_payload(decode=True).decode("utf-8")
    assert "Ayşe Çağlar Işık" in decoded and "Hizmet kalitesi ölçümü" in decoded
    assert "Ayşe Çağlar Işık" in html.get_payload(decode=True).decode("utf-8")


def test_an_invitation_names_its_survey_in_list_id(survey, smtp):
    member_en = member(customers(), "bora", language="en")
    member_tr = member(customers(), "cem", language="tr")
    make_invitation(survey, member_en)
    make_invitation(survey, member_tr)
    sending.dispatch_batch(now=NOW)
    by_to = {m["To"]: m for m in smtp.messages}
    english = by_to["bora@example.com"]["List-Id"]
    assert english == f'"Our service" <survey-{survey.pk}.127.0.0.1>'
    turkish = str(by_to["cem@example.com"]["List-Id"])
    # The Turkish title as an encoded word; the id itself stays plain ASCII.
    assert turkish.endswith(f" <survey-{survey.pk}.127.0.0.1>") and "=?utf-8?" in turkish
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(turkish))).startswith("Hizmet kalitesi ölçümü")


def test_each_test_message_has_its_own_message_id_and_a_working_unsubscribe(
    client, xm_manager, survey
):
    client.force_login(xm_manager)
    panel = reverse("admin:surveys_distribution_panel", args=[survey.pk])
    client.post(panel, {"send_test": "1"})
    client.post(panel, {"send_test": "1"})
    first, second = mail.outbox
    ids = {first.extra_headers["Message-ID"], second.extra_headers["Message-ID"]}
    assert len(ids) == 2 and all(i.endswith("@127.0.0.1>") for i in ids)
    assert "X-Invitation-ID" not in first.extra_headers
    assert first.extra_headers["List-Id"] == f'"Our service" <survey-{survey.pk}.127.0.0.1>' or (
        f"<survey-{survey.pk}.127.0.0.1>" in first.extra_headers["List-Id"]
    )
    unsubscribe = re.fullmatch(
        r"<http://127\.0\.0\.1:8000(/s/test/[^/]+/optout/)>",
        first.extra_headers["List-Unsubscribe"],
    ).group(1)
    assert unsubscribe in first.body  # the link in the text is the same
    client.logout()  # the recipient's mail client is not logged in to the admin

    page = client.get(unsubscribe, headers={"accept-language": "en"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Unsubscribe me" in body and "nobody is unsubscribed" in body
    # RFC 8058 one-click: a POST without a CSRF token, as a mail client sends it.
    done = client.post(
        unsubscribe, {"List-Unsubscribe": "One-Click"}, headers={"accept-language": "en"}
    )
    assert done.status_code == 200
    assert "You have been unsubscribed" in done.content.decode()
    assert (Consent.objects.count(), Invitation.objects.count()) == (0, 0)


def test_a_forged_test_unsubscribe_link_is_not_found(client, survey):
    assert client.get(reverse("surveys:test_optout", args=["forged:sig"])).status_code == 404


@pytest.mark.parametrize(
    ("sender", "warned"),
    [
        ("xmplatform <surveys@localhost>", True),
        ("surveys@LOCALHOST.", True),
        ("surveys@mail.localhost", True),
        ("surveys@127.0.0.1", True),
        ("surveys", True),
        ("Surveys <surveys@example.com>", False),
        ("anket@şirket.com.tr", False),
    ],
)
def test_the_deploy_check_warns_about_a_local_sender(settings, sender, warned):
    settings.DEFAULT_FROM_EMAIL = sender
    found = sender_is_deliverable()
    assert [m.id for m in found] == (["surveys.W001"] if warned else [])
    assert all(m.level == checks.WARNING for m in found)


@pytest.mark.startup
def test_check_deploy_reports_the_localhost_default_and_passes_with_a_real_sender():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "xmplatform.settings",
        "DEBUG": "0",
        "SECRET_KEY": "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    }
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    run = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 120}
    local = subprocess.run(command, env=env, check=False, **run)  # noqa: S603
    assert local.returncode != 0
    assert "surveys.W001" in local.stderr + local.stdout
    real = subprocess.run(  # noqa: S603
        command,
        env={**env, "DEFAULT_FROM_EMAIL": "Surveys <surveys@example.com>"},
        check=False,
        **run,
    )
    assert real.returncode == 0, real.stdout + real.stderr
