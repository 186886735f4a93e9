"""Sending: the dispatch cycle, exactly-once claims, reconciliation and reminders."""

import datetime
import io
import smtplib
import threading

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection

from audiences.models import Person
from surveys.distribution import reminders, sending
from surveys.models import ContactLedger, Invitation, InvitationState, RuleKind
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


@pytest.fixture
def audience():
    return customers()


@pytest.fixture
def survey(audience):
    return make_survey(
        audience, name="Relationship NPS", title={"en": "Our service", "tr": "Hizmet"}
    )


def test_dispatch_due_sends_what_is_due_and_leaves_the_future_alone(survey, audience):
    ayse, bora = member(audience, "ayse", name="Ayşe"), member(audience, "bora")
    due = make_invitation(survey, ayse, due_at=NOW - DAY, expires_at=NOW + DAY)
    later = make_invitation(survey, bora, due_at=NOW + DAY)
    out = io.StringIO()
    call_command("dispatch_due", now=NOW.isoformat(), stdout=out)
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, due.sent_at, due.message_id) == (
        "sent",
        NOW,
        f"<invitation-{due.id}@127.0.0.1>",
    )
    assert later.state == "planned"
    assert "claimed: 1" in out.getvalue() and "sent: 1" in out.getvalue()
    assert len(mail.outbox) == 1


