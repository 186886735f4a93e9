"""No user text is rendered unescaped: hosted pages, e-mails, the admin and the exports.

Every text a person, an editor or a respondent controls carries a payload with a script tag,
an attribute break-out and template syntax. Each must come out escaped (or, in exports, as
inert text), and the template syntax must come out literally, never evaluated.
"""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils.html import escape
from openpyxl import load_workbook

from audiences.models import Channel
from metrics.services import rollups_rebuild
from surveys.distribution.channels.email import build
from surveys.exports import export_csv_lines, export_xlsx
from surveys.models import Invitation, PublicLink, Question, QuestionType, Response
from tests.factories import make_membership, make_person
from tests.metrics.conftest import TODAY, add_responses, build_world
from tests.surveys.test_admin_support import add_response
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    invite,
    make_survey,
    plain_static_files,
    url,
)

pytestmark = pytest.mark.django_db


def payload(where: str) -> str:
    """A hostile text, tagged with where it was put so each place can be found escaped."""
    return f'<script>alert("{where}")</script>{{{{ 6|add:1 }}}}"><img src=x onerror=alert(1)>'


def assert_safe(html: str, *places: str) -> None:
    """No payload came out live, and each of `places` came out escaped and unevaluated."""
    assert "<script>alert(" not in html
    assert "<img src=x" not in html
    assert "onerror=alert" not in html or "&quot;&gt;&lt;img src=x onerror=alert" in html
    for where in places:
        assert escape(payload(where)) in html, f"{where} is not shown escaped"
    if places:
        assert "{{ 6|add:1 }}" in html


def hostile_survey(**extra):  # noqa: ANN003, ANN201
    """A one-page survey whose every text is a payload."""
    survey = make_survey(
        name=payload("survey name"),
        title={"en": payload("title")},
        intro={"en": payload("intro")},
        thank_you={"en": payload("thank you")},
        languages=["en"],
        default_language="en",
        **extra,
    )
    Question.objects.create(
        survey=survey,
        key="nps",
        type=QuestionType.NPS,
        order=1,
        page=1,
        label={"en": payload("nps label")},
        help={"en": payload("nps help")},
    )
    Question.objects.create(
        survey=survey,
        key="reason",
        type=QuestionType.SINGLE_CHOICE,
        order=2,
        page=1,
        required=False,
        label={"en": payload("choice question")},
        choices=[
            {"value": "price", "label": {"en": payload("choice label")}},
            {"value": '"><script>alert(1)</script>', "label": {"en": "odd value"}},
        ],
    )
    Question.objects.create(
        survey=survey,
        key="comment",
        type=QuestionType.TEXT,
        order=3,
        page=1,
        required=False,
        label={"en": payload("comment label")},
    )
    return survey


# --- Hosted pages --------------------------------------------------------------------------


def test_hosted_page_escapes_survey_question_and_choice_texts(client) -> None:  # noqa: ANN001
    _, token = invite(hostile_survey(), language="en")

    html = client.get(url(token)).content.decode()

    assert_safe(html, "title", "intro", "nps label", "nps help", "choice question")
    assert_safe(html, "choice label", "comment label")
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_answers_shown_again_are_escaped(client) -> None:  # noqa: ANN001
    _, token = invite(hostile_survey(), language="en")

    # The NPS answer is missing: the page comes back with the typed comment in its box.
    again = client.post(url(token), {"page": 1, "q-comment": payload("typed answer")})

    assert again.status_code == 200
    assert_safe(again.content.decode(), "typed answer")


def test_thank_you_page_escapes_its_text(client) -> None:  # noqa: ANN001
    invitation, token = invite(hostile_survey(), language="en")

    done = client.post(
        url(token), {"page": 1, "q-nps": "9", "q-comment": payload("answer")}, follow=True
    )

    assert done.status_code == 200
    assert_safe(done.content.decode(), "thank you")
    assert Response.objects.get(invitation=invitation).answers.get(
        question__key="comment"
    ).text == payload("answer")


def test_public_link_page_escapes_texts(client) -> None:  # noqa: ANN001
    PublicLink.objects.create(survey=hostile_survey(), slug="hostile")

    html = client.get("/p/hostile/").content.decode()

    assert_safe(html, "title", "intro", "nps label")


def test_hostile_query_parameters_change_nothing(client) -> None:  # noqa: ANN001
    _, token = invite(hostile_survey(), language="en")

    page = client.get(url(token), {"lang": payload("lang"), "page": payload("page")})

    assert page.status_code == 200
    html = page.content.decode()
    assert_safe(html)
    assert "alert(&quot;lang" not in html and "alert(&quot;page" not in html


def test_invitation_email_escapes_the_name_and_title() -> None:
    survey = hostile_survey()
    person = make_person("p-x", name=payload("person name"), language="en")
    invitation = Invitation.objects.create(
        survey=survey, person=person, channel=Channel.EMAIL, nonce="n" * 32, token_hash="h" * 64
    )

    message = build(invitation)
    html = message.alternatives[0][0]

    assert_safe(html, "person name", "title")


