"""Consent, opt-out and membership changes."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from audiences.models import (
    AudienceGrant,
    AuditAction,
    AuditLog,
    Channel,
    Consent,
    ConsentOrigin,
    ConsentStatus,
    Membership,
    Role,
)
from audiences.services import (
    THE_PERSON,
    consent_delete,
    consent_set,
    membership_add,
    membership_remove,
    person_opt_out,
)
from tests.factories import make_membership, make_person
from tests.surveys.test_hosted_support import invite, three_page_survey


def _statuses(person) -> dict[str, str]:  # noqa: ANN001
    return dict(Consent.objects.filter(person=person).values_list("channel", "status"))


def _consent_audit() -> list[tuple]:
    return list(
        AuditLog.objects.filter(action=AuditAction.CONSENT_CHANGED)
        .order_by("id")
        .values_list("actor__username", "actor_username", "audience__slug", "target", "detail")
    )


@pytest.fixture
def hr_manager(customers, django_user_model):  # noqa: ANN001, ANN201
    """Manages the customer audience only: not a superuser."""
    user = django_user_model.objects.create_user(username="cx.manager", is_staff=True)
    AudienceGrant.objects.create(user=user, audience=customers, role=Role.MANAGER)
    return user


@pytest.fixture
def withdrawn(customers):  # noqa: ANN001, ANN201
    """A customer who opted out of every channel on the survey page."""
    person = make_person("p-1")
    make_membership(person, customers)
    person_opt_out(person=person, source="survey-page")
    AuditLog.objects.all().delete()
    return person


@pytest.mark.django_db
def test_opt_out_withdraws_every_channel(customers, xm_manager):  # noqa: ANN001
    person = make_person("p-1")
    consent_set(
        person=person,
        channel=Channel.EMAIL,
        status=ConsentStatus.GRANTED,
        source="crm",
        actor=xm_manager,
        origin=ConsentOrigin.ADMIN,
    )

    changed = person_opt_out(person=person, source="survey-page")

    assert changed == len(Channel.values)
    assert _statuses(person) == {c: ConsentStatus.WITHDRAWN for c in Channel.values}
    assert set(Consent.objects.filter(person=person).values_list("source", flat=True)) == {
        "survey-page"
    }
    assert person_opt_out(person=person, source="survey-page") == 0


@pytest.mark.django_db
def test_opt_out_on_the_hosted_page_is_audited_as_the_person(customers, xm_manager):  # noqa: ANN001
    person = make_person("p-1")
    make_membership(person, customers)
    consent_set(
        person=person,
        channel=Channel.EMAIL,
        status=ConsentStatus.GRANTED,
        actor=xm_manager,
        origin=ConsentOrigin.ADMIN,
    )
    AuditLog.objects.all().delete()

    person_opt_out(person=person, source="survey-page")
    person_opt_out(person=person, source="survey-page")  # nothing changes: no second entry

    changes = [{"channel": Channel.EMAIL.value, "from": "granted", "to": "withdrawn"}] + [
        {"channel": c, "from": None, "to": "withdrawn"} for c in Channel.values if c != "email"
    ]
    assert _consent_audit() == [
        (
            None,
            f"person {person.pk}",
            "customers",
            f"person {person.pk}",
            {
                "person_id": person.pk,
                "origin": "hosted_page",
                "source": "survey-page",
                "changes": changes,
            },
        )
    ]


@pytest.mark.django_db
def test_opt_out_is_four_queries_whatever_the_channels(customers, django_assert_num_queries):  # noqa: ANN001
    person = make_person("p-1")
    make_membership(person, customers)
    Consent.objects.create(person=person, channel=Channel.SMS, status=ConsentStatus.GRANTED)

    # SAVEPOINT; the stored consents (FOR UPDATE); INSERT … ON CONFLICT DO UPDATE of all six
    # withdrawals; the person's audiences; the audit INSERT; RELEASE SAVEPOINT.
    with django_assert_num_queries(6):
        changed = person_opt_out(person=person, source="survey-page")

    assert changed == len(Channel.values)
    assert _statuses(person) == {c: ConsentStatus.WITHDRAWN for c in Channel.values}


@pytest.mark.django_db
def test_a_manager_cannot_grant_a_withdrawn_consent_again(withdrawn, hr_manager):  # noqa: ANN001
    with pytest.raises(ValidationError) as refused:
        consent_set(
            person=withdrawn,
            channel=Channel.EMAIL,
            status=ConsentStatus.GRANTED,
            source="phone call",
            actor=hr_manager,
            origin=ConsentOrigin.ADMIN,
        )

    assert refused.value.messages == [
        "The person withdrew their E-mail consent; only they (on the survey page) or a "
        "superuser can grant it again."
    ]
    consent = Consent.objects.get(person=withdrawn, channel=Channel.EMAIL)
    assert (consent.status, consent.source) == (ConsentStatus.WITHDRAWN, "survey-page")
    assert _consent_audit() == []


@pytest.mark.django_db
def test_an_api_key_or_import_cannot_grant_a_withdrawn_consent_again(withdrawn):  # noqa: ANN001
    for origin in (ConsentOrigin.API, ConsentOrigin.IMPORT):
        with pytest.raises(ValidationError):
            consent_set(
                person=withdrawn,
                channel=Channel.SMS,
                status=ConsentStatus.GRANTED,
                actor=None,
                actor_name="crm sync",
                origin=origin,
            )

    assert _statuses(withdrawn)[Channel.SMS] == ConsentStatus.WITHDRAWN
    assert _consent_audit() == []


@pytest.mark.django_db
def test_the_person_can_grant_again_after_opting_out(withdrawn):  # noqa: ANN001
    consent_set(
        person=withdrawn,
        channel=Channel.EMAIL,
        status=ConsentStatus.GRANTED,
        source="preference-centre",
        actor=THE_PERSON,
        origin=ConsentOrigin.HOSTED_PAGE,
    )

    assert _statuses(withdrawn)[Channel.EMAIL] == ConsentStatus.GRANTED
    assert _statuses(withdrawn)[Channel.SMS] == ConsentStatus.WITHDRAWN
    assert _consent_audit() == [
        (
            None,
            f"person {withdrawn.pk}",
            "customers",
            f"person {withdrawn.pk}",
            {
                "person_id": withdrawn.pk,
                "origin": "hosted_page",
                "source": "preference-centre",
                "changes": [{"channel": "email", "from": "withdrawn", "to": "granted"}],
            },
        )
    ]


@pytest.mark.django_db
def test_a_superuser_can_grant_again_and_is_named_in_the_audit(withdrawn, xm_manager):  # noqa: ANN001
    consent_set(
        person=withdrawn,
        channel=Channel.EMAIL,
        status=ConsentStatus.GRANTED,
        actor=xm_manager,
        origin=ConsentOrigin.ADMIN,
    )

    consent = Consent.objects.get(person=withdrawn, channel=Channel.EMAIL)
    assert (consent.status, consent.source) == (ConsentStatus.GRANTED, "admin")
    assert _consent_audit() == [
        (
            "xm.manager",
            "xm.manager",
            "customers",
            f"person {withdrawn.pk}",
            {
                "person_id": withdrawn.pk,
                "origin": "admin",
                "source": "admin",
                "changes": [{"channel": "email", "from": "withdrawn", "to": "granted"}],
            },
        )
    ]


@pytest.mark.django_db
def test_an_inactive_superuser_cannot_grant_again(withdrawn, xm_manager):  # noqa: ANN001
    xm_manager.is_active = False

    with pytest.raises(ValidationError):
        consent_set(
            person=withdrawn,
            channel=Channel.EMAIL,
            status=ConsentStatus.GRANTED,
            actor=xm_manager,
            origin=ConsentOrigin.ADMIN,
        )


@pytest.mark.django_db
def test_a_manager_may_record_a_first_grant_and_a_withdrawal_both_audited(  # noqa: ANN001
    customers, hr_manager
):
    person = make_person("p-1")
    make_membership(person, customers)

    consent_set(
        person=person,
        channel=Channel.SMS,
        status=ConsentStatus.GRANTED,
        source="signed form",
        actor=hr_manager,
        origin=ConsentOrigin.ADMIN,
    )
    consent_set(
        person=person,
        channel=Channel.SMS,
        status=ConsentStatus.GRANTED,
        actor=hr_manager,
        origin=ConsentOrigin.ADMIN,
    )  # unchanged: nothing written, nothing audited
    consent_set(
        person=person,
        channel=Channel.SMS,
        status=ConsentStatus.WITHDRAWN,
        actor=hr_manager,
        origin=ConsentOrigin.ADMIN,
    )

    assert [(entry[0], entry[4]["source"], entry[4]["changes"]) for entry in _consent_audit()] == [
        ("cx.manager", "signed form", [{"channel": "sms", "from": None, "to": "granted"}]),
        ("cx.manager", "admin", [{"channel": "sms", "from": "granted", "to": "withdrawn"}]),
    ]


@pytest.mark.django_db
def test_deleting_a_withdrawal_is_refused_below_superuser(withdrawn, hr_manager, xm_manager):  # noqa: ANN001
    consent = Consent.objects.get(person=withdrawn, channel=Channel.EMAIL)

    with pytest.raises(ValidationError):
        consent_delete(consent=consent, actor=hr_manager, origin=ConsentOrigin.ADMIN)
    assert Consent.objects.filter(pk=consent.pk).exists()

    assert consent_delete(consent=consent, actor=xm_manager, origin=ConsentOrigin.ADMIN)
    assert not Consent.objects.filter(pk=consent.pk).exists()
    assert [entry[4]["changes"] for entry in _consent_audit()] == [
        [{"channel": "email", "from": "withdrawn", "to": None}]
    ]


@pytest.mark.django_db
def test_a_person_in_no_audience_is_audited_without_one(xm_manager):  # noqa: ANN001
    person = make_person("p-1")

    person_opt_out(person=person, source="unsubscribe-mail")

    assert [(entry[2], entry[3]) for entry in _consent_audit()] == [(None, f"person {person.pk}")]


@pytest.mark.django_db
def test_unknown_channel_or_status_is_rejected(customers, xm_manager):  # noqa: ANN001
    person = make_person("p-1")
    with pytest.raises(ValidationError, match="Unknown channel pigeon."):
        consent_set(
            person=person,
            channel="pigeon",
            status=ConsentStatus.GRANTED,
            actor=xm_manager,
            origin=ConsentOrigin.ADMIN,
        )
    with pytest.raises(ValidationError, match="Unknown consent status maybe."):
        consent_set(
            person=person,
            channel=Channel.EMAIL,
            status="maybe",
            actor=xm_manager,
            origin=ConsentOrigin.ADMIN,
        )
    assert Consent.objects.count() == 0
    assert _consent_audit() == []


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


@pytest.mark.django_db
def test_the_hosted_opt_out_page_is_audited_as_the_person(client):  # noqa: ANN001
    invitation, token = invite(three_page_survey())
    person = invitation.person

    done = client.post(f"/s/{token}/optout/")

    assert done.status_code == 200
    assert _statuses(person) == {c: ConsentStatus.WITHDRAWN for c in Channel.values}
    [(user, actor, _audience, target, detail)] = _consent_audit()
    assert (user, actor, target) == (None, f"person {person.pk}", f"person {person.pk}")
    assert (detail["origin"], detail["source"], len(detail["changes"])) == (
        "hosted_page",
        "survey-page",
        len(Channel.values),
    )
