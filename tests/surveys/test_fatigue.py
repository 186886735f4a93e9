"""The fatigue guard, rule by rule, through the dispatch-time admission (invitations_admit)."""

import datetime

import pytest

from audiences.models import Consent
from surveys.distribution import fatigue
from surveys.distribution.sending import invitations_admit
from surveys.models import (
    ContactLedger,
    FatiguePolicy,
    Invitation,
    InvitationState,
    PriorityClass,
    Response,
)
from tests.factories import make_audience
from tests.surveys.distribution_factories import (
    DAY,
    NOW,
    customers,
    make_invitation,
    make_survey,
    member,
    opt_out,
    past_contact,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience():
    return customers()


@pytest.fixture
def survey(audience):
    return make_survey(audience)


@pytest.fixture
def other_survey(audience):
    return make_survey(audience, name="Onboarding CSAT")


@pytest.fixture
def ayse(audience):
    return member(audience, "ayse", name="Ayşe")


def admit_one(inv: Invitation, now: datetime.datetime = NOW) -> Invitation:
    invitations_admit(now=now)
    inv.refresh_from_db()
    return inv


def test_fresh_person_is_admitted_and_written_to_the_ledger(survey, ayse):
    inv = admit_one(make_invitation(survey, ayse))
    assert (inv.state, inv.suppression_reason, inv.claimed_at) == ("sending", "", NOW)
    assert list(ContactLedger.objects.values_list("person_id", "kind", "at")) == [
        (ayse.id, "invitation", NOW)
    ]


def test_third_invitation_in_thirty_days_is_suppressed_by_frequency_cap(
    survey, other_survey, audience, ayse
):
    third = make_survey(audience, name="Third")
    past_contact(survey, ayse, NOW - 25 * DAY)
    past_contact(other_survey, ayse, NOW - 10 * DAY)
    inv = admit_one(make_invitation(third, ayse))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "frequency_cap")
    assert ContactLedger.objects.filter(invitation=inv).count() == 0


def test_invitation_six_days_after_another_is_suppressed_by_min_gap(survey, other_survey, ayse):
    past_contact(other_survey, ayse, NOW - 6 * DAY)
    inv = admit_one(make_invitation(survey, ayse))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "min_gap")


def test_same_survey_within_ninety_days_is_suppressed_by_recontact(survey, ayse):
    past_contact(survey, ayse, NOW - 60 * DAY)
    inv = admit_one(make_invitation(survey, ayse))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "recontact")


def test_same_survey_after_ninety_days_is_admitted(survey, ayse):
    past_contact(survey, ayse, NOW - 91 * DAY)
    assert admit_one(make_invitation(survey, ayse)).state == "sending"


def test_response_ten_days_ago_rests_longer_than_an_ignored_invitation(
    survey, other_survey, audience, ayse
):
    answered = past_contact(other_survey, ayse, NOW - 10 * DAY)
    Response.objects.create(
        survey=other_survey,
        audience=audience,
        invitation=answered,
        person=ayse,
        channel="email",
        language="en",
        completed_at=NOW - 10 * DAY,
    )
    inv = admit_one(make_invitation(survey, ayse))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "recent_response")

    bora = member(audience, "bora")
    past_contact(other_survey, bora, NOW - 10 * DAY)  # ignored: only the 7-day gap applies
    assert admit_one(make_invitation(survey, bora)).state == "sending"


def test_opt_out_wins_over_a_grant_and_suppresses(survey, ayse):
    opt_out(ayse)
    inv = admit_one(make_invitation(survey, ayse))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "opted_out")


def test_opt_in_audience_without_consent_is_suppressed_by_no_consent(ayse):
    strict = make_audience("staff", kind="employee", requires_opt_in=True)
    member(strict, "ayse")
    inv = admit_one(make_invitation(make_survey(strict, name="Pulse"), ayse))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "no_consent")
    Consent.objects.create(person=ayse, channel="email", status="granted")
    second = admit_one(make_invitation(make_survey(strict, name="Pulse 2"), ayse))
    assert second.state == "sending"


def test_missing_address_is_suppressed_by_no_address(survey, audience):
    nobody = member(audience, "no-mail", email="")
    inv = admit_one(make_invitation(survey, nobody))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "no_address")


def test_expired_invitation_is_suppressed_as_expired(survey, ayse):
    inv = admit_one(make_invitation(survey, ayse, expires_at=NOW - DAY))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "expired")