def test_email_is_multipart_translated_with_links_and_unsubscribe_headers(survey, audience):
    ayse = member(audience, "ayse", name="Ayşe", language="tr")
    inv = make_invitation(survey, ayse)
    sending.dispatch_cycle(now=NOW)
    message = mail.outbox[0]
    token_path = f"/s/{__import__('surveys.tokens').tokens.token_for(inv.nonce)}/"
    assert message.to == ["ayse@example.com"]
    assert message.extra_headers["Message-ID"] == f"<invitation-{inv.id}@127.0.0.1>"
    assert message.extra_headers["X-Invitation-ID"] == str(inv.id)
    assert (
        message.extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000{token_path}optout/>"
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hizmet" in message.subject
    assert f"http://127.0.0.1:8000{token_path}" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="http://127.0.0.1:8000{token_path}"' in html
    assert 'lang="tr"' in html


def test_second_cycle_sends_nothing_again(survey, audience):
    make_invitation(survey, member(audience, "ayse"))
    sending.dispatch_cycle(now=NOW)
    sending.dispatch_cycle(now=NOW + datetime.timedelta(minutes=1))
    assert len(mail.outbox) == 1
    assert ContactLedger.objects.count() == 1


def test_unreachable_smtp_hands_the_batch_back_unsent(survey, audience, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens on port 1
    inv = make_invitation(survey, member(audience, "ayse"))
    counts = sending.dispatch_batch(now=NOW)
    inv.refresh_from_db()
    assert counts["released"] == 1
    assert (inv.state, inv.due_at, inv.attempts) == ("planned", NOW + sending.RETRY_AFTER, 1)
    assert ContactLedger.objects.count() == 0  # the budget is not spent by a send that never left


def test_send_error_after_handover_is_delivery_unknown_never_resent(survey, audience, monkeypatch):
    inv = make_invitation(survey, member(audience, "ayse"))

    def broken(self, messages):  # noqa: ANN001, ANN202
        raise smtplib.SMTPServerDisconnected("lost during DATA")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", broken)
    sending.dispatch_cycle(now=NOW)
    sending.dispatch_cycle(now=NOW + DAY)
    inv.refresh_from_db()
    assert inv.state == "delivery_unknown"
    assert ContactLedger.objects.filter(invitation=inv).count() == 1  # still counts for fatigue


def test_refused_recipient_fails_and_frees_the_budget(survey, audience, monkeypatch):
    inv = make_invitation(survey, member(audience, "ayse"))

    def refuse(self, messages):  # noqa: ANN001, ANN202
        raise smtplib.SMTPRecipientsRefused({"ayse@example.com": (550, b"no such user")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    sending.dispatch_cycle(now=NOW)
    inv.refresh_from_db()
    assert inv.state == "failed"
    assert ContactLedger.objects.count() == 0


def test_stuck_sending_becomes_delivery_unknown_after_the_timeout(survey, audience):
    inv = make_invitation(
        survey,
        member(audience, "ayse"),
        state=InvitationState.SENDING,
        claimed_at=NOW - sending.SENDING_TIMEOUT - datetime.timedelta(seconds=1),
    )
    fresh = make_invitation(
        survey, member(audience, "bora"), state=InvitationState.SENDING, claimed_at=NOW
    )
    assert sending.invitations_reconcile(now=NOW) == 1
    inv.refresh_from_db()
    fresh.refresh_from_db()
    assert (inv.state, fresh.state) == ("delivery_unknown", "sending")
    assert mail.outbox == []


def test_planned_past_expiry_is_suppressed_as_expired(survey, audience):
    inv = make_invitation(survey, member(audience, "ayse"), due_at=NOW + DAY, expires_at=NOW)
    sending.dispatch_cycle(now=NOW)
    inv.refresh_from_db()
    assert (inv.state, inv.suppression_reason) == ("suppressed", "expired")


def test_dispatch_due_rejects_a_naive_or_malformed_now():
    with pytest.raises(CommandError, match="UTC offset"):
        call_command("dispatch_due", now="2026-03-10T12:00:00")
    with pytest.raises(CommandError, match="ISO-8601"):
        call_command("dispatch_due", now="yesterday")


def test_global_throttle_caps_a_batch(survey, audience, settings):
    settings.SURVEY_SENDS_PER_SECOND = 3
    from django.core.cache import cache

    cache.clear()
    for i in range(5):
        make_invitation(survey, member(audience, f"p{i}"))
    counts = sending.dispatch_batch(now=NOW)
    assert (counts["claimed"], counts["sent"]) == (3, 3)
    assert Invitation.objects.filter(state="planned").count() == 2


# --- Reminders ---------------------------------------------------------------------------


@pytest.fixture
def reminded(survey, audience):
    rule = make_rule(survey, RuleKind.WAVE, reminder_count=2, reminder_after_days=3)
    people = {name: member(audience, name) for name in ("ayse", "bora", "cem", "deniz", "ece")}
    invs = {
        name: make_invitation(
            survey,
            p,
            rule=rule,
            state=InvitationState.SENT,
            sent_at=NOW - 4 * DAY,
            expires_at=NOW + 10 * DAY,
        )
        for name, p in people.items()
    }
    Invitation.objects.filter(pk=invs["bora"].pk).update(
        state=InvitationState.RESPONDED, responded_at=NOW - DAY
    )
    opt_out(people["cem"])
    Invitation.objects.filter(pk=invs["deniz"].pk).update(expires_at=NOW - DAY)
    Invitation.objects.filter(pk=invs["ece"].pk).update(sent_at=NOW - DAY)  # too soon
    return invs


def test_reminder_goes_only_to_who_has_not_answered_opted_out_or_expired(reminded):
    assert reminders.reminders_send(now=NOW) == 1
    ayse = Invitation.objects.get(pk=reminded["ayse"].pk)
    assert (ayse.reminders_sent, ayse.last_reminder_at) == (1, NOW)
    assert [m.to for m in mail.outbox] == [["ayse@example.com"]]
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<invitation-{ayse.id}.r1@127.0.0.1>"
    assert list(ContactLedger.objects.values_list("invitation_id", "kind")) == [
        (ayse.id, "reminder")
    ]


def test_reminders_stop_at_the_rules_count(reminded):
    for day in (0, 3, 6, 9):
        reminders.reminders_send(now=NOW + day * DAY)
    ayse = Invitation.objects.get(pk=reminded["ayse"].pk)
    assert ayse.reminders_sent == 2
    assert sum(1 for m in mail.outbox if m.to == ["ayse@example.com"]) == 2


def test_dispatch_due_also_sends_the_reminders_owed_at_its_moment(reminded):
    out = io.StringIO()
    call_command("dispatch_due", now=(NOW + 3 * DAY).isoformat(), stdout=out)
    # ayse (owed since day 3) and ece (sent a day later, owed by day 3) get one each.
    assert "reminders: 2" in out.getvalue()
    assert sorted(m.to[0] for m in mail.outbox) == ["ayse@example.com", "ece@example.com"]


def test_reminders_wait_for_the_end_of_quiet_hours_in_the_persons_zone(reminded):
    Person.objects.filter(pk=reminded["ayse"].person_id).update(time_zone="Europe/Istanbul")
    late_evening = NOW.replace(hour=20)  # 23:00 in Istanbul
    assert reminders.reminders_send(now=late_evening) == 0
    assert ContactLedger.objects.filter(kind="reminder").count() == 0
    morning = NOW.replace(hour=6, minute=15) + DAY  # 09:15 in Istanbul
    assert reminders.reminders_send(now=morning) == 1
    assert [m.to for m in mail.outbox] == [["ayse@example.com"]]


def test_reminders_do_not_spend_the_frequency_budget(reminded, survey, audience):
    reminders.reminders_send(now=NOW)
    reminders.reminders_send(now=NOW + 3 * DAY)
    other = make_survey(audience, name="Other")
    # A reminder on day 3 would break the 7-day gap if reminders counted; only invitations do.
    inv = make_invitation(other, reminded["ayse"].person, due_at=NOW + 4 * DAY)
    sending.dispatch_batch(now=NOW + 4 * DAY)
    inv.refresh_from_db()
    assert inv.state == "sent"


@pytest.mark.django_db(transaction=True)
def test_two_threads_claiming_at_once_send_each_invitation_once(needs_postgres):
    audience = customers()
    survey = make_survey(audience, name="Race")
    for i in range(60):
        make_invitation(survey, member(audience, f"r{i}"))
    barrier = threading.Barrier(3)

    def work():  # noqa: ANN202
        barrier.wait()
        try:
            while sending.dispatch_batch(now=NOW, limit=7).get("claimed"):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m.extra_headers["X-Invitation-ID"] for m in mail.outbox]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    assert Invitation.objects.filter(state="sent").count() == 60
