"""people_import_csv and `manage.py import_people`: all rows or none, with a per-line report."""

import io

import pytest
from django.core.management import CommandError, base, call_command

from audiences.imports import people_import_csv
from audiences.management.commands.import_people import Command as ImportPeople
from audiences.models import Membership, Person
from audiences.services import UpsertResult
from tests.audiences.conftest import GOOD_ROWS, csv_bytes
from tests.factories import make_person


def _import(audience, data: bytes):  # noqa: ANN001, ANN202
    return people_import_csv(audience=audience, file=io.BytesIO(data))


def _assert_nothing_imported(existing: Person | None = None) -> None:
    ids = [existing.external_id] if existing else []
    assert list(Person.objects.values_list("external_id", flat=True)) == ids
    assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_good_file_imports_people_and_memberships(customers):  # noqa: ANN001
    report = _import(customers, csv_bytes(*GOOD_ROWS))

    assert report.ok
    assert report.rows == 3
    assert report.result == UpsertResult(created=3, memberships_created=3)
    ayse = Person.objects.get(external_id="c-1")
    assert (ayse.name, ayse.language, ayse.time_zone, ayse.phone) == (
        "Ayşe Yılmaz",
        "tr",
        "Europe/Istanbul",
        "+90 532 000 0001",
    )
    membership = Membership.objects.get(person=ayse)
    assert (membership.segment, str(membership.joined_on), membership.attributes) == (
        "premium",
        "2024-05-01",
        {"plan": "gold"},
    )
    # Empty cells fall back to the defaults, and an empty attr: cell is no attribute.
    elif_ = Person.objects.get(external_id="c-3")
    assert (elif_.email, elif_.time_zone) == ("", "Europe/Istanbul")
    assert Membership.objects.get(person__external_id="c-2").attributes == {}


@pytest.mark.django_db
def test_reimporting_the_same_file_changes_nothing(customers):  # noqa: ANN001
    _import(customers, csv_bytes(*GOOD_ROWS))
    before = list(Person.objects.order_by("id").values_list("id", "updated_at"))

    report = _import(customers, csv_bytes(*GOOD_ROWS))

    assert report.result == UpsertResult(unchanged=3, memberships_unchanged=3)
    assert report.summary() == (
        "3 rows: 0 created, 0 updated, 3 unchanged; memberships: 0 created, 0 updated, 3 unchanged."
    )
    assert list(Person.objects.order_by("id").values_list("id", "updated_at")) == before


@pytest.mark.django_db
def test_utf8_byte_order_mark_is_accepted(customers):  # noqa: ANN001
    report = _import(customers, b"\xef\xbb\xbf" + csv_bytes(GOOD_ROWS[0]))

    assert report.ok
    assert Person.objects.get().external_id == "c-1"


@pytest.mark.django_db
def test_row_errors_are_reported_by_line_and_nothing_is_imported(customers):  # noqa: ANN001
    existing = make_person("c-1", name="Old Name", email="old@example.com")
    data = csv_bytes(
        "c-1,new@example.com,,New Name,tr,Europe/Istanbul,,,",
        ",missing@example.com,,No Id,en,,,,",
        "c-5,not-an-email,,Bad Mail,en,,,,",
        "c-6,ok@example.com,,Bad Zone,en,Mars/Olympus,,,",
        "c-7,ok7@example.com,,Bad Lang,de,,,2024-13-01,",
        "c-8,ok8@example.com,,Dup One,en,,,,",
        "c-8,ok9@example.com,,Dup Two,en,,,,",
    )

    report = _import(customers, data)

    assert not report.ok
    assert report.errors == [
        "line 3: external_id: This value is required.",
        "line 4: email: Enter a valid e-mail address.",
        "line 5: time_zone: Unknown time zone Mars/Olympus; use an IANA name such as "
        "Europe/Istanbul.",
        "line 6: language: Unknown language de; use one of: en, tr.",
        "line 6: joined_on: Enter a date as YYYY-MM-DD (got 2024-13-01).",
        "line 8: external_id: c-8 is already on line 7.",
    ]
    assert report.summary() == "6 error(s); nothing was imported."
    existing.refresh_from_db()
    assert (existing.name, existing.email) == ("Old Name", "old@example.com")
    _assert_nothing_imported(existing)


