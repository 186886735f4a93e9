"""Response exports (CSV and XLSX), streamed for large surveys, and anonymous period summaries.

Rows are read set-based: completed responses through one streaming cursor, and the answers of
each chunk of responses in one query, so the query count grows with chunks, never per response.
Every cell is cleaned of control characters, and a cell that a spreadsheet would run as a
formula is neutralised (CWE-1236).

Privacy: an anonymous survey exports no per-response row to anyone below superuser. What they
get (`summary_rows`, from `period_summaries`) is one block per reporting period
(surveys.models.ReportingPeriod) with at least k released responses (k = the audience's
anonymity threshold): the number of responses and, once the period is published (ended and
frozen), each question's results — scores, choice counts and the comments, shuffled — where
at least k people answered it. No day finer than the period, no segment, channel, language or
touchpoint: nothing that narrows a group below k, and no figure that moves in steps under k
(an open period's count grows in released batches of at least k; its per-question results wait
for publication, since optional questions could move by fewer). Superusers keep the per-response
export (`export_rows(full=True)`), coarsened by the storage itself.
"""

import csv
import datetime as dt
import random
import tempfile
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BigIntegerField, Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import get_language
from openpyxl import Workbook

from surveys.models import (
    SCORED_TYPES,
    Answer,
    Question,
    QuestionType,
    ReportingPeriod,
    Response,
    Survey,
)
from surveys.periods import anonymity_threshold
from xmplatform.core import scores
from xmplatform.core.suppression import suppress_siblings

CHUNK_SIZE = 1000
# A cell whose first printable character is one of these starts a formula in Excel,
# LibreOffice or Google Sheets (control characters and whitespace before it are skipped by
# some of them); a leading single quote makes the cell plain text.
FORMULA_TRIGGERS = frozenset("=+-@")
# Kept in cells: tab and line breaks (multi-line comments). Every other C0/C1 control character
# is dropped: XLSX cannot store them, and they can hide a formula from a naive check.
KEPT_CONTROLS = frozenset("\t\n\r")
CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
_shuffle = random.SystemRandom().shuffle

Cell = str | int | float | None


def _strip_controls(value: str) -> str:
    if value.isprintable():
        return value  # the common case, checked in C
    return "".join(c for c in value if c in KEPT_CONTROLS or unicodedata.category(c) != "Cc")


def _first_printable(value: str) -> str:
    for c in value:
        if c.isprintable() and not c.isspace():
            return c
    return ""


def neutralise(value: Cell) -> Cell:
    """`value` without control characters, with a leading quote when it would be a formula."""
    if not isinstance(value, str):
        return value
    value = _strip_controls(value)
    if _first_printable(value) in FORMULA_TRIGGERS:
        return "'" + value
    return value


def export_header(*, survey: Survey, questions: Iterable[Question]) -> list[str]:
    """Column names: the response's context, then one column per question key.

    A key is one column across versions (retired questions too: their answers stay). Named
    surveys say which version each response answered; anonymous ones do not, as a version
    begins on a day and so would date the response finer than its period.
    """
    columns = ["response_id", "completed", "language", "channel", "segment", "touchpoint"]
    questions = list(questions)
    if not survey.anonymous:
        columns += ["person_external_id", "version"]
        columns += data_columns(survey=survey, questions=questions)
    return columns + [q.key for q in questions]