def test_quiet_hours_defer_to_nine_in_the_persons_time_zone(survey, ayse):
    ayse.time_zone = "Europe/Istanbul"
    ayse.save()
    late = datetime.datetime(2026, 3, 10, 19, 30, tzinfo=datetime.UTC)  # 22:30 in Istanbul
    inv = admit_one(make_invitation(survey, ayse, due_at=late), now=late)
    assert inv.state == "planned"
    assert inv.due_at == datetime.datetime(2026, 3, 11, 6, 0, tzinfo=datetime.UTC)  # 09:00 local
    assert (inv.defer_count, inv.last_defer_reason) == (1, "quiet_hours")
    assert ContactLedger.objects.count() == 0


def test_audience_policy_is_per_person_across_audiences(survey, audience, ayse):
    """Ayşe is a customer and an employee; the employee policy (1 in 60 days) binds her."""
    staff = make_audience("staff", kind="employee")
    member(staff, "ayse")
    FatiguePolicy.objects.create(audience=staff, max_invitations=1, window_days=60)
    pulse = make_survey(staff, name="Pulse")
    past_contact(pulse, ayse, NOW - 40 * DAY)
    inv = admit_one(make_invitation(survey, ayse))
    assert (inv.state, inv.suppression_reason) == ("suppressed", "frequency_cap")
    # A customer who is not an employee is held only to the global 2-in-30.
    bora = member(audience, "bora")
    past_contact(pulse, bora, NOW - 40 * DAY)
    assert admit_one(make_invitation(survey, bora)).state == "sending"


def test_priority_arbitration_admits_transactional_and_defers_research(audience, ayse):
    research = make_survey(audience, name="Research", priority_class=PriorityClass.RESEARCH)
    transactional = make_survey(
        audience, name="Ticket CSAT", priority_class=PriorityClass.TRANSACTIONAL
    )
    low = make_invitation(research, ayse, expires_at=NOW + 30 * DAY)
    high = make_invitation(transactional, ayse, expires_at=NOW + 30 * DAY)
    result = invitations_admit(now=NOW)
    low.refresh_from_db()
    high.refresh_from_db()
    assert result.sending == [high.id]
    assert high.state == "sending"
    assert (low.state, low.last_defer_reason, low.defer_count) == ("planned", "priority", 1)
    assert low.due_at == NOW + 7 * DAY + datetime.timedelta(minutes=1)


def test_deferral_beyond_expiry_is_suppressed_with_the_blocking_rule(audience, ayse):
    research = make_survey(audience, name="Research", priority_class=PriorityClass.RESEARCH)
    transactional = make_survey(
        audience, name="Ticket CSAT", priority_class=PriorityClass.TRANSACTIONAL
    )
    low = make_invitation(research, ayse, expires_at=NOW + 2 * DAY)
    make_invitation(transactional, ayse, expires_at=NOW + 2 * DAY)
    invitations_admit(now=NOW)
    low.refresh_from_db()
    assert (low.state, low.suppression_reason) == ("suppressed", "min_gap")


def test_guard_runs_a_fixed_number_of_queries_for_a_whole_batch(
    survey, audience, django_assert_num_queries
):
    people = [member(audience, f"p{i}") for i in range(30)]
    for p in people:
        make_invitation(survey, p)
    # SAVEPOINT, surveys with due invitations in claim order, claim rows (one survey here),
    # their surveys, lock and read people, policies, memberships, ledger, responses,
    # invitation responses, consents, bulk update, ledger insert, RELEASE SAVEPOINT: 14
    # whether the batch holds 30 people or 300.
    with django_assert_num_queries(14):
        result = invitations_admit(now=NOW)
    assert len(result.sending) == 30
    assert Invitation.objects.filter(state=InvitationState.SENDING).count() == 30


def test_channel_choose_falls_back_and_names_the_telling_reason():
    email_out = {
        "email": fatigue.Reach(True, True, False),
        "sms": fatigue.Reach(True, False, False),
    }
    assert fatigue.channel_choose(["email", "sms"], email_out, requires_opt_in=False) == (
        "sms",
        None,
    )
    nothing = {"email": fatigue.Reach(False, False, False), "sms": fatigue.Reach(True, True, True)}
    assert fatigue.channel_choose(["email", "sms"], nothing, requires_opt_in=False) == (
        "email",
        "opted_out",
    )
    assert fatigue.channel_choose(
        ["email"], {"email": fatigue.Reach(True, False, False)}, requires_opt_in=True
    ) == ("email", "no_consent")