# --- Admin ---------------------------------------------------------------------------------


@pytest.fixture
def hostile_response():  # noqa: ANN201
    survey = hostile_survey()
    person = make_person("p-x", name=payload("person name"), language="en")
    make_membership(person, survey.audience, segment=payload("segment"))
    return add_response(
        survey,
        {"nps": 3, "reason": "price", "comment": payload("answer")},
        person=person,
        segment=payload("segment"),
    )


def test_survey_builder_escapes_every_text(client, xm_manager) -> None:  # noqa: ANN001
    survey = hostile_survey()
    client.force_login(xm_manager)

    page = client.get(reverse("admin:surveys_survey_change", args=[survey.pk]))
    listing = client.get(reverse("admin:surveys_survey_changelist"))

    assert page.status_code == 200
    assert_safe(page.content.decode(), "survey name", "title", "intro", "thank you")
    assert_safe(page.content.decode(), "nps label", "nps help", "comment label")
    assert "choice label" in page.content.decode()  # the choices box holds it as a text line
    assert_safe(listing.content.decode(), "survey name")


def test_response_list_and_page_escape_names_and_answers(
    client, xm_manager, hostile_response
) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    listing = client.get(reverse("admin:surveys_response_changelist"))
    page = client.get(reverse("admin:surveys_response_change", args=[hostile_response.pk]))

    assert listing.status_code == page.status_code == 200
    assert_safe(listing.content.decode(), "survey name", "person name", "segment")
    assert_safe(page.content.decode(), "answer", "nps label", "comment label")


def test_people_memberships_and_invitations_escape_names(
    client, xm_manager, hostile_response
) -> None:  # noqa: ANN001
    person = hostile_response.person
    Invitation.objects.create(
        survey=hostile_response.survey,
        person=person,
        channel=Channel.EMAIL,
        nonce="n" * 32,
        token_hash="h" * 64,
    )
    client.force_login(xm_manager)

    pages = {
        "people": client.get(reverse("admin:audiences_person_changelist")),
        "person": client.get(reverse("admin:audiences_person_change", args=[person.pk])),
        "memberships": client.get(reverse("admin:audiences_membership_changelist")),
        "invitations": client.get(reverse("admin:surveys_invitation_changelist")),
    }

    assert {name: p.status_code for name, p in pages.items()} == dict.fromkeys(pages, 200)
    assert_safe(pages["people"].content.decode(), "person name")
    assert_safe(pages["person"].content.decode(), "person name", "segment")
    assert_safe(pages["memberships"].content.decode(), "person name", "segment")
    assert_safe(pages["invitations"].content.decode(), "person name", "survey name")


def test_dashboard_verbatims_are_escaped(client, xm_manager, monkeypatch) -> None:  # noqa: ANN001
    from django.utils import timezone

    noon = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: noon)
    world = build_world(touchpoints=(("checkout", "Purchase"),))
    add_responses(world, [{"nps": 9, "touchpoint": "checkout", "comment": payload("verbatim")}] * 6)
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    client.force_login(xm_manager)

    page = client.get(reverse("metrics:audience", args=["customers"]))

    assert page.status_code == 200
    assert_safe(page.content.decode(), "verbatim")


# --- Exports -------------------------------------------------------------------------------

DDE = "=cmd|'/c calc'!A0"
FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


@pytest.fixture
def formula_survey():  # noqa: ANN201
    survey = hostile_survey()
    for i, text in enumerate(FORMULAS):
        person = make_person(f"={i}", name=payload("person name"), language="en")
        add_response(survey, {"nps": 9, "comment": text}, person=person, segment=DDE)
    add_response(survey, {"nps": 3, "comment": payload("answer")}, segment="gold")
    return survey


def test_csv_export_neutralises_formulas_and_keeps_payloads_as_text(formula_survey) -> None:  # noqa: ANN001
    text = "".join(export_csv_lines(survey=formula_survey))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    comments = [row[header.index("comment")] for row in body]
    segments = {row[header.index("segment")] for row in body}
    people = {row[header.index("person_external_id")] for row in body}

    assert comments[: len(FORMULAS)] == ["'" + f for f in FORMULAS]
    assert comments[-1] == payload("answer")  # plain text in a CSV: stored exactly
    assert segments == {"'" + DDE, "gold"}
    assert {p for p in people if p} == {f"'={i}" for i in range(len(FORMULAS))}
    for row in rows:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell


def test_xlsx_export_holds_no_formula_cell(formula_survey) -> None:  # noqa: ANN001
    with export_xlsx(survey=formula_survey) as output:
        workbook = load_workbook(io.BytesIO(output.read()))
    sheet = workbook["responses"]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]

    assert cells
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    # XML reads a stored carriage return back as a line feed.
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert {("'" + f).replace("\r", "\n") for f in FORMULAS} <= texts
    assert payload("answer") in texts