def data_columns(*, survey: Survey, questions: Iterable[Question]) -> list[str]:
    """One column per hidden field of a named survey: its name, or `data.<name>` where a
    (retired) question has that key. Anonymous surveys export none: a value of a few people
    would pick their responses out."""
    if survey.anonymous:
        return []
    keys = {q.key for q in questions}
    return [f"data.{name}" if name in keys else name for name in survey.hidden_fields or []]


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

    For the superuser's per-response views of an anonymous survey. With fewer completed
    responses than the audience's anonymity threshold in all, no single response's answers are
    shown: whoever sees the invitations knows who responded. The hidden segments are those too
    small to show, with their complement.
    """
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


def export_rows(
    *, survey: Survey, chunk_size: int = CHUNK_SIZE, full: bool = False
) -> Iterator[list[Cell]]:
    """The header, then one neutralised row per completed response of `survey`, oldest first.

    An anonymous survey yields its period summary (`summary_rows`) unless `full` (superusers
    only): then its responses, without identifying columns, as `anonymous_guard` allows.

    Queries: the questions, one streaming query over the responses, and one answers query per
    chunk of `chunk_size` responses; anonymous surveys add the segment sizes (`anonymous_guard`)
    and, with fewer responses than the anonymity threshold, export the header only.
    """
    if survey.anonymous and not full:
        yield from summary_rows(survey=survey)
        return
    questions = list(Question.objects.filter(survey=survey).order_by("order", "id"))
    too_few, small = anonymous_guard(survey=survey) if survey.anonymous else (False, set())
    yield [neutralise(c) for c in export_header(survey=survey, questions=questions)]
    if too_few:
        return
    by_id = {q.pk: q for q in questions}
    fields = ["pk", "completed_at", "completed_on", "language", "channel", "segment"]
    fields.append("touchpoint__slug")
    names = [] if survey.anonymous else list(survey.hidden_fields or [])
    if not survey.anonymous:
        fields += ["person__external_id", "version", "data"]
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
                cells += [row[7] or "", row[8]]
                data = row[9] if isinstance(row[9], dict) else {}
                cells += [data.get(name) or "" for name in names]
            given = answers.get(pk, {})
            for question_id, question in by_id.items():
                found = given.get(question_id)
                if found is None or (hidden and question.type == QuestionType.TEXT):
                    cells.append(None)
                else:
                    cells.append(_value(question, found))
            yield [neutralise(c) for c in cells]


# --- Anonymous surveys: results per reporting period -----------------------------------------


@dataclass
class QuestionResult:
    """One question's results in one period; `shown` False when fewer than k answered it."""

    question: Question
    n: int = 0
    shown: bool = False
    score: float | None = None
    mean: float | None = None
    counts: list[tuple[str, str, int]] = field(default_factory=list)  # value, label, count
    comments: list[str] = field(default_factory=list)


@dataclass
class PeriodSummary:
    """One reporting period: `n` None while it holds fewer than k released responses."""

    starts_on: dt.date
    ends_on: dt.date
    published: bool
    n: int | None
    results: list[QuestionResult] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return self.n is not None


@dataclass
class _Sums:
    n: int = 0
    total: int = 0
    sumsq: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    top2: int = 0

    def add(self, row: Mapping[str, Any]) -> None:
        for name in ("n", "total", "sumsq", "promoters", "passives", "detractors", "top2"):
            setattr(self, name, getattr(self, name) + row[name])


def _localised(texts: Any) -> str:
    if not isinstance(texts, dict) or not texts:
        return ""
    language = (get_language() or "en").split("-")[0]
    return str(texts.get(language) or texts.get("en") or next(iter(texts.values())))


def question_label(question: Question) -> str:
    """A question's text in the current language, else its key."""
    return _localised(question.label) or question.key


def _score(question: Question, sums: _Sums) -> tuple[float | None, float | None]:
    """(headline score, mean) of a scored question: NPS, CSAT top-2 % and mean, else the mean."""
    mean = scores.mean(n=sums.n, total=sums.total, sumsq=sums.sumsq).value
    if question.type == QuestionType.NPS:
        nps = scores.nps(
            promoters=sums.promoters, passives=sums.passives, detractors=sums.detractors
        )
        return nps.value, mean
    if question.type == QuestionType.CSAT:
        return scores.csat(top2=sums.top2, n=sums.n).value, mean
    return mean, mean


def _choice_values(question_type: str, text: str, choices: Any) -> list[str]:
    if question_type == QuestionType.MULTIPLE_CHOICE:
        return [str(c) for c in choices or []]
    if text:
        return [text]
    return [str(c) for c in (choices or [])[:1]]


