"""An HR insider tries to single out one employee of an anonymous pulse through its hidden
fields: by choosing the values invitations carry, then reading the field's slices through the
scores API, the drivers, the exports and the responses list."""

import datetime as dt

import pytest

from surveys import tokens
from surveys.exports import export_rows
from surveys.models import InvitationState, Response
from surveys.services import Respondent, response_answer
from tests.privacy.conftest import Pulse, clock
from tests.surveys.distribution_factories import make_invitation

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SEPTEMBER = dt.datetime(2026, 9, 10, 9, tzinfo=UTC)
AFTER_SEPTEMBER = dt.datetime(2026, 10, 1, 0, 5, tzinfo=UTC)


def answer_with_offices(pulse: Pulse, offices: dict[str, str]) -> None:
    """Everyone answers in September; their invitation carries their segment's office."""
    everyone = [(s, p) for s, people in pulse.people.items() for p in people]
    for i, (segment, person) in enumerate(everyone):
        at = SEPTEMBER + dt.timedelta(minutes=i)
        with clock(at):
            invitation = make_invitation(
                pulse.survey,
                person,
                state=InvitationState.SENT,
                sent_at=at,
                data={"office": offices[segment]},
            )
            response_answer(
                respondent=Respondent(
                    survey=pulse.survey,
                    invitation=invitation,
                    token=tokens.token_for(invitation.nonce),
                ),
                questions=list(pulse.survey.questions.all()),
                values={"enps": i % 11, "rating": 1 + i % 5},
                language="en",
            )
    pulse.release(at=AFTER_SEPTEMBER)


def test_hidden_field_slices_never_isolate_the_one_legal_employee(pulse, hr_key, superuser):
    pulse.survey.hidden_fields = ["office"]
    pulse.survey.save()
    # The insider sends the only lawyer's invitation with the sales team's office: "Levent"
    # is then sales (7, shown as a segment) plus the lawyer, and Levent − sales would be her.
    answer_with_offices(pulse, {"legal": "Levent", "sales": "Levent", "ops": "Maslak"})
    assert Response.objects.filter(data={"office": "Levent"}).count() == 8

    scores = {"audience": "employees", "metric": "enps"}
    by_segment = hr_key.get("/api/v1/scores/", {**scores, "by": "segment"}).json()["results"]
    shown_segments = {r["group"]: r["n"] for r in by_segment if not r.get("suppressed")}
    assert shown_segments == {"sales": 7}
    by_office = hr_key.get("/api/v1/scores/", {**scores, "by": "field:office"}).json()["results"]
    assert by_office == [
        {"group": "Levent", "suppressed": True},
        {"group": "Maslak", "suppressed": True},
    ]

    drivers = hr_key.get(
        "/api/v1/drivers/",
        {"survey": pulse.survey.pk, "outcome": "enps", "field": "office:Levent"},
    ).json()
    assert (drivers["n"], drivers["results"], drivers["reason_code"]) == (0, [], "segment_hidden")
    unknown = hr_key.get(
        "/api/v1/drivers/", {"survey": pulse.survey.pk, "outcome": "enps", "field": "email:x"}
    )
    assert unknown.json() == {"field": "“email” is not a hidden field of this survey."}

    # No export of an anonymous survey carries the field, not even the superuser's full one.
    for full in (False, True):
        header = next(iter(export_rows(survey=pulse.survey, full=full)))
        assert "office" not in header, full
    assert hr_key.get(f"/api/v1/surveys/{pulse.survey.pk}/responses/").status_code == 403


def test_a_hidden_field_slice_shows_groups_of_k_that_no_segment_cuts_into(
    pulse, hr_key, hr_analyst
):
    pulse.survey.hidden_fields = ["office"]
    pulse.survey.save()
    answer_with_offices(pulse, {"legal": "Izmir", "sales": "Levent", "ops": "Maslak"})

    body = hr_key.get(
        "/api/v1/scores/", {"audience": "employees", "metric": "enps", "by": "field:office"}
    ).json()["results"]
    # Izmir (one person) is hidden, and Maslak with it, so the total minus Levent holds 7.
    assert [(r["group"], r.get("n"), r.get("suppressed", False)) for r in body] == [
        ("Izmir", None, True),
        ("Levent", 7, False),
        ("Maslak", None, True),
    ]
    # The dashboard, filtered to the pulse, shows the same slice.
    page = hr_analyst.get(
        "/admin/metrics/employees/",
        {"survey": pulse.survey.pk, "metric": "enps", "from": "2026-09-01", "to": "2026-09-30"},
    ).content.decode()
    section = page.split('id="xm-field-office"', 1)[1].split("</section>", 1)[0]
    assert "By hidden field “office”" in section
    assert section.count("not enough responses") == 2 and "n=7" in section
