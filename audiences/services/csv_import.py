"""The CSV import of people into an audience: streamed, validated, all rows or none.

The file is read as a stream (64 KB at a time) and its rows are validated and written in batches
of UPSERT_CHUNK inside one transaction, so memory does not grow with the file: a 25 MB file
costs about as much as a 2.5 MB one. The first error stops the writing, the rest of the file is
still checked so every bad line is reported, and the transaction is rolled back: nothing stored
before the import is lost or changed. Re-importing the same file writes nothing
(`people_upsert` skips unchanged rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audiences.models import Audience
from audiences.services.people import UPSERT_CHUNK, UpsertResult, people_upsert
from xmplatform.core.text import CONTROL_CHARACTERS

CSV_COLUMNS = (
    "external_id",
    "email",
    "phone",
    "name",
    "language",
    "time_zone",
    "segment",
    "joined_on",
)
ATTR_PREFIX = "attr:"
# Attributes are targeting and slicing dimensions: dozens are a mistake (a wide spreadsheet
# exported whole), and each one is stored on every membership of the file.
MAX_ATTRIBUTE_COLUMNS = 50
MAX_REPORTED_ERRORS = 1000
READ_BYTES = 64 * 1024
_MAX_LENGTHS = {"external_id": 128, "email": 254, "phone": 32, "name": 200, "segment": 100}


@dataclass
class ImportReport:
    """The outcome of one CSV import: per-line errors, or what was written."""

    rows: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    result: UpsertResult | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(message)

    def summary(self) -> str:
        if not self.ok:
            more = self.error_count - len(self.errors)
            tail = _(" (and %(n)d more)") % {"n": more} if more > 0 else ""
            return _("%(n)d error(s)%(tail)s; nothing was imported.") % {
                "n": self.error_count,
                "tail": tail,
            }
        r = self.result or UpsertResult()
        return _(
            "%(rows)d rows: %(created)d created, %(updated)d updated, %(unchanged)d unchanged; "
            "memberships: %(m_created)d created, %(m_updated)d updated, %(m_unchanged)d unchanged."
        ) % {
            "rows": self.rows,
            "created": r.created,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "m_created": r.memberships_created,
            "m_updated": r.memberships_updated,
            "m_unchanged": r.memberships_unchanged,
        }


def _control_error(value: str) -> str | None:
    """The API's rule for NUL (same message), and no other control character either."""
    found = CONTROL_CHARACTERS.search(value)
    if found is None:
        return None
    if "\x00" in value:
        return _("Text must not contain NUL characters.")
    return _(
        "Text must not contain control characters (found U+%(code)04X); remove it and save "
        "the file again."
    ) % {"code": ord(found.group())}


class _RowValidator:
    """Cleans one CSV row into an upsert row, or returns its errors as "field: message"."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        # available_timezones() walks the tz database on every call: once per import.
        self.time_zones = zoneinfo.available_timezones()
        self.languages = {code for code, _name in settings.LANGUAGES}

    def clean(self, cells: list[str]) -> tuple[dict[str, Any], list[str]]:
        row: dict[str, Any] = {}
        errors: list[str] = []
        attributes: dict[str, str] = {}
        # One search per row; the cells are looked at one by one only when it finds something.
        hidden = CONTROL_CHARACTERS.search("".join(cells)) is not None
        for column, raw in zip(self.columns, cells, strict=True):
            if hidden:
                message = _control_error(raw)
                if message:
                    errors.append(f"{column}: {message}")
                    continue
            value = raw.strip()
            if column.startswith(ATTR_PREFIX):
                if value:
                    attributes[column[len(ATTR_PREFIX) :]] = value
                continue
            limit = _MAX_LENGTHS.get(column)
            if limit is not None and len(value) > limit:
                errors.append(
                    _("%(col)s: Use at most %(n)d characters (this value has %(len)d).")
                    % {"col": column, "n": limit, "len": len(value)}
                )
                continue
            if not value:
                if column == "external_id":
                    errors.append(_("external_id: This value is required."))
                # An empty optional cell leaves the stored value alone.
                continue
            message = self._check(column, value)
            if message:
                errors.append(f"{column}: {message}")
                continue
            row[column] = dt.date.fromisoformat(value) if column == "joined_on" else value
        if attributes:
            row["attributes"] = attributes
        return row, errors

    def _check(self, column: str, value: str) -> str | None:
        if column == "email":
            try:
                validate_email(value)
            except ValidationError:
                return _("Enter a valid e-mail address.")
        elif column == "language" and value not in self.languages:
            return _("Unknown language %(value)s; use one of: %(allowed)s.") % {
                "value": value,
                "allowed": ", ".join(sorted(self.languages)),
            }
        elif column == "time_zone" and value not in self.time_zones:
            return _("Unknown time zone %(value)s; use an IANA name such as Europe/Istanbul.") % {
                "value": value
            }
        elif column == "joined_on":
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                return _("Enter a date as YYYY-MM-DD (got %(value)s).") % {"value": value}
            if len(value) != 10:
                return _("Enter a date as YYYY-MM-DD (got %(value)s).") % {"value": value}
        return None


def _file_size(file: IO[bytes]) -> int | None:
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    try:
        here = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(here)
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
    return end - here


class _CountingReader(io.RawIOBase):
    """Counts the bytes read so a non-seekable upload still honours the size limit."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class _TooLarge(Exception):
    pass


def _size_error(limit: int) -> str:
    return _("The file is larger than %(mb).1f MB; split it into smaller files.") % {
        "mb": limit / (1024 * 1024)
    }