def period_summaries(*, survey: Survey) -> list[PeriodSummary]:
    """The released results of an anonymous survey per reporting period, oldest first.

    A period with fewer than k released responses shows nothing (`n` None). A shown period
    gives its number of responses; once published, each question answered by at least k:
    scored questions their score, choice questions their counts per option, free-text
    questions their comments in random order. Responses outside every period are left out.

    Queries: the periods, the questions, the responses per day, the scored aggregates per day
    and question, and (published periods only) the choice answers and the comments: six at
    most, however many responses.
    """
    threshold = anonymity_threshold(survey.audience.anonymity_threshold)
    periods = list(
        ReportingPeriod.objects.filter(survey=survey)
        .order_by("starts_on")
        .values_list("starts_on", "ends_on", "published_at")
    )
    if not periods:
        return []
    questions = list(Question.objects.filter(survey=survey).order_by("order", "id"))
    released = Response.objects.filter(survey=survey, released=True, completed_on__isnull=False)

    found: dict[dt.date, dt.date | None] = {}

    def period_of(day: dt.date | None) -> dt.date | None:
        if day is None:
            return None
        if day not in found:
            found[day] = next((s for s, e, _p in periods if s <= day <= e), None)
        return found[day]

    counts: Counter[dt.date] = Counter()
    for day, n in released.values_list("completed_on").annotate(n=Count("pk")).order_by():
        start = period_of(day)
        if start is not None:
            counts[start] += n
    summaries = {
        starts_on: PeriodSummary(
            starts_on=starts_on,
            ends_on=ends_on,
            published=published_at is not None,
            n=counts[starts_on] if counts[starts_on] >= threshold else None,
        )
        for starts_on, ends_on, published_at in periods
    }
    final = {s.starts_on for s in summaries.values() if s.shown and s.published}
    if not final:
        return list(summaries.values())

    answers = Answer.objects.filter(
        response__survey=survey,
        response__released=True,
        response__completed_on__gte=min(final),
        response__completed_on__lte=max(summaries[s].ends_on for s in final),
    )
    sums: dict[tuple[dt.date, int], _Sums] = defaultdict(_Sums)
    scored = [q.pk for q in questions if q.type in SCORED_TYPES]
    if scored:
        number = F("number")
        rows = (
            answers.filter(question_id__in=scored, number__isnull=False)
            .values("response__completed_on", "question_id")
            .annotate(
                n=Count("number"),
                total=Coalesce(Sum("number", output_field=BigIntegerField()), 0),
                sumsq=Coalesce(Sum(number * number, output_field=BigIntegerField()), 0),
                promoters=Count("pk", filter=Q(number__gte=scores.PROMOTER_MIN)),
                passives=Count(
                    "pk",
                    filter=Q(number__gte=scores.PASSIVE_MIN, number__lt=scores.PROMOTER_MIN),
                ),
                detractors=Count("pk", filter=Q(number__lt=scores.PASSIVE_MIN)),
                top2=Count("pk", filter=Q(number__gte=scores.CSAT_TOP2_MIN)),
            )
            .order_by()
        )
        for row in rows:
            start = period_of(row["response__completed_on"])
            if start in final:
                sums[(start, row["question_id"])].add(row)

    by_id = {q.pk: q for q in questions}
    picked: dict[tuple[dt.date, int], Counter[str]] = defaultdict(Counter)
    answered: Counter[tuple[dt.date, int]] = Counter()
    choice_ids = [q.pk for q in questions if q.type in CHOICE_TYPES]
    if choice_ids:
        for day, question_id, text, choices in answers.filter(
            question_id__in=choice_ids
        ).values_list("response__completed_on", "question_id", "text", "choices"):
            start = period_of(day)
            values = _choice_values(by_id[question_id].type, text, choices)
            if start in final and values:
                answered[(start, question_id)] += 1
                picked[(start, question_id)].update(values)

    comments: dict[tuple[dt.date, int], list[str]] = defaultdict(list)
    text_ids = [q.pk for q in questions if q.type == QuestionType.TEXT]
    if text_ids:
        for day, question_id, text in (
            answers.filter(question_id__in=text_ids)
            .exclude(text="")
            .values_list("response__completed_on", "question_id", "text")
        ):
            start = period_of(day)
            if start in final and text.strip():
                comments[(start, question_id)].append(text)

    for start in sorted(final):
        summary = summaries[start]
        for question in questions:
            key = (start, question.pk)
            result = QuestionResult(question=question)
            if question.type in SCORED_TYPES:
                result.n = sums[key].n if key in sums else 0
                if result.n >= threshold:
                    result.shown = True
                    result.score, result.mean = _score(question, sums[key])
            elif question.type in CHOICE_TYPES:
                result.n = answered[key]
                if result.n >= threshold:
                    result.shown = True
                    labels = {
                        str(c.get("value")): _localised(c.get("label")) or str(c.get("value"))
                        for c in question.choices or []
                        if isinstance(c, dict)
                    }
                    order = list(labels) + sorted(set(picked[key]) - set(labels))
                    result.counts = [
                        (value, labels.get(value, value), picked[key][value]) for value in order
                    ]
            else:
                texts = comments.get(key, [])
                result.n = len(texts)
                if result.n >= threshold:
                    result.shown = True
                    result.comments = list(texts)
                    _shuffle(result.comments)
            summary.results.append(result)
    return list(summaries.values())


