"""Hidden fields on the hosted pages: signed public links, piping into question texts,
display logic on a field, storage at first save, and the named export's columns."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from audiences.models import Channel
from surveys import hidden_fields
from surveys.exports import export_rows
from surveys.logic import logic_errors, visible_keys
from surveys.models import PublicLink, QuestionType, Response
from surveys.services import invitation_create
from tests.factories import make_person
from tests.surveys.test_hosted_support import add_question, make_survey, plain_static_files

__all__ = ["plain_static_files"]

SECRET = "s3cret-for-tests"


def _survey():  # noqa: ANN202
    survey = make_survey(hidden_fields=["order_id", "store"])
    add_question(
        survey,
        "csat",
        QuestionType.CSAT,
        page=1,
        label={"en": "How was your order {order_id}?", "tr": "{ order_id } siparişiniz nasıldı?"},
    )
    add_question(
        survey,
        "kadikoy",
        QuestionType.TEXT,
        page=2,
        required=False,
        label={"en": "What about <b>{store}</b>?", "tr": "<b>{store}</b> hakkında?"},
        show_if={"field": "store", "op": "eq", "value": "Kadıköy"},
    )
    add_question(survey, "other", QuestionType.TEXT, page=3, required=False)
    return survey


def test_piping_escapes_values_and_leaves_no_braces():
    names = ["order_id", "store"]
    cases = [
        ("How was your order {order_id}?", {"order_id": "A-1"}, "How was your order A-1?"),
        ("How was your order {order_id}?", {}, "How was your order?"),
        ("{store} — {unknown}", {"store": "Moda"}, "Moda — {unknown}"),
        ("Pourquoi ?", {}, "Pourquoi ?"),  # nothing piped: the text is left as written
    ]
    for text, data, expected in cases:
        assert hidden_fields.pipe(text, data=data, names=names) == expected


@pytest.mark.django_db
def test_display_logic_tests_hidden_fields_and_checks_them_like_questions():
    survey = _survey()
    questions = list(survey.questions.all())
    assert visible_keys(questions, {"csat": 4}, {"store": "Kadıköy"}) == {
        "csat",
        "kadikoy",
        "other",
    }
    assert visible_keys(questions, {"csat": 4}, {"store": "Moda"}) == {"csat", "other"}
    assert visible_keys(questions, {"csat": 4}) == {"csat", "other"}
    assert logic_errors(questions, ["order_id", "store"]) == {}
    assert logic_errors(questions, ["order_id"]) == {
        "kadikoy": ["The condition refers to an unknown hidden field “store”."]
    }


@pytest.mark.django_db
def test_a_signed_public_link_stores_its_values_and_a_changed_one_is_refused(client):
    survey = _survey()
    link = PublicLink.objects.create(survey=survey, slug="deliv", signing_secret=SECRET)
    base = reverse("surveys:public", kwargs={"slug": "deliv"})
    values = {"order_id": "A-1042", "store": "Kadıköy"}
    signed = hidden_fields.signed_url(base, secret=SECRET, values=values)

    refused = [
        f"{base}?{urlencode(values)}",  # unsigned
        signed.replace("A-1042", "A-1043"),  # a value changed
        signed + "&" + urlencode({"order_id": "A-1"}),  # a value added twice
        f"{base}?{urlencode({**values, 'sig': 'f' * 64})}",  # a made-up signature
    ]
    for url in refused:
        page = client.get(url + "&lang=en")
        assert page.status_code == 400, url
        assert "This link has been changed" in page.content.decode()
    assert not Response.objects.exists()

    page = client.get(signed + "&lang=en&utm_source=qr")  # other parameters are not signed
    html = page.content.decode()
    assert page.status_code == 200
    assert "How was your order A-1042?" in html
    action = html.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "sig=" in action and "order_id=A-1042" in action
    moved = client.post(action, {"page": "1", "q-csat": "4"})
    assert moved.status_code == 302
    response = Response.objects.get()
    assert (response.public_link_id, response.data) == (link.pk, values)
    page2 = client.get(moved["Location"])
    assert "&lt;b&gt;Kadıköy&lt;/b&gt;" in page2.content.decode()  # piped, escaped


@pytest.mark.django_db
def test_an_invitation_page_pipes_its_data_and_the_export_has_a_column_per_field(
    client, admin_client
):
    survey = _survey()
    person = make_person("c-9", name="Can")
    invitation, token = invitation_create(survey=survey, person=person, channel=Channel.EMAIL)
    invitation.data = {"order_id": "B-7", "store": "Moda"}
    invitation.save(update_fields=["data"])
    url = reverse("surveys:respond", kwargs={"token": token})

    html = client.get(url + "?lang=tr").content.decode()
    assert "B-7 siparişiniz nasıldı?" in html and "{" not in html.split("<main", 1)[1][:3000]
    done = client.post(url, {"page": "1", "q-csat": "5"})
    assert done.status_code == 302
    done = client.post(url, {"page": "3", "q-other": "fine"})  # Moda: page 2 is not shown
    assert done.status_code == 302 and "done=1" in done["Location"]
    response = Response.objects.get()
    assert response.data == {"order_id": "B-7", "store": "Moda"}
    change = admin_client.get(reverse("admin:surveys_response_change", args=[response.pk]))
    assert "<code>order_id</code>: B-7" in change.content.decode()

    header, row = list(export_rows(survey=survey))
    at = header.index("order_id")
    assert header[at : at + 2] == ["order_id", "store"]
    assert row[at : at + 2] == ["B-7", "Moda"]
