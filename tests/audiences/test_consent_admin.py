"""Consent in the admin: a withdrawal stays unless a superuser reverses it; changes are audited."""

import pytest
from django.urls import reverse

from audiences.models import (
    AudienceGrant,
    AuditAction,
    AuditLog,
    Channel,
    Consent,
    ConsentStatus,
    Role,
)
from audiences.services import person_opt_out
from tests.factories import make_audience, make_membership, make_person

pytestmark = pytest.mark.django_db

REFUSAL = (
    "The person withdrew their E-mail consent; only they (on the survey page) or a superuser "
    "can grant it again."
)


@pytest.fixture
def cx_manager(customers, django_user_model):  # noqa: ANN001, ANN201
    """Manages the customer audience only."""
    user = django_user_model.objects.create_user(username="cx.manager", is_staff=True)
    AudienceGrant.objects.create(user=user, audience=customers, role=Role.MANAGER)
    return user


@pytest.fixture
def withdrawn(customers):  # noqa: ANN001, ANN201
    """A customer, also an employee, who opted out of every channel on the survey page."""
    person = make_person("p-1", name="Ayşe Yılmaz")
    make_membership(person, customers)
    make_membership(person, make_audience("employees", kind="employee"))
    person_opt_out(person=person, source="survey-page")
    AuditLog.objects.all().delete()
    return person


def _email(person) -> Consent:  # noqa: ANN001
    return Consent.objects.get(person=person, channel=Channel.EMAIL)


def _audited() -> list[tuple]:
    return list(
        AuditLog.objects.filter(action=AuditAction.CONSENT_CHANGED)
        .order_by("audience__slug")
        .values_list("actor_username", "audience__slug", "detail__origin", "detail__changes")
    )


def _page_data(client, person) -> dict:  # noqa: ANN001
    """The person change form as the browser would post it back unchanged (every inline)."""
    page = client.get(reverse("admin:audiences_person_change", args=[person.pk]))
    forms = [page.context["adminform"].form]
    data: dict = {}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
        )
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False):
                data[form.add_prefix(name)] = value
    return data


def _inline_post(client, person, status: str, delete: bool = False) -> dict:  # noqa: ANN001
    """The person change form with the e-mail consent row edited (or marked for deletion)."""
    data = _page_data(client, person)
    for key, value in list(data.items()):
        if key.startswith("consents-") and key.endswith("-channel") and value == Channel.EMAIL:
            row = key.removesuffix("-channel")
            data[f"{row}-status"] = status
            if delete:
                data[f"{row}-DELETE"] = "on"
    return data


def test_a_manager_sees_the_refusal_as_a_form_error_and_nothing_changes(
    client,
    withdrawn,
    cx_manager,  # noqa: ANN001
):
    client.force_login(cx_manager)
    consent = _email(withdrawn)

    response = client.post(
        reverse("admin:audiences_consent_change", args=[consent.pk]),
        {"status": ConsentStatus.GRANTED},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"status": [REFUSAL]}
    assert _email(withdrawn).status == ConsentStatus.WITHDRAWN
    assert _audited() == []


def test_a_manager_cannot_reverse_it_on_the_person_page_either(client, withdrawn, cx_manager):  # noqa: ANN001
    client.force_login(cx_manager)

    response = client.post(
        reverse("admin:audiences_person_change", args=[withdrawn.pk]),
        _inline_post(client, withdrawn, ConsentStatus.GRANTED),
    )

    assert response.status_code == 200
    formset = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is Consent)
    assert [form.errors for form in formset.formset.forms if form.errors] == [{"status": [REFUSAL]}]
    assert REFUSAL.encode() in response.content
    assert _email(withdrawn).status == ConsentStatus.WITHDRAWN
    assert _audited() == []


def test_a_manager_cannot_delete_a_withdrawal(client, withdrawn, cx_manager):  # noqa: ANN001
    client.force_login(cx_manager)
    consent = _email(withdrawn)

    page = client.post(
        reverse("admin:audiences_consent_delete", args=[consent.pk]), {"post": "yes"}
    )
    bulk = client.post(
        reverse("admin:audiences_consent_changelist"),
        {"action": "delete_selected", "_selected_action": [consent.pk], "post": "yes"},
    )
    inline = client.post(
        reverse("admin:audiences_person_change", args=[withdrawn.pk]),
        _inline_post(client, withdrawn, ConsentStatus.WITHDRAWN, delete=True),
    )

    assert page.status_code == 403
    assert bulk.status_code == 403
    assert inline.status_code == 200
    formset = next(f for f in inline.context["inline_admin_formsets"] if f.opts.model is Consent)
    assert formset.formset.non_form_errors() == [REFUSAL]
    assert _email(withdrawn).status == ConsentStatus.WITHDRAWN
    assert _audited() == []


def test_a_superuser_reverses_it_and_every_audience_of_the_person_sees_the_entry(
    client,
    withdrawn,
    xm_manager,  # noqa: ANN001
):
    client.force_login(xm_manager)
    consent = _email(withdrawn)

    response = client.post(
        reverse("admin:audiences_consent_change", args=[consent.pk]),
        {"status": ConsentStatus.GRANTED},
    )

    assert response.status_code == 302
    assert (_email(withdrawn).status, _email(withdrawn).source) == (ConsentStatus.GRANTED, "admin")
    change = [{"channel": "email", "from": "withdrawn", "to": "granted"}]
    assert _audited() == [
        ("xm.manager", "customers", "admin", change),
        ("xm.manager", "employees", "admin", change),
    ]


def test_a_manager_records_a_new_grant_on_the_person_page_audited(client, customers, cx_manager):  # noqa: ANN001
    client.force_login(cx_manager)
    person = make_person("p-2")
    make_membership(person, customers)
    data = _page_data(client, person)
    data.update(
        {
            "consents-TOTAL_FORMS": "1",
            "consents-0-channel": Channel.SMS,
            "consents-0-status": ConsentStatus.GRANTED,
        }
    )

    response = client.post(reverse("admin:audiences_person_change", args=[person.pk]), data)

    assert response.status_code == 302
    stored = Consent.objects.get(person=person)
    assert (stored.channel, stored.status, stored.source) == ("sms", "granted", "admin")
    assert _audited() == [
        ("cx.manager", "customers", "admin", [{"channel": "sms", "from": None, "to": "granted"}])
    ]


def test_a_manager_withdraws_on_the_consent_page_audited(client, customers, cx_manager):  # noqa: ANN001
    client.force_login(cx_manager)
    person = make_person("p-3")
    make_membership(person, customers)
    consent = Consent.objects.create(
        person=person, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source="crm"
    )

    response = client.post(
        reverse("admin:audiences_consent_change", args=[consent.pk]),
        # A changed channel is ignored: a stored consent keeps its channel.
        {"status": ConsentStatus.WITHDRAWN, "channel": Channel.SMS},
    )

    assert response.status_code == 302
    consent.refresh_from_db()
    assert (consent.channel, consent.status) == ("email", "withdrawn")
    assert _audited() == [
        (
            "cx.manager",
            "customers",
            "admin",
            [{"channel": "email", "from": "granted", "to": "withdrawn"}],
        )
    ]
