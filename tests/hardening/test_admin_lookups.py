"""Below superuser, every admin change list answers only its declared filters (issue 15, 6).

Each registered ModelAdmin is walked as a staff user who may see it (a manager of the employee
audience holding every permission of the model): a lookup on any of the model's own fields that
no filter declares answers 400 naming it, the declared filters, search and paging answer 200, a
popup opens no way around it, and a superuser keeps Django's behaviour. The superuser-only
admins refuse the same user whatever the parameters.
"""

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audiences.access import AudienceScopedAdmin, SuperuserOnlyAdmin
from audiences.models import AudienceKind, Role
from surveys.models import Response
from tests.access.conftest import (
    CUSTOMER_MARK,
    EMPLOYEE_MARK,
    seed_audience,
    seed_closed_loop,
    staff_with_grant,
)
from tests.factories import make_audience
from xmplatform.core.admin_guard import (
    LookupGuardMixin,
    admins_answer_declared_filters_only,
    lock_down,
)

pytestmark = pytest.mark.django_db

REGISTERED = sorted(model._meta.label_lower for model in admin.site._registry)


def refused(name: str) -> str:
    return f"“{name}” is not a filter of this list."


REFUSAL = re.compile(r'<p class="errornote" role="alert" id="xm-refused-message">(.*?)</p>', re.S)


def refusal(response: Any) -> str:
    """The message of the guard's 400 admin page (admin/refused.html), unescaped."""
    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    found = REFUSAL.findall(response.content.decode())
    assert len(found) == 1, response.content.decode()[:500]
    return html.unescape(found[0])


