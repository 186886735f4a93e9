""" "My weekly report" in the admin: a staff user switches the report on or off, picks its
language, sees the audiences it covers (their own access only) and sends themselves a preview."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from audiences.models import Role
from metrics.models import ReportSubscription
from tests.factories import make_audience
from tests.metrics.test_reports_support import customers_with_two_weeks, grant, staff_user

pytestmark = pytest.mark.django_db

URL = "/admin/metrics/reports/weekly/"


@pytest.fixture
def viewer():  # noqa: ANN201
    world = customers_with_two_weeks()
    make_audience("suppliers", name="Suppliers")  # no grant: never listed
    user = staff_user("viewer")
    grant(user, world.audience, Role.VIEWER)
    return user


def _client(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lists_only_the_audiences_the_user_sees_and_starts_off(
    viewer, django_assert_max_num_queries
):
    client = _client(viewer)

    # session, user, subscription, grants and owned audiences, audiences listed (+ the
    # admin's own context).
    with django_assert_max_num_queries(8):
        page = client.get(URL)

    assert reverse("metrics:report_settings") == URL
    body = page.content.decode()
    assert page.status_code == 200
    assert "My weekly report" in body
    assert ">Customers</a>" in body and "Suppliers" not in body
    assert 'name="enabled"' in body and "checked" not in body.split('name="enabled"')[1][:40]
    assert "viewer@example.com" in body


def test_switching_it_on_in_turkish_and_off_again(viewer):
    client = _client(viewer)

    on = client.post(URL, {"enabled": "on", "language": "tr", "action": "save"}, follow=True)
    assert on.status_code == 200
    row = ReportSubscription.objects.get(user=viewer)
    assert (row.enabled, row.language) == (True, "tr")
    assert "The weekly report is on." in on.content.decode()

    client.post(URL, {"language": "tr", "action": "save"})
    assert ReportSubscription.objects.get(user=viewer).enabled is False
    assert ReportSubscription.objects.count() == 1


def test_a_preview_goes_to_the_user_now_in_the_chosen_language_and_claims_nothing(viewer):
    client = _client(viewer)

    page = client.post(URL, {"language": "tr", "action": "preview"}, follow=True)

    (message,) = mail.outbox
    assert message.to == ["viewer@example.com"]
    assert message.subject.startswith("[Önizleme] Haftalık deneyim raporu")
    assert "Önizleme: haftalık raporunuz bu hafta böyle görünüyor." in message.body
    assert "Customers" in message.body and "Suppliers" not in message.body
    assert "A preview covering 1 audiences was sent to viewer@example.com." in (
        page.content.decode()
    )
    assert not ReportSubscription.objects.filter(user=viewer).exists()


def test_a_user_without_an_address_is_told_and_nothing_is_sent(viewer):
    viewer.email = ""
    viewer.save(update_fields=["email"])

    page = _client(viewer).post(URL, {"language": "en", "action": "preview"}, follow=True)

    assert mail.outbox == []
    assert "Your account has no e-mail address." in page.content.decode()


@pytest.mark.parametrize(
    "data", [{"language": "xx", "action": "save"}, {"action": "preview"}, {"enabled": "maybe"}]
)
def test_bad_input_shows_the_form_again_and_changes_nothing(viewer, data):
    page = _client(viewer).post(URL, data)

    assert page.status_code == 200
    assert not ReportSubscription.objects.exists()
    assert mail.outbox == []


def test_people_outside_the_admin_are_sent_to_log_in(outsider):
    client = Client()
    assert client.get(URL).status_code == 302
    client.force_login(outsider)  # not staff
    response = client.post(URL, {"enabled": "on", "language": "en", "action": "save"})
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert not ReportSubscription.objects.exists()


def test_the_page_speaks_turkish(viewer):
    client = _client(viewer)

    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="tr")

    body = page.content.decode()
    assert "Haftalık raporum" in body
    assert "Bana şimdi bir önizleme gönder" in body
    # A new subscription's language is preselected as the page's.
    assert '<option value="tr" selected>' in body


def test_superusers_see_every_subscription_read_only_and_others_none(viewer, xm_manager):
    ReportSubscription.objects.create(user=viewer, enabled=True, language="tr")
    listing = "/admin/metrics/reportsubscription/"

    page = _client(xm_manager).get(listing)
    assert page.status_code == 200
    assert "viewer" in page.content.decode()
    assert _client(xm_manager).get(listing + "add/").status_code == 403

    assert _client(viewer).get(listing).status_code == 403
