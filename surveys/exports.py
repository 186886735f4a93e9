"""Response exports (CSV and XLSX), streamed for large surveys.

Rows are read set-based: completed responses through one streaming cursor, and the answers of
each chunk of responses in one query, so the query count grows with chunks, never per response.
Cells that a spreadsheet would run as a formula are neutralised (CWE-1236). Anonymous surveys
export no identifying column and only the completion date; a segment with fewer responses than
the audience's anonymity threshold (and its complement, see metrics.selectors.suppress_siblings)
is exported blank, with its free-text answers left out; an anonymous survey with fewer responses
than the threshold in all exports no rows.
"""

import csv
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Count
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from surveys.models import SCORED_TYPES, Answer, Question, QuestionType, Response, Survey

CHUNK_SIZE = 1000
# A leading =, +, -, @ (or a tab / carriage return before one) starts a formula in Excel,
# LibreOffice and Google Sheets; a leading single quote makes the cell plain text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | None


def neutralise(value: Cell) -> Cell:
    """`value` with a leading quote when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def export_header(*, survey: Survey, questions: Iterable[Question]) -> list[str]:
    """Column names: the response's context, then one column per question key."""
    columns = ["response_id", "completed", "language", "channel", "segment", "touchpoint"]
    if not survey.anonymous:
        columns.append("person_external_id")
    return columns + [q.key for q in questions]


def _value(question: Question, answer: Any) -> Cell:
    if question.type in SCORED_TYPES:
        return answer["number"]
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return "; ".join(str(c) for c in answer["choices"] or [])
    if question.type == QuestionType.SINGLE_CHOICE and not answer["text"]:
        return str((answer["choices"] or [""])[0])
    return answer["text"]


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def anonymous_guard(*, survey: Survey) -> tuple[bool, set[str]]:
    """(too few responses, hidden segments) of an anonymous survey, from one grouped count.

    With fewer completed responses than the audience's anonymity threshold in all, no single
    response's answers may be shown: whoever sees the invitations knows who responded. The
    hidden segments are those too small to show, with their complement.
    """
    from metrics.selectors import suppress_siblings

    threshold = survey.audience.anonymity_threshold
    rows = [
        {"group": r["segment"], "n": r["n"]}
        for r in Response.objects.filter(survey=survey, completed_on__isnull=False)
        .values("segment")
        .annotate(n=Count("pk"))
        .order_by("segment")
    ]
    shown = suppress_siblings(rows, threshold=threshold)
    hidden = {r["group"] for r in shown if r.get("suppressed")}
    return sum(r["n"] for r in rows) < threshold, hidden


def hidden_segments(*, survey: Survey) -> set[str]:
    """Segments of an anonymous survey too small to show (with their complement)."""
    return anonymous_guard(survey=survey)[1]


def export_rows(*, survey: Survey, chunk_size: int = CHUNK_SIZE) -> Iterator[list[Cell]]:
    """The header, then one neutralised row per completed response of `survey`, oldest first.

    Queries: the questions, one streaming query over the responses, and one answers query per
    chunk of `chunk_size` responses; anonymous surveys add the segment sizes (`anonymous_guard`)
    and, with fewer responses than the anonymity threshold, export the header only.
    """
    questions = list(Question.objects.filter(survey=survey).order_by("order", "id"))
    too_few, small = anonymous_guard(survey=survey) if survey.anonymous else (False, set())
    yield [neutralise(c) for c in export_header(survey=survey, questions=questions)]
    if too_few:
        return
    by_id = {q.pk: q for q in questions}
    fields = ["pk", "completed_at", "completed_on", "language", "channel", "segment"]
    fields.append("touchpoint__slug")
    if not survey.anonymous:
        fields.append("person__external_id")
    responses = (
        Response.objects.filter(survey=survey, completed_on__isnull=False)
        .order_by("pk")
        .values_list(*fields)
        .iterator(chunk_size=chunk_size)
    )
    for chunk in _chunks(responses, chunk_size):
        answers: dict[int, dict[int, Any]] = defaultdict(dict)
        for answer in Answer.objects.filter(response_id__in=[r[0] for r in chunk]).values(
            "response_id", "question_id", "number", "text", "choices"
        ):
            answers[answer["response_id"]][answer["question_id"]] = answer
        for row in chunk:
            pk, completed_at, completed_on, language, channel, segment, touchpoint = row[:7]
            if survey.anonymous:
                completed = completed_on.isoformat()
            else:
                completed = (completed_at or completed_on).isoformat()
            hidden = segment in small
            cells: list[Cell] = [
                pk,
                completed,
                language,
                channel,
                "" if hidden else segment,
                touchpoint or "",
            ]
            if not survey.anonymous:
                cells.append(row[7] or "")
            given = answers.get(pk, {})
            for question_id, question in by_id.items():
                found = given.get(question_id)
                if found is None or (hidden and question.type == QuestionType.TEXT):
                    cells.append(None)
                else:
                    cells.append(_value(question, found))
            yield [neutralise(c) for c in cells]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def export_csv_lines(*, survey: Survey, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """CSV lines of the export, starting with a BOM so spreadsheets read UTF-8 (ç, ğ, ı, ş)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in export_rows(survey=survey, chunk_size=chunk_size):
        yield writer.writerow(["" if cell is None else cell for cell in row])


def export_xlsx(*, survey: Survey, chunk_size: int = CHUNK_SIZE) -> Any:
    """The export as an XLSX workbook in a temporary file (rewound), written in write-only mode.

    Write-only mode streams rows to disk, so memory stays flat however many responses there are.
    The caller closes the returned file.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="responses")
    for row in export_rows(survey=survey, chunk_size=chunk_size):
        # Control characters (other than tab and newlines) are invalid in XLSX XML.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    output = tempfile.TemporaryFile(suffix=".xlsx")  # closed by the caller (FileResponse)
    workbook.save(output)
    output.seek(0)
    return output


def export_filename(*, survey: Survey, extension: str) -> str:
    return f"survey-{survey.pk}-responses.{extension}"
