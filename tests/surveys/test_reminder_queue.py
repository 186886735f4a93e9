"""The reminder queue: rows that cannot be reminded now are marked, so they never block it.

Seen before the fix: 5 opted-out invitations at the front of the queue with a batch of 5 kept
a reachable person from ever being reminded, on every call.
"""

import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection

from audiences.models import AudienceKind, Consent, Person
from surveys.distribution import reminders
from surveys.models import ContactLedger, Invitation, InvitationState, RuleKind
from tests.factories import make_audience
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


def _sent(survey, rule, person, **extra):  # noqa: ANN001, ANN003, ANN202
    """An invitation sent four days ago, owed its first reminder at NOW (after 3 days)."""
    extra.setdefault("state", InvitationState.SENT)
    return make_invitation(
        survey, person, rule=rule, sent_at=NOW - 4 * DAY, expires_at=NOW + 10 * DAY, **extra
    )


@pytest.fixture
def queue():
    audience = customers()
    survey = make_survey(audience, name="Relationship NPS")
    rule = make_rule(survey, RuleKind.WAVE, reminder_count=2, reminder_after_days=3)
    return audience, survey, rule


def test_five_opted_out_rows_at_the_front_no_longer_block_a_reachable_person(queue):
    audience, survey, rule = queue
    blocked = []
    for i in range(5):
        person = member(audience, f"out{i}")
        opt_out(person)
        blocked.append(_sent(survey, rule, person))
    reachable = _sent(survey, rule, member(audience, "ayse"))

    # Every call used to lock the same 5 opted-out rows, skip them and remind nobody.
    assert reminders.reminders_claim(now=NOW, limit=5) == [reachable.id]

    stopped = dict(Invitation.objects.filter(rule=rule).values_list("id", "reminders_stopped"))
    assert {stopped[b.id] for b in blocked} == {"opted_out"}
    assert stopped[reachable.id] == ""
    # Stopped for good: later calls (and later intervals) never pick them up again.
    assert reminders.reminders_claim(now=NOW + 3 * DAY, limit=5) == [reachable.id]
    assert reminders.reminders_claim(now=NOW + 6 * DAY, limit=5) == []
    assert ContactLedger.objects.filter(kind="reminder").count() == 2
    assert set(
        ContactLedger.objects.filter(kind="reminder").values_list("invitation_id", flat=True)
    ) == {reachable.id}


def test_a_full_batch_of_blocked_rows_is_marked_and_the_send_still_reaches_the_person(queue):
    audience, survey, rule = queue
    for i in range(12):  # more than two batches of 5 in front
        person = member(audience, f"out{i}")
        opt_out(person)
        _sent(survey, rule, person)
    reachable = _sent(survey, rule, member(audience, "ayse"))
    assert reminders.reminders_send(now=NOW, limit=5) == 1
    assert [m.to for m in mail.outbox] == [["ayse@example.com"]]
    assert Invitation.objects.get(pk=reachable.pk).reminders_sent == 1
    assert Counter(Invitation.objects.values_list("reminders_stopped", flat=True)) == {
        "opted_out": 12,
        "": 1,
    }


def test_each_kind_of_unreachable_person_is_stopped_with_its_reason(queue):
    audience, survey, rule = queue
    unsubscribed = member(audience, "unsub")
    for channel in ("email", "sms", "whatsapp"):
        opt_out(unsubscribed, channel)
    no_address = member(audience, "nomail", email="")
    erased = member(audience, "gone")
    Person.objects.filter(pk=erased.pk).update(email="", phone="", erased_at=NOW - DAY)
    sms_only = member(audience, "sms", phone="")
    invs = {
        "unsub": _sent(survey, rule, unsubscribed),
        "nomail": _sent(survey, rule, no_address),
        "gone": _sent(survey, rule, erased),
        "sms": _sent(survey, rule, sms_only, channel="sms"),
    }
    assert reminders.reminders_claim(now=NOW) == []
    stopped = dict(Invitation.objects.values_list("id", "reminders_stopped"))
    assert {name: stopped[inv.id] for name, inv in invs.items()} == {
        "unsub": "opted_out",
        "nomail": "no_address",
        "gone": "erased",
        "sms": "no_address",
    }