SUMMARY_HEADER = [
    "period_start",
    "period_end",
    "responses",
    "question",
    "measure",
    "option",
    "value",
]


def summary_rows(*, survey: Survey) -> Iterator[list[Cell]]:
    """The header, then the neutralised rows of `period_summaries` (shown periods only).

    One row per period (`responses`), then per question shown: `answers` and the score
    (`nps`, `csat` with `mean`, else `mean`), one `count` row per option, one `comment` row
    per comment (shuffled).
    """
    yield list(SUMMARY_HEADER)
    for summary in period_summaries(survey=survey):
        if not summary.shown:
            continue
        head: list[Cell] = [summary.starts_on.isoformat(), summary.ends_on.isoformat(), summary.n]
        yield [*head, "", "responses", "", summary.n]
        for result in summary.results:
            if not result.shown:
                continue
            key = result.question.key
            rows: list[tuple[str, str, Cell]] = [("answers", "", result.n)]
            qtype = result.question.type
            if qtype == QuestionType.NPS:
                rows.append(("nps", "", _rounded(result.score)))
            elif qtype == QuestionType.CSAT:
                rows += [("csat", "", _rounded(result.score)), ("mean", "", _rounded(result.mean))]
            elif qtype in SCORED_TYPES:
                rows.append(("mean", "", _rounded(result.mean)))
            rows += [("count", value, count) for value, _label, count in result.counts]
            rows += [("comment", "", text) for text in result.comments]
            for measure, option, value in rows:
                yield [neutralise(c) for c in (*head, key, measure, option, value)]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def export_csv_lines(
    *, survey: Survey, chunk_size: int = CHUNK_SIZE, full: bool = False
) -> Iterator[str]:
    """CSV lines of the export, starting with a BOM so spreadsheets read UTF-8 (ç, ğ, ı, ş)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in export_rows(survey=survey, chunk_size=chunk_size, full=full):
        yield writer.writerow(["" if cell is None else cell for cell in row])


def export_xlsx(*, survey: Survey, chunk_size: int = CHUNK_SIZE, full: bool = False) -> Any:
    """The export as an XLSX workbook in a temporary file (rewound), written in write-only mode.

    Write-only mode streams rows to disk, so memory stays flat however many responses there are.
    The rows come neutralised and without control characters (which XLSX cannot store).
    The caller closes the returned file.
    """
    workbook = Workbook(write_only=True)
    title = "summary" if survey.anonymous and not full else "responses"
    sheet = workbook.create_sheet(title=title)
    for row in export_rows(survey=survey, chunk_size=chunk_size, full=full):
        sheet.append(row)
    output = tempfile.TemporaryFile(suffix=".xlsx")  # closed by the caller (FileResponse)
    workbook.save(output)
    output.seek(0)
    return output


def export_filename(*, survey: Survey, extension: str, full: bool = False) -> str:
    kind = "summary" if survey.anonymous and not full else "responses"
    return f"survey-{survey.pk}-{kind}.{extension}"