def changelist_url(model: type[models.Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def model_admin_of(label: str) -> tuple[type[models.Model], Any]:
    model = apps.get_model(label)
    return model, admin.site._registry[model]


@pytest.fixture
def cast() -> tuple[dict, dict]:
    """The access tests' two audiences: anonymous employees, named customers, a case each."""
    employees = make_audience(
        "employees", kind=AudienceKind.EMPLOYEE, name=f"{EMPLOYEE_MARK} Staff"
    )
    customers = make_audience("customers", name=f"{CUSTOMER_MARK} Clients")
    data = (
        seed_audience(employees, EMPLOYEE_MARK, anonymous=True),
        seed_audience(customers, CUSTOMER_MARK, anonymous=False),
    )
    seed_closed_loop(data[0], EMPLOYEE_MARK)
    seed_closed_loop(data[1], CUSTOMER_MARK)
    return data


@pytest.fixture
def root(django_user_model):  # noqa: ANN001, ANN201
    return django_user_model.objects.create_superuser(
        username="xm.manager", email="xm@example.com", password="correct-horse-battery"
    )


@pytest.fixture
def staff_client(cast, root) -> Iterator[Any]:  # noqa: ANN001
    """A client factory: logged in as the employees' manager holding every right on a model."""

    made = iter(range(1_000))

    def login(model: type[models.Model]) -> Client:
        name = f"hr.admin.{next(made)}"
        user = staff_with_grant(name, cast[0]["audience"], Role.MANAGER, root)
        content_type = ContentType.objects.get_for_model(model)
        user.user_permissions.add(*Permission.objects.filter(content_type=content_type))
        client = Client()
        client.force_login(user)
        return client

    yield login


@pytest.fixture
def superuser_client(cast, root) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(root)
    return client


# The lists whose lookups could narrow an anonymous answer to a person: every form of every
# field is tried. On the other lists each field is tried in one form, the forms taken in turn
# (the guard refuses whatever no filter declares, so one form per field walks every field).
EVERY_FORM = {"surveys.response", "surveys.invitation", "surveys.answer", "audiences.person"}


def undeclared_lookups(model: type[models.Model], declared: set[str]) -> list[str]:
    """Lookups on the model's own fields (and through a foreign key to its target's key)."""
    names: list[str] = []
    every = model._meta.label_lower in EVERY_FORM
    for index, field in enumerate(model._meta.concrete_fields):
        forms = [field.name, field.attname, f"{field.name}__in"]
        if field.is_relation:
            forms.append(f"{field.name}__pk__gt")
        names += forms if every else [forms[index % len(forms)]]
    return [name for name in dict.fromkeys(names) if name not in declared]


def declared_parameters(changelist: ChangeList) -> set[str]:
    declared: set[str] = set()
    for spec in changelist.filter_specs:
        declared.update(spec.expected_parameters())
    # A filter that shows only once chosen (a journey map card's touchpoint) is declared too.
    for spec in changelist.model_admin.list_filter:
        if isinstance(spec, type) and issubclass(spec, admin.SimpleListFilter):
            declared.add(spec.parameter_name)
    if changelist.date_hierarchy:
        declared.update(f"{changelist.date_hierarchy}__{part}" for part in ("year", "month", "day"))
    return declared


def declared_queries(changelist: ChangeList) -> list[str]:
    """Query strings of the declared filters' choices (a few per filter), as the sidebar links."""
    queries: list[str] = []
    for spec in changelist.filter_specs:
        choices = [c["query_string"] for c in spec.choices(changelist) if not c["selected"]]
        queries += choices[:3]
    if changelist.date_hierarchy:
        queries.append(f"?{changelist.date_hierarchy}__year={timezone.now().year}")
    return queries


def own_changelist(client: Client, model: type[models.Model]) -> ChangeList:
    response = client.get(changelist_url(model))
    assert response.status_code == 200
    return response.context_data["cl"]


# Each check walks every registered admin in one test: the two audiences are seeded once.


def test_an_undeclared_lookup_answers_400_naming_it_or_the_list_is_refused(
    staff_client, superuser_client
):
    for label in REGISTERED:
        undeclared_lookup_refused(label, staff_client, superuser_client)


def undeclared_lookup_refused(label: str, staff_client: Any, superuser_client: Client) -> None:
    model, model_admin = model_admin_of(label)
    client = staff_client(model)
    declared = declared_parameters(own_changelist(superuser_client, model))
    lookups = undeclared_lookups(model, declared)
    assert lookups, label
    for name in lookups:
        response = client.get(changelist_url(model), {name: "x"})
        if isinstance(model_admin, SuperuserOnlyAdmin):
            assert response.status_code == 403, (label, name)
            continue
        assert response.status_code == 400, (label, name)
        assert refusal(response) == refused(name)


def test_declared_filters_search_and_paging_answer_200(staff_client):
    for label in REGISTERED:
        declared_filters_answer(label, staff_client)


def declared_filters_answer(label: str, staff_client: Any) -> None:
    model, model_admin = model_admin_of(label)
    client = staff_client(model)
    url = changelist_url(model)
    if isinstance(model_admin, SuperuserOnlyAdmin):
        assert client.get(url).status_code == 403
        return
    changelist = own_changelist(client, model)
    queries = declared_queries(changelist)
    queries += ["?o=1", "?p=1", "?all=", "?e=1", "?_facets=1", "?o=-1&p=1"]
    if model_admin.search_fields:
        queries.append("?q=Zebraquartz")
    for query in queries:
        assert client.get(url + query).status_code == 200, (label, query)
    if not model_admin.search_fields:
        response = client.get(url, {"q": "Zebraquartz"})
        assert refusal(response) == refused("q")


def test_a_popup_opens_no_lookup_bypass(staff_client, superuser_client):
    for label in REGISTERED:
        popup_opens_no_bypass(label, staff_client, superuser_client)


def popup_opens_no_bypass(label: str, staff_client: Any, superuser_client: Client) -> None:
    model, model_admin = model_admin_of(label)
    client = staff_client(model)
    url = changelist_url(model)
    pk = model._meta.pk.name
    if isinstance(model_admin, SuperuserOnlyAdmin):
        assert client.get(url, {"_popup": "1", "_to_field": pk}).status_code == 403
        return
    assert client.get(url, {"_popup": "1", "_to_field": pk}).status_code == 200
    declared = declared_parameters(own_changelist(superuser_client, model))
    for name in undeclared_lookups(model, declared):
        response = client.get(url, {"_popup": "1", "_to_field": pk, name: "x"})
        assert response.status_code == 400, (label, name)
        assert refusal(response) == refused(name)
    # A field no foreign key points at cannot be handed out to a popup.
    request = client.get(url).wsgi_request
    hidden = [
        f.name
        for f in model._meta.concrete_fields
        if not model_admin.to_field_allowed(request, f.name)
    ]
    for name in hidden:
        response = client.get(url, {"_popup": "1", "_to_field": name})
        assert response.status_code == 400, (label, name)
        assert refusal(response) == f"This list cannot hand out the field “{name}”."


def test_a_superuser_keeps_djangos_lookups(superuser_client):
    for label in REGISTERED:
        superuser_keeps_lookups(label, superuser_client)


def superuser_keeps_lookups(label: str, superuser_client: Client) -> None:
    model, model_admin = model_admin_of(label)
    declared = declared_parameters(own_changelist(superuser_client, model))
    request = superuser_client.get(changelist_url(model)).wsgi_request
    superuser_client.raise_request_exception = False
    for name in undeclared_lookups(model, declared):
        if isinstance(model._meta.get_field(name.split("__")[0]), models.DurationField):
            # Django's admin hands the raw string to a duration lookup, which SQLite's backend
            # cannot convert: Django's own 500, the same with or without the guard.
            continue
        response = superuser_client.get(changelist_url(model), {name: "1"})
        if model_admin.lookup_allowed(name, "1", request):
            # Django honours the lookup, or redirects to ?e=1 when the value does not fit.
            assert response.status_code in (200, 302), (label, name)
        else:
            # Django's own refusal (e.g. a user's password), not the guard's.
            assert response.status_code == 400, (label, name)
            assert refused(name) not in html.unescape(response.content.decode())


# --- The finding: an anonymous survey's responses narrowed to one person ---------------------


@pytest.fixture
def hr_analyst_client(cast, root) -> Client:  # noqa: ANN001
    analyst = staff_with_grant("hr.analyst", cast[0]["audience"], Role.ANALYST, root)
    client = Client()
    client.force_login(analyst)
    return client


NARROWING = [
    ("segment", f"{EMPLOYEE_MARK}Dept"),
    ("segment__exact", f"{EMPLOYEE_MARK}Dept"),
    ("language", "en"),
    ("channel", "email"),
    ("completed_on", "today"),
    ("touchpoint", "1"),
    ("survey__anonymous", "1"),
    ("audience__pk__gt", "0"),
    ("completed_on__year", "this year"),
    ("id__lt", "1000"),
]


def test_the_hr_analyst_cannot_narrow_anonymous_responses(hr_analyst_client):
    today = timezone.localdate()
    for parameter, given in NARROWING:
        value = {"today": today.isoformat(), "this year": str(today.year)}.get(given, given)
        for query in ({parameter: value}, {"_popup": "1", "_to_field": "id", parameter: value}):
            response = hr_analyst_client.get("/admin/surveys/response/", query)

            assert refusal(response) == refused(parameter), query
            assert EMPLOYEE_MARK not in response.content.decode().replace(value, ""), query


def test_the_invitation_list_refuses_the_day_of_answering(hr_analyst_client):
    today = timezone.localdate().isoformat()
    response = hr_analyst_client.get("/admin/surveys/invitation/", {"responded_at__date": today})

    assert refusal(response) == refused("responded_at__date")


def test_the_response_lists_declared_filters_still_work_for_an_analyst(cast, root):
    customers = cast[1]
    analyst = staff_with_grant("cx.analyst", customers["audience"], Role.ANALYST, root)
    client = Client()
    client.force_login(analyst)
    today = timezone.localdate()
    query = {
        "audience__id__exact": customers["audience"].pk,
        "survey__id__exact": customers["survey"].pk,
        "completed_on__gte": today.isoformat(),
        "completed_on__lt": (today + dt.timedelta(days=1)).isoformat(),
        "completed": "yes",
        "o": "1",
    }
    response = client.get("/admin/surveys/response/", query)

    assert response.status_code == 200
    assert response.context_data["cl"].result_count == 6


def test_a_superuser_still_filters_responses_on_any_field(superuser_client):
    response = superuser_client.get("/admin/surveys/response/", {"segment": f"{EMPLOYEE_MARK}Dept"})

    assert response.status_code == 200
    assert response.context_data["cl"].result_count == 6


def test_one_undeclared_parameter_among_declared_ones_is_named(hr_analyst_client, cast):
    query = urlencode(
        [("audience__id__exact", cast[0]["audience"].pk), ("language", "en"), ("o", "1")]
    )
    response = hr_analyst_client.get(f"/admin/surveys/response/?{query}")

    assert refusal(response) == refused("language")


def test_the_refusal_does_not_echo_markup(hr_analyst_client):
    response = hr_analyst_client.get("/admin/surveys/response/", {"<script>x": "1"})

    assert refusal(response) == refused("<script>x")
    assert "<script>x" not in response.content.decode()
    assert "&lt;script&gt;x" in response.content.decode()
    assert response["X-Content-Type-Options"] == "nosniff"


# --- Autocomplete -----------------------------------------------------------------------------


def autocomplete_sources() -> list[tuple[str, str]]:
    """(model label, field name) of every autocomplete field of a registered admin."""
    return sorted(
        (model._meta.label_lower, name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.autocomplete_fields
    )


def test_the_autocomplete_refuses_parameters_not_its_own(staff_client, superuser_client):
    for label, field_name in autocomplete_sources():
        autocomplete_refuses(label, field_name, staff_client, superuser_client)


def autocomplete_refuses(
    label: str, field_name: str, staff_client: Any, superuser_client: Client
) -> None:
    model = apps.get_model(label)
    target = model._meta.get_field(field_name).related_model
    client = staff_client(target)
    own = {
        "app_label": model._meta.app_label,
        "model_name": model._meta.model_name,
        "field_name": field_name,
        "term": "",
        "page": "1",
    }
    for extra in ("audience__id__exact", "segment", "q", "_to_field"):
        response = client.get("/admin/autocomplete/", {**own, extra: "1"})

        assert response.status_code == 400, (label, field_name, extra)
        assert refusal(response) == f"“{extra}” is not a parameter of the autocomplete."
        assert superuser_client.get("/admin/autocomplete/", {**own, extra: "1"}).status_code == 200


def test_the_autocomplete_answers_its_own_parameters(staff_client):
    from audiences.models import Audience, Membership

    client = staff_client(Audience)
    query = {
        "app_label": "audiences",
        "model_name": "membership",
        "field_name": "audience",
        "term": EMPLOYEE_MARK,
        "page": "1",
    }
    response = client.get("/admin/autocomplete/", query)

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [f"{EMPLOYEE_MARK} Staff"]
    assert Membership in admin.site._registry


# --- Every admin carries the guard, and a system check keeps it so ---------------------------


def test_every_registered_admin_carries_the_guard():
    unguarded = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, LookupGuardMixin)
    ]
    assert unguarded == []
    assert admins_answer_declared_filters_only() == []


def test_third_party_admins_are_registered_again_with_the_guard():
    user_admin = admin.site._registry[User]

    assert isinstance(user_admin, UserAdmin)
    assert isinstance(user_admin, LookupGuardMixin)
    assert type(user_admin).__qualname__ == "UserAdmin"
    lock_down(admin.site)
    assert admin.site._registry[User] is user_admin


def test_the_project_base_admins_carry_the_guard():
    assert issubclass(AudienceScopedAdmin, LookupGuardMixin)
    assert issubclass(SuperuserOnlyAdmin, LookupGuardMixin)


@pytest.fixture
def plain_response_admin() -> Iterator[None]:
    guarded = admin.site._registry[Response]
    admin.site._registry[Response] = admin.ModelAdmin(Response, admin.site)
    yield
    admin.site._registry[Response] = guarded


@pytest.mark.usefixtures("plain_response_admin")
def test_an_admin_without_the_guard_fails_the_system_check():
    [error] = admins_answer_declared_filters_only()

    assert error.id == "admin_guard.E001"
    assert error.msg == (
        "ModelAdmin lets staff users filter surveys.Response on any of its fields."
    )
    assert "LookupGuardMixin" in error.hint


def test_an_unguarded_autocomplete_fails_the_system_check(monkeypatch):
    monkeypatch.setattr(
        admin.site, "autocomplete_view", admin.AdminSite.autocomplete_view.__get__(admin.site)
    )
    [error] = admins_answer_declared_filters_only()

    assert error.id == "admin_guard.E002"
