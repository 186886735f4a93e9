"""Channels against real local servers: SMTP (aiosmtpd) and a fake Twilio REST API."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from surveys.distribution import channels, sending
from surveys.distribution.channels import email
from surveys.distribution.channels.sms import SmsChannel
from surveys.models import ContactLedger, Invitation, Question
from tests.support.servers import POLL_SECONDS
from tests.surveys.distribution_factories import (
    NOW,
    SmtpSink,
    customers,
    make_invitation,
    make_survey,
    member,
)

pytestmark = pytest.mark.django_db


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
        customers(), name="Service NPS", title={"en": "Our service", "tr": "Hizmet"}
    )
    Question.objects.create(
        survey=survey, key="nps", type="nps", label={"en": "How likely…?", "tr": "Ne kadar…?"}
    )
    return survey


def test_real_smtp_delivery_carries_a_link_that_opens_the_survey(survey, settings, client):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    ayse = member(customers(), "ayse", name="Ayşe", language="en")
    inv = make_invitation(survey, ayse)
    with SmtpSink() as sink:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        counts = sending.dispatch_batch(now=NOW)
    assert counts == {"claimed": 1, "sent": 1}
    [message] = sink.messages
    assert message["X-Invitation-ID"] == str(inv.id)
    assert message["Message-ID"] == f"<invitation-{inv.id}@127.0.0.1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_payload()[0].get_payload(decode=True).decode()
    url = re.search(r"http://127\.0\.0\.1:8000(/s/[^/\s]+/)", text).group(1)
    page = client.get(url)
    assert page.status_code == 200
    assert "How likely" in page.content.decode()
    optout = re.search(r"<http://127\.0\.0\.1:8000(/s/[^>]+/optout/)>", message["List-Unsubscribe"])
    assert client.get(optout.group(1)).status_code == 200
    inv.refresh_from_db()
    assert (inv.state, inv.sent_at) == ("opened", NOW)  # following the link marked it opened


class FakeTwilio(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self) -> None:  # noqa: N802
        body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        FakeTwilio.requests.append(
            {
                "path": urlparse(self.path).path,
                "body": body,
                "auth": self.headers["Authorization"],
                "key": self.headers["I-Twilio-Idempotency-Token"],
            }
        )
        if body["To"] == ["+900000000000"]:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b'{"code": 21211, "message": "Invalid To number"}')
            return
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"sid": f"SM{len(FakeTwilio.requests)}"}).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def twilio(settings):
    server = HTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    FakeTwilio.requests = []
    settings.SURVEY_SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC123", "secret"
    settings.TWILIO_FROM = "+15550000000"
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{server.server_port}"
    yield FakeTwilio
    server.shutdown()


def test_twilio_adapter_posts_each_sms_with_an_idempotency_key(survey, twilio):
    good = make_invitation(
        survey, member(customers(), "ayse", phone="+905551112233"), channel="sms"
    )
    bad = make_invitation(survey, member(customers(), "bora", phone="+900000000000"), channel="sms")
    invitations = Invitation.objects.select_related("survey", "person").order_by("id")
    results = SmsChannel().send(list(invitations))
    assert [(r.invitation_id, r.outcome, r.message_id) for r in results] == [
        (good.id, channels.Outcome.SENT, "SM1"),
        (bad.id, channels.Outcome.FAILED, ""),
    ]
    first = twilio.requests[0]
    assert first["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert first["body"]["From"] == ["+15550000000"]
    assert first["key"] == f"<invitation-{good.id}@127.0.0.1>"
    assert first["auth"].startswith("Basic ")
    assert "/s/" in first["body"]["Body"][0] and "/optout/" in first["body"]["Body"][0]


def test_unreachable_twilio_hands_the_batch_back(survey, settings):
    settings.SURVEY_SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC123", "secret"
    settings.TWILIO_FROM = "+15550000000"
    settings.TWILIO_API_BASE = "http://127.0.0.1:1"
    inv = make_invitation(survey, member(customers(), "ayse", phone="+905551112233"), channel="sms")
    counts = sending.dispatch_batch(now=NOW)
    inv.refresh_from_db()
    assert (counts["released"], inv.state) == (1, "planned")


def test_file_sms_provider_writes_one_json_line_per_message(survey, settings, tmp_path):
    settings.SURVEY_SMS_PROVIDER = "file"
    settings.SURVEY_SMS_FILE = str(tmp_path / "sms.jsonl")
    ayse = member(customers(), "ayse", phone="+905551112233", language="tr")
    inv = make_invitation(survey, ayse, channel="sms")
    assert sending.dispatch_batch(now=NOW) == {"claimed": 1, "sent": 1}
    [line] = (tmp_path / "sms.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["to"] == "+905551112233"
    assert record["key"] == f"<invitation-{inv.id}@127.0.0.1>"
    assert "Hizmet" in record["body"]


def _parts(message) -> tuple:  # noqa: ANN001
    return (message.subject, message.body, message.alternatives, message.to, message.extra_headers)


def test_a_batch_renders_each_message_as_it_would_alone(survey):
    people = [
        member(customers(), "ayse", name="Ayşe", language="tr"),
        member(customers(), "bora", name="", language="en"),
        member(customers(), "cem", name='<b>Cem</b> & "co"', language="en"),
        member(customers(), "deniz", name="Deniz", language="en"),
    ]
    invitations = [make_invitation(survey, p) for p in people]
    composer = email.Composer()
    for inv in Invitation.objects.select_related("survey", "person").order_by("id"):
        for reminder in (0, 1):
            assert _parts(composer.build(inv, reminder=reminder)) == _parts(
                email.build(inv, reminder=reminder)
            )
    assert len(invitations) == 4


def test_a_batch_renders_the_templates_once_per_survey_language_and_greeting(survey, monkeypatch):
    for i in range(6):
        make_invitation(survey, member(customers(), f"p{i}", name=f"P{i}", language="en"))
    calls = []
    render = email.render_to_string
    monkeypatch.setattr(
        email, "render_to_string", lambda *a, **k: calls.append(a[0]) or render(*a, **k)
    )
    composer = email.Composer()
    for inv in Invitation.objects.select_related("survey", "person"):
        composer.build(inv)
    # Text and HTML once with markers, once in full to check the layout: 4, not 12.
    assert len(calls) == 4


def test_a_template_that_transforms_a_name_is_rendered_per_message(survey, monkeypatch):
    for name in ("Ayşe", "Bora"):
        make_invitation(survey, member(customers(), name.lower(), name=name, language="en"))
    render = email.render_to_string

    def shouting(template, context):  # noqa: ANN001, ANN202 - a template that upper-cases
        return render(template, {**context, "name": str(context["name"]).upper()})

    monkeypatch.setattr(email, "render_to_string", shouting)
    composer = email.Composer()
    invitations = Invitation.objects.select_related("survey", "person").order_by("id")
    bodies = [composer.build(inv).body for inv in invitations]
    assert "Hello AYŞE," in bodies[0] and "Hello BORA," in bodies[1]


@pytest.fixture
def esp(settings):
    """An e-mail service through django-anymail, set by configuration only (its test backend)."""
    from django.core import mail

    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {}
    mail.outbox = []
    return mail.outbox


def test_an_email_service_through_anymail_sends_by_configuration_only(survey, esp):
    ayse = member(customers(), "ayse", name="Ayşe", language="tr")
    inv = make_invitation(survey, ayse)
    assert sending.dispatch_batch(now=NOW) == {"claimed": 1, "sent": 1}
    [message] = esp
    params = message.anymail_test_params
    assert params["to"][0].addr_spec == "ayse@example.com"
    assert params["extra_headers"]["Message-ID"] == f"<invitation-{inv.id}@127.0.0.1>"
    assert params["extra_headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/optout/" in params["extra_headers"]["List-Unsubscribe"]
    assert "Hizmet" in params["subject"]
    assert "/s/" in params["text_body"] and "/s/" in params["html_body"]
    inv.refresh_from_db()
    # The service's own id is kept, to look the message up in its logs.
    assert (inv.state, inv.message_id) == ("sent", "0")


def _api_error(status: int, reason: str):  # noqa: ANN202
    """The error anymail raises when the service answers `status`."""
    import requests
    from anymail.exceptions import AnymailAPIError

    response = requests.Response()
    response.status_code, response.reason, response._content = status, reason, b"{}"
    return AnymailAPIError(f"{status} {reason}", status_code=status, response=response)


def _respond_with(monkeypatch, outcomes: dict) -> None:  # noqa: ANN001
    """Make the test service answer the messages to some addresses with an error."""
    from anymail.backends.test import EmailBackend

    post = EmailBackend.post_to_esp

    def post_to_esp(self, payload, message):  # noqa: ANN001, ANN202
        error = outcomes.get(message.to[0])
        if error is not None:
            message.anymail_test_response = error
        return post(self, payload, message)

    monkeypatch.setattr(EmailBackend, "post_to_esp", post_to_esp)


def test_an_email_service_error_after_the_first_message_is_delivery_unknown(
    survey, esp, monkeypatch
):
    first = make_invitation(survey, member(customers(), "ayse"))
    second = make_invitation(survey, member(customers(), "bora"))
    _respond_with(monkeypatch, {"bora@example.com": _api_error(502, "Bad Gateway")})
    assert sending.dispatch_batch(now=NOW) == {"claimed": 2, "sent": 1, "unknown": 1}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("sent", "delivery_unknown")


def test_refused_credentials_at_the_email_service_hand_the_batch_back(survey, esp, monkeypatch):
    inv = make_invitation(survey, member(customers(), "ayse"))
    _respond_with(monkeypatch, {"ayse@example.com": _api_error(401, "Unauthorized")})
    counts = sending.dispatch_batch(now=NOW)
    inv.refresh_from_db()
    assert (counts["released"], inv.state) == (1, "planned")
    assert not ContactLedger.objects.filter(invitation=inv).exists()