@pytest.mark.django_db
def test_unknown_columns_are_named_with_the_allowed_ones(customers):  # noqa: ANN001
    report = _import(customers, csv_bytes("c-1,x", header="external_id,favourite_colour\n"))

    assert report.errors == [
        "Unknown column(s): favourite_colour. Allowed columns: external_id, email, phone, name, "
        "language, time_zone, segment, joined_on, attr:<name>."
    ]
    _assert_nothing_imported()


@pytest.mark.django_db
def test_missing_external_id_column_is_a_file_error(customers):  # noqa: ANN001
    report = _import(customers, csv_bytes("a@example.com", header="email\n"))

    assert report.errors[0].startswith("The external_id column is required.")
    _assert_nothing_imported()


@pytest.mark.django_db
def test_latin1_file_is_rejected_as_not_utf8(customers):  # noqa: ANN001
    data = "external_id,name\nc-1,Jürgen Müller\n".encode("latin-1")

    report = _import(customers, data)

    assert report.errors == [
        'The file is not UTF-8 (byte 0xfc cannot be decoded); save it as "CSV UTF-8" and '
        "upload it again."
    ]
    _assert_nothing_imported()


@pytest.mark.django_db
def test_empty_file_is_rejected(customers):  # noqa: ANN001
    report = _import(customers, b"")

    assert report.errors == ["The file is empty; it needs a header line and at least one row."]
    _assert_nothing_imported()


@pytest.mark.django_db
def test_header_only_file_is_rejected(customers):  # noqa: ANN001
    report = _import(customers, csv_bytes())

    assert report.errors == ["The file has a header line but no rows."]
    _assert_nothing_imported()


@pytest.mark.django_db
def test_file_over_the_size_limit_is_rejected(customers, settings):  # noqa: ANN001
    settings.PEOPLE_CSV_MAX_BYTES = 100
    report = _import(customers, csv_bytes(*GOOD_ROWS))

    assert report.errors == ["The file is larger than 0.0 MB; split it into smaller files."]
    _assert_nothing_imported()


@pytest.mark.django_db
def test_wrong_number_of_cells_is_reported(customers):  # noqa: ANN001
    report = _import(customers, csv_bytes("c-1,a@example.com", header="external_id,email,name\n"))

    assert report.errors == ["line 2: expected 3 columns, found 2."]
    _assert_nothing_imported()


# --- The command ------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_imports_a_good_file(customers, tmp_path):  # noqa: ANN001
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(*GOOD_ROWS))
    out, err = io.StringIO(), io.StringIO()

    call_command("import_people", "customers", str(path), stdout=out, stderr=err)

    assert out.getvalue() == (
        "3 rows: 3 created, 0 updated, 0 unchanged; memberships: 3 created, 0 updated, "
        "0 unchanged.\n"
    )
    assert Person.objects.count() == 3


@pytest.mark.django_db
def test_command_reports_each_bad_line_and_fails(customers, tmp_path):  # noqa: ANN001
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS[0], "c-2,bad-mail,,,,,,,"))
    err = io.StringIO()

    with pytest.raises(CommandError, match=r"^1 error\(s\); nothing was imported\.$"):
        call_command("import_people", "customers", str(path), stderr=err)

    assert err.getvalue() == "line 3: email: Enter a valid e-mail address.\n"
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_command_exits_non_zero_on_errors(customers, tmp_path, monkeypatch, capsys):  # noqa: ANN001
    path = tmp_path / "people.csv"
    path.write_bytes(b"")
    # run_from_argv closes the connections at the end, which would end the test's transaction.
    monkeypatch.setattr(base.connections, "close_all", lambda: None)

    with pytest.raises(SystemExit) as exit_info:
        ImportPeople().run_from_argv(["manage.py", "import_people", "customers", str(path)])

    assert exit_info.value.code == 1
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "The file is empty; it needs a header line and at least one row.",
        "CommandError: 1 error(s); nothing was imported.",
    ]


@pytest.mark.django_db
def test_command_rejects_unknown_audience(customers, tmp_path):  # noqa: ANN001
    with pytest.raises(
        CommandError, match="No audience with slug nobody. Known audiences: customers."
    ):
        call_command("import_people", "nobody", str(tmp_path / "x.csv"))


@pytest.mark.django_db
def test_command_rejects_missing_file(customers, tmp_path):  # noqa: ANN001
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_people", "customers", str(tmp_path / "missing.csv"))