def test_an_opt_in_audience_stops_reminders_to_people_without_consent():
    employees = make_audience("staff", kind=AudienceKind.EMPLOYEE, requires_opt_in=True)
    survey = make_survey(employees, name="Pulse")
    rule = make_rule(survey, RuleKind.WAVE, reminder_count=1, reminder_after_days=3)
    silent = _sent(survey, rule, member(employees, "silent"))
    agreed = member(employees, "agreed")
    Consent.objects.create(person=agreed, channel="email", status="granted")
    granted = _sent(survey, rule, agreed)
    assert reminders.reminders_claim(now=NOW) == [granted.id]
    assert Invitation.objects.get(pk=silent.pk).reminders_stopped == "no_consent"


def test_quiet_hours_defer_the_reminder_to_their_end_in_the_persons_zone(queue):
    audience, survey, rule = queue
    istanbul = member(audience, "ayse", time_zone="Europe/Istanbul")
    quiet = _sent(survey, rule, istanbul)
    late_evening = NOW.replace(hour=20)  # 23:00 in Istanbul; quiet hours end 09:00 = 06:00 UTC
    assert reminders.reminders_claim(now=late_evening, limit=5) == []
    quiet.refresh_from_db()
    assert (quiet.next_reminder_at, quiet.reminders_stopped) == (
        (NOW + DAY).replace(hour=6),
        "",
    )
    assert reminders.reminders_claim(now=(NOW + DAY).replace(hour=5, minute=59)) == []
    assert reminders.reminders_claim(now=(NOW + DAY).replace(hour=6)) == [quiet.id]
    quiet.refresh_from_db()
    assert (quiet.reminders_sent, quiet.next_reminder_at) == (1, None)


def test_deferred_quiet_hour_rows_at_the_front_leave_room_for_people_awake(queue):
    audience, survey, rule = queue
    for i in range(5):
        _sent(survey, rule, member(audience, f"tokyo{i}", time_zone="Asia/Tokyo"))
    awake = _sent(survey, rule, member(audience, "ayse", time_zone="Europe/Istanbul"))
    at = NOW.replace(hour=13)  # 22:00 in Tokyo (quiet), 16:00 in Istanbul
    assert reminders.reminders_claim(now=at, limit=5) == [awake.id]
    deferred = set(
        Invitation.objects.exclude(pk=awake.pk).values_list("next_reminder_at", flat=True)
    )
    assert deferred == {(NOW + DAY).replace(hour=0)}  # 09:00 in Tokyo the next morning


def test_a_claim_makes_a_bounded_number_of_rounds(queue, monkeypatch):
    audience, survey, rule = queue
    monkeypatch.setattr(reminders, "MAX_ROUNDS", 2)
    for i in range(6):
        person = member(audience, f"out{i}")
        opt_out(person)
        _sent(survey, rule, person)
    reachable = _sent(survey, rule, member(audience, "ayse"))
    assert reminders.reminders_claim(now=NOW, limit=2) == []  # 4 marked, 2 left for the next
    assert reminders.reminders_claim(now=NOW, limit=2) == [reachable.id]


@pytest.mark.django_db(transaction=True)
def test_two_claimers_at_once_never_claim_the_same_reminder_behind_blocked_rows(
    needs_postgres,
):
    audience = customers()
    survey = make_survey(audience, name="Race")
    rule = make_rule(survey, RuleKind.WAVE, reminder_count=1, reminder_after_days=3)
    for i in range(40):
        person = member(audience, f"r{i}")
        if i % 2 == 0:
            opt_out(person)
        _sent(survey, rule, person)
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = []

    def claimer() -> None:
        barrier.wait()
        try:
            while ids := reminders.reminders_claim(now=NOW, limit=3):
                claimed.append(ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in claimed for i in ids]
    assert (len(every), len(set(every))) == (20, 20)
    assert set(Invitation.objects.values_list("reminders_sent", "reminders_stopped")) == {
        (1, ""),
        (0, "opted_out"),
    }
    assert ContactLedger.objects.filter(kind="reminder").count() == 20
