"""WhatsApp through Twilio's WhatsApp API, against a local fake Twilio (nothing leaves the
machine), and a WhatsApp without a provider: never offered, never planned to fail."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from audiences.models import AudienceKind, Consent
from surveys.admin.forms_distribution import ChannelOrderField, DistributionRuleForm
from surveys.distribution import channels, ondemand, reminders, sending
from surveys.distribution.channels.sms import ProviderRefused
from surveys.distribution.channels.whatsapp import WhatsAppChannel, whatsapp_address
from surveys.models import Invitation, InvitationState, Question, RuleKind
from tests.factories import make_audience
from tests.support.servers import POLL_SECONDS
from tests.surveys.distribution_factories import (
    DAY,
    NOW,
    customers,
    make_invitation,
    make_rule,
    make_survey,
    member,
    opt_out,
)

pytestmark = pytest.mark.django_db


class FakeTwilio(BaseHTTPRequestHandler):
    """Twilio's Messages endpoint: records each request; refuses +900000000000 like Twilio."""

    requests: list = []

    def do_POST(self) -> None:  # noqa: N802
        body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        FakeTwilio.requests.append(
            {
                "path": urlparse(self.path).path,
                "body": {k: v[0] for k, v in body.items()},
                "auth": self.headers["Authorization"],
                "key": self.headers["I-Twilio-Idempotency-Token"],
            }
        )
        if body["To"] == ["whatsapp:+900000000000"]:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b'{"code": 63003, "message": "Channel could not find To address"}')
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
    settings.SURVEY_WHATSAPP_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC123", "secret"
    settings.TWILIO_WHATSAPP_FROM = "+14155238886"
    settings.TWILIO_WHATSAPP_CONTENT_SID = settings.TWILIO_WHATSAPP_REMINDER_CONTENT_SID = ""
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{server.server_port}"
    yield FakeTwilio
    server.shutdown()
    server.server_close()


@pytest.fixture
def survey():
    survey = make_survey(
        customers(), name="Service NPS", title={"en": "Our service", "tr": "Hizmet"}
    )
    Question.objects.create(survey=survey, key="nps", type="nps", label={"en": "How likely…?"})
    return survey


def _whatsapp(survey, name: str, phone: str = "+90 555 111 22 33", **extra):  # noqa: ANN001, ANN003, ANN202
    person = member(customers(), name, phone=phone, language=extra.pop("language", "tr"))
    return make_invitation(survey, person, channel="whatsapp", **extra)


def test_an_invitation_goes_out_through_twilio_whatsapp_with_whatsapp_addresses(survey, twilio):
    inv = _whatsapp(survey, "ayse")
    assert sending.dispatch_batch(now=NOW) == {"claimed": 1, "sent": 1}
    [request] = twilio.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["auth"].startswith("Basic ")
    assert (request["body"]["To"], request["body"]["From"]) == (
        "whatsapp:+905551112233",
        "whatsapp:+14155238886",
    )
    assert request["key"] == f"<invitation-{inv.id}@127.0.0.1>"
    body = request["body"]["Body"]
    assert "Hizmet" in body and "/s/" in body and "/optout/" in body
    inv.refresh_from_db()
    assert (inv.state, inv.message_id, inv.sent_at) == ("sent", "SM1", NOW)


def test_an_approved_content_template_carries_title_and_links_as_variables(
    survey, twilio, settings
):
    settings.TWILIO_WHATSAPP_CONTENT_SID = "HXinvite"
    _whatsapp(survey, "ayse")
    sending.dispatch_batch(now=NOW)
    [request] = twilio.requests
    assert request["body"]["ContentSid"] == "HXinvite"
    assert "Body" not in request["body"]
    variables = json.loads(request["body"]["ContentVariables"])
    assert variables["1"] == "Hizmet"
    assert "/s/" in variables["2"] and variables["3"].endswith("/optout/")


def test_refused_and_non_international_numbers_fail_for_good_without_a_retry(survey, twilio):
    refused = _whatsapp(survey, "bora", phone="+900000000000")
    local = _whatsapp(survey, "cem", phone="0555 111 22 33")
    good = _whatsapp(survey, "ayse")
    invs = list(Invitation.objects.select_related("survey", "person").order_by("id"))
    results = WhatsAppChannel().send(invs)
    assert [(r.invitation_id, r.outcome) for r in results] == [
        (refused.id, channels.Outcome.FAILED),
        (local.id, channels.Outcome.FAILED),
        (good.id, channels.Outcome.SENT),
    ]
    assert [r["body"]["To"] for r in twilio.requests] == [
        "whatsapp:+900000000000",
        "whatsapp:+905551112233",
    ]  # the local number never left the machine


def test_whatsapp_addresses_are_international_numbers():
    assert whatsapp_address("+90 (555) 111-22-33") == "whatsapp:+905551112233"
    assert whatsapp_address("0090 555 111 22 33") == "whatsapp:+905551112233"
    assert whatsapp_address("whatsapp:+14155238886") == "whatsapp:+14155238886"
    for bad in ("", "05551112233", "+0123456789", "+90 555 abc"):
        with pytest.raises(ProviderRefused):
            whatsapp_address(bad)