def _check_header(columns: list[str], report: ImportReport) -> bool:
    for column in columns:
        message = _control_error(column)
        if message:
            report.error(_("header line: %(message)s") % {"message": message})
            return False
    allowed = ", ".join([*CSV_COLUMNS, ATTR_PREFIX + "<name>"])
    unknown = [
        c
        for c in columns
        if c not in CSV_COLUMNS and not (c.startswith(ATTR_PREFIX) and len(c) > len(ATTR_PREFIX))
    ]
    if unknown:
        report.error(
            _("Unknown column(s): %(unknown)s. Allowed columns: %(allowed)s.")
            % {"unknown": ", ".join(unknown), "allowed": allowed}
        )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        report.error(
            _("Column(s) named more than once: %(cols)s.") % {"cols": ", ".join(duplicated)}
        )
    if "external_id" not in columns:
        report.error(
            _("The external_id column is required. Allowed columns: %(allowed)s.")
            % {"allowed": allowed}
        )
    attribute_columns = sum(1 for c in columns if c.startswith(ATTR_PREFIX))
    if attribute_columns > MAX_ATTRIBUTE_COLUMNS:
        report.error(
            _(
                "The file has %(n)d attribute columns (attr:…); at most %(max)d are allowed. "
                "Remove the ones you do not target or slice by, or import the rest from a "
                "second file (attributes are merged)."
            )
            % {"n": attribute_columns, "max": MAX_ATTRIBUTE_COLUMNS}
        )
    return report.ok


def _import_rows(
    file: IO[bytes],
    audience: Audience,
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> UpsertResult:
    """Validate the file row by row and write each full batch while no error has been seen."""
    result = UpsertResult()
    limit = settings.PEOPLE_CSV_MAX_BYTES
    size = _file_size(file)
    if size is not None and size > limit:
        report.error(_size_error(limit))
        return result
    if size == 0:
        report.error(_("The file is empty; it needs a header line and at least one row."))
        return result
    counter = _CountingReader(file)
    # utf-8-sig accepts an optional byte-order mark (Excel's "CSV UTF-8" writes one).
    text = io.TextIOWrapper(
        io.BufferedReader(counter, buffer_size=READ_BYTES), encoding="utf-8-sig", newline=""
    )
    batch: list[dict[str, Any]] = []

    def write() -> None:
        result.add(people_upsert(rows=batch, audience=audience, chunk_size=len(batch)))
        if progress is not None:
            progress(len(batch))
        batch.clear()

    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            report.error(_("The file is empty; it needs a header line and at least one row."))
            return result
        columns = [c.strip() for c in header]
        if not _check_header(columns, report):
            return result
        validator = _RowValidator(columns)
        # The only thing kept for the whole file: where each external id was first seen.
        first_line: dict[str, int] = {}
        ended = reader.line_num
        for cells in reader:
            if counter.count > limit:
                raise _TooLarge
            # The line a row starts on: a quoted cell may span several.
            line, ended = ended + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines, e.g. a trailing one, are not rows
            report.rows += 1
            if len(cells) != len(columns):
                report.error(
                    _("line %(line)d: expected %(n)d columns, found %(found)d.")
                    % {"line": line, "n": len(columns), "found": len(cells)}
                )
                continue
            row, errors = validator.clean(cells)
            for message in errors:
                report.error(_("line %(line)d: %(message)s") % {"line": line, "message": message})
            external_id = row.get("external_id")
            if external_id is not None:
                if external_id in first_line:
                    report.error(
                        _("line %(line)d: external_id: %(id)s is already on line %(first)d.")
                        % {"line": line, "id": external_id, "first": first_line[external_id]}
                    )
                    continue
                first_line[external_id] = line
            if not report.ok:
                batch.clear()  # nothing more is written; the rest is only checked
            elif not errors:
                batch.append(row)
                if len(batch) >= UPSERT_CHUNK:
                    write()
    except UnicodeDecodeError as exc:
        report.error(
            _(
                "The file is not UTF-8 (byte 0x%(byte)02x cannot be decoded); save it as "
                '"CSV UTF-8" and upload it again.'
            )
            % {"byte": exc.object[exc.start]}
        )
        return result
    except csv.Error as exc:
        report.error(_("The file is not a valid CSV file: %(error)s") % {"error": exc})
        return result
    except _TooLarge:
        report.error(_size_error(limit))
        return result
    if report.ok and report.rows == 0:
        report.error(_("The file has a header line but no rows."))
    if report.ok and batch:
        write()
    return result


def people_import_csv(
    *,
    audience: Audience,
    file: IO[bytes],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import people into `audience` from a UTF-8 CSV file, all rows or none.

    Any error (per line, or about the file itself) rolls the whole import back and is listed in
    the report; nothing stored before is changed. The file is streamed and written in batches
    in one transaction (see the module docstring). `progress` is called with the number of rows
    written after each batch (rows of a file that then fails are rolled back).
    """
    report = ImportReport()
    try:
        with transaction.atomic():
            result = _import_rows(file, audience, report, progress)
            if not report.ok:
                transaction.set_rollback(True)
    except IntegrityError:
        # Another import created some of these people between our SELECT and our INSERT;
        # everything was rolled back, and running the import again resolves it.
        report.error(
            _(
                "Some of these people were added by another import at the same time; "
                "nothing was imported. Import the file again."
            )
        )
    else:
        if report.ok:
            report.result = result
    return report
