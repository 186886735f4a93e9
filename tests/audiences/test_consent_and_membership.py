"""Consent, opt-out and membership changes."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from audiences.models import Channel, Consent, ConsentStatus, Membership
from audiences.services import consent_set, membership_add, membership_remove, person_opt_out
from tests.factories import make_membership, make_person


def _statuses(person) -> dict[str, str]:  # noqa: ANN001
    return dict(Consent.objects.filter(person=person).values_list("channel", "status"))


@pytest.mark.django_db
def test_opt_out_withdraws_every_channel(customers):  # noqa: ANN001
    person = make_person("p-1")
    consent_set(person=person, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source="crm")

    changed = person_opt_out(person=person, source="survey-page")

    assert changed == len(Channel.values)
    assert _statuses(person) == {c: ConsentStatus.WITHDRAWN for c in Channel.values}
    assert set(Consent.objects.filter(person=person).values_list("source", flat=True)) == {
        "survey-page"
    }
    assert person_opt_out(person=person, source="survey-page") == 0


@pytest.mark.django_db
def test_a_grant_never_overrides_an_opt_out(customers):  # noqa: ANN001
    person = make_person("p-1")
    person_opt_out(person=person, source="survey-page")

    consent = consent_set(
        person=person, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source="import"
    )

    assert (consent.status, consent.source) == (ConsentStatus.WITHDRAWN, "survey-page")
    assert _statuses(person)[Channel.EMAIL] == ConsentStatus.WITHDRAWN


@pytest.mark.django_db
def test_the_person_can_reaffirm_after_opting_out(customers):  # noqa: ANN001
    person = make_person("p-1")
    person_opt_out(person=person, source="survey-page")

    consent_set(
        person=person,
        channel=Channel.EMAIL,
        status=ConsentStatus.GRANTED,
        source="preference-centre",
        reaffirmed=True,
    )

    assert _statuses(person)[Channel.EMAIL] == ConsentStatus.GRANTED
    assert _statuses(person)[Channel.SMS] == ConsentStatus.WITHDRAWN


@pytest.mark.django_db
def test_unknown_channel_is_rejected(customers):  # noqa: ANN001
    with pytest.raises(ValidationError, match="Unknown channel pigeon."):
        consent_set(
            person=make_person("p-1"), channel="pigeon", status=ConsentStatus.GRANTED, source="x"
        )
    assert Consent.objects.count() == 0


@pytest.mark.django_db
def test_membership_remove_keeps_the_row_with_left_on(customers):  # noqa: ANN001
    person = make_person("p-1")
    make_membership(person, customers, joined_on=dt.date(2024, 1, 1))

    ended = membership_remove(person=person, audience=customers, left_on=dt.date(2025, 3, 1))
    again = membership_remove(person=person, audience=customers, left_on=dt.date(2025, 4, 1))

    assert (ended, again) == (True, False)
    assert Membership.objects.get(person=person).left_on == dt.date(2025, 3, 1)


@pytest.mark.django_db
def test_membership_add_resumes_an_ended_membership(customers):  # noqa: ANN001
    person = make_person("p-1")
    make_membership(person, customers, attributes={"region": "uk"}, left_on=dt.date(2025, 3, 1))

    membership = membership_add(
        person=person, audience=customers, segment="premium", attributes={"plan": "premium"}
    )

    membership.refresh_from_db()
    assert (membership.segment, membership.left_on, membership.attributes) == (
        "premium",
        None,
        {"region": "uk", "plan": "premium"},
    )
    assert Membership.objects.count() == 1