def test_an_opted_out_person_is_never_sent_a_whatsapp(survey, twilio):
    inv = _whatsapp(survey, "ayse")
    opt_out(inv.person, "whatsapp")
    sending.dispatch_batch(now=NOW)
    inv.refresh_from_db()
    assert (inv.state, inv.suppression_reason, twilio.requests) == ("suppressed", "opted_out", [])


def test_an_opt_in_audience_needs_a_whatsapp_grant(twilio):
    staff = make_audience("staff", kind=AudienceKind.EMPLOYEE, requires_opt_in=True)
    pulse = make_survey(staff, name="Pulse")
    silent = make_invitation(
        pulse, member(staff, "silent", phone="+905551110000"), channel="whatsapp"
    )
    agreed = member(staff, "agreed", phone="+905551119999")
    Consent.objects.create(person=agreed, channel="email", status="granted")  # not WhatsApp
    Consent.objects.create(person=agreed, channel="whatsapp", status="granted")
    granted = make_invitation(pulse, agreed, channel="whatsapp")
    sending.dispatch_batch(now=NOW)
    states = dict(Invitation.objects.values_list("id", "suppression_reason"))
    assert (states[silent.id], states[granted.id]) == ("no_consent", "")
    assert [r["body"]["To"] for r in twilio.requests] == ["whatsapp:+905551119999"]


def test_a_whatsapp_reminder_says_so_and_carries_its_own_key(survey, twilio):
    rule = make_rule(survey, RuleKind.WAVE, channels=["whatsapp"], reminder_count=1)
    inv = _whatsapp(
        survey,
        "ayse",
        language="en",
        rule=rule,
        state=InvitationState.SENT,
        sent_at=NOW - 4 * DAY,
        expires_at=NOW + 10 * DAY,
    )
    assert reminders.reminders_send(now=NOW) == 1
    [request] = twilio.requests
    assert request["body"]["Body"].startswith("Reminder: how was Our service?")
    assert request["key"] == f"<invitation-{inv.id}.r1@127.0.0.1>"


def test_unreachable_twilio_hands_the_batch_back(survey, settings):
    settings.SURVEY_WHATSAPP_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC123", "secret"
    settings.TWILIO_WHATSAPP_FROM = "+14155238886"
    settings.TWILIO_API_BASE = "http://127.0.0.1:1"
    inv = _whatsapp(survey, "ayse")
    counts = sending.dispatch_batch(now=NOW)
    inv.refresh_from_db()
    assert (counts["released"], inv.state) == (1, "planned")


# --- Without a provider ------------------------------------------------------------------


def test_without_a_provider_whatsapp_is_not_offered_to_rules(survey, settings):
    settings.SURVEY_WHATSAPP_PROVIDER = ""
    field = ChannelOrderField()
    with pytest.raises(ValidationError) as refused:
        field.clean("whatsapp, email")
    assert refused.value.messages == ["No delivery for whatsapp; use channels from: email, sms."]
    with translation.override("tr"):
        help_text = str(DistributionRuleForm().fields["channels"].help_text)
    assert "email, sms." in help_text and "whatsapp" not in help_text
    settings.SURVEY_WHATSAPP_PROVIDER = "console"
    assert field.clean("whatsapp, email") == ["whatsapp", "email"]
    assert "email, sms, whatsapp." in str(DistributionRuleForm().fields["channels"].help_text)


def test_without_a_provider_a_whatsapp_request_is_refused_with_a_reason(survey, settings):
    settings.SURVEY_WHATSAPP_PROVIDER = ""
    person = member(customers(), "ayse", phone="+905551112233")
    with pytest.raises(ValidationError) as refused:
        ondemand.invitation_request(survey=survey, person=person, channel="whatsapp", now=NOW)
    assert refused.value.messages == [
        "No delivery is set up for whatsapp; use one of: email, sms, app, api, web."
    ]
    assert Invitation.objects.count() == 0


def test_a_whatsapp_invitation_planned_before_the_provider_was_removed_is_suppressed_at_once(
    survey, settings
):
    settings.SURVEY_WHATSAPP_PROVIDER = ""
    inv = _whatsapp(survey, "ayse")
    counts = sending.dispatch_batch(now=NOW)
    inv.refresh_from_db()
    # Not five retries and "failed": suppressed on the first claim, with the reason.
    assert (inv.state, inv.suppression_reason, inv.attempts) == ("suppressed", "no_channel", 0)
    assert counts == {"claimed": 0, "suppressed:no_channel": 1}


def test_the_console_provider_prints_a_whatsapp_line(survey, settings, capsys):
    settings.SURVEY_WHATSAPP_PROVIDER = "console"
    settings.SURVEY_SMS_FILE = ""
    _whatsapp(survey, "ayse")
    assert sending.dispatch_batch(now=NOW) == {"claimed": 1, "sent": 1}
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["to"] == "whatsapp:+905551112233" and "Hizmet" in line["body"]


@pytest.mark.startup
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SURVEY_WHATSAPP_PROVIDER": "pigeon"}, "use twilio, console or nothing"),
        (
            {
                "SURVEY_WHATSAPP_PROVIDER": "twilio",
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "t",
            },
            "needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM",
        ),
    ],
)
def test_a_half_configured_whatsapp_stops_the_start_with_a_message(env, message):
    import os
    import subprocess
    import sys
    from pathlib import Path

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SURVEY_"))}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2],
        env={**clean, "DJANGO_SETTINGS_MODULE": "xmplatform.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and message in done.stderr
