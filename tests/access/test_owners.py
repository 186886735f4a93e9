"""An audience's owner manages it without a grant, and cases go only to people who can open them."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audiences.access import audience_ids, audience_roles, audience_users
from audiences.models import AuditAction, AuditLog, Role
from metrics.models import AlertRule
from tests.access.conftest import CUSTOMER_MARK, EMPLOYEE_MARK

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def fresh(user):  # noqa: ANN001, ANN201
    return get_user_model().objects.get(pk=user.pk)


def test_an_owner_without_a_grant_opens_and_works_their_cases_only(both):
    employees, customers = both
    owner = fresh(customers["audience"].owner)
    get_user_model().objects.filter(pk=owner.pk).update(is_staff=True)
    client = client_for(owner)

    mine = client.get("/admin/metrics/case/?assigned=me&state=open")
    page = client.get(f"/admin/metrics/case/{customers['case'].pk}/change/")
    theirs = client.get(f"/admin/metrics/case/{employees['case'].pk}/change/")

    assert mine.status_code == 200
    assert f"{CUSTOMER_MARK} case" in mine.content.decode()
    assert EMPLOYEE_MARK not in mine.content.decode()
    assert page.status_code == 200
    assert theirs.status_code == 302  # "does not exist" (redirect to the admin index)
    assert audience_ids(owner, Role.MANAGER) == [customers["audience"].pk]


def test_roles_come_from_grants_and_ownership_in_one_query(
    both, hr_analyst, django_assert_num_queries
):
    employees, customers = both
    customers["audience"].owner = hr_analyst
    customers["audience"].save()
    user = fresh(hr_analyst)

    with django_assert_num_queries(1):  # grants UNION owned audiences
        roles = audience_roles(user)
        audience_roles(user)

    assert roles == {employees["audience"].pk: Role.ANALYST, customers["audience"].pk: Role.MANAGER}


def test_a_grant_above_manager_is_not_lowered_by_ownership(both, cx_manager):
    customers = both[1]["audience"]
    customers.owner = cx_manager
    customers.save()

    assert audience_roles(fresh(cx_manager)) == {customers.pk: Role.MANAGER}


def test_assignable_users_are_the_audiences_analysts_owner_and_superusers(
    both, superuser, hr_analyst, cx_analyst, cx_viewer, cx_manager
):
    customers = both[1]["audience"]

    names = list(audience_users(audience_ids=[customers.pk]).values_list("username", flat=True))

    assert names == sorted(["customers-owner", "cx.analyst", "cx.manager", "xm.manager"])


def test_a_case_cannot_be_given_to_someone_who_cannot_open_it(both, cx_analyst, hr_analyst):
    case = both[1]["case"]
    client = client_for(cx_analyst)
    form = client.get(f"/admin/metrics/case/{case.pk}/change/").content.decode()
    assert f'value="{cx_analyst.pk}"' in form
    assert "hr.analyst" not in form

    refused = client.post(
        f"/admin/metrics/case/{case.pk}/change/",
        {
            "status": "in_progress",
            "assignee": hr_analyst.pk,
            "due_at_0": "2030-01-01",
            "due_at_1": "10:00:00",
            "root_cause": "",
            "notes-TOTAL_FORMS": "0",
            "notes-INITIAL_FORMS": "0",
        },
    )
    taken = client.post(
        f"/admin/metrics/case/{case.pk}/change/",
        {
            "status": "in_progress",
            "assignee": cx_analyst.pk,
            "due_at_0": "2030-01-01",
            "due_at_1": "10:00:00",
            "root_cause": "",
            "notes-TOTAL_FORMS": "0",
            "notes-INITIAL_FORMS": "0",
        },
    )

    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert taken.status_code == 302
    case.refresh_from_db()
    assert (case.assignee_id, case.status) == (cx_analyst.pk, "in_progress")


def test_a_rule_cannot_assign_its_cases_outside_its_audience(
    both, superuser, hr_analyst, cx_analyst
):
    customers = both[1]["audience"]
    data = {
        "name": "Detractors",
        "active": "on",
        "audience": customers.pk,
        "condition": "answer_lte",
        "question_type": "nps",
        "threshold": "6",
        "window_days": "7",
        "cooldown": "1 00:00:00",
        "sla": "1 00:00:00",
        "notify": "immediate",
    }
    client = client_for(superuser)

    refused = client.post("/admin/metrics/alertrule/add/", {**data, "assignee": hr_analyst.pk})
    taken = client.post("/admin/metrics/alertrule/add/", {**data, "assignee": cx_analyst.pk})

    assert refused.status_code == 200
    assert "hr.analyst cannot open this audience" in refused.content.decode()
    assert taken.status_code == 302
    assert AlertRule.objects.get(name="Detractors").assignee_id == cx_analyst.pk


def test_a_managers_rule_form_offers_only_their_audiences_people(
    both, cx_manager, cx_analyst, hr_analyst
):
    form = client_for(cx_manager).get("/admin/metrics/alertrule/add/").content.decode()

    assert "cx.analyst" in form
    assert "hr.analyst" not in form
    assert "employees-owner" not in form


def test_a_new_owner_is_made_staff_and_audited(both, superuser):
    customers = both[1]["audience"]
    newcomer = get_user_model().objects.create_user("new.owner", "new.owner@example.com", "pw")

    response = client_for(superuser).post(
        f"/admin/audiences/audience/{customers.pk}/change/",
        {
            "name": customers.name,
            "slug": customers.slug,
            "kind": customers.kind,
            "owner": newcomer.pk,
            "priority": customers.priority,
            "description": "",
            "anonymity_threshold": customers.anonymity_threshold,
            "retention_months": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert fresh(newcomer).is_staff is True
    entry = AuditLog.objects.get(action=AuditAction.GRANT_CHANGED, audience=customers)
    assert entry.target == "user new.owner"
    assert entry.detail["owner"] is True
