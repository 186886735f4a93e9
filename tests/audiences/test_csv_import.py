"""people_import_csv and `manage.py import_people`: all rows or none, with a per-line report."""

import io

import pytest
from django.core.management import CommandError, base, call_command

from audiences.management.commands.import_people import Command as ImportPeople
from audiences.models import Membership, Person
from audiences.services import UpsertResult
from audiences.services.csv_import import READ_BYTES, people_import_csv
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


# --- Control characters, attribute columns, streaming ----------------------------------------


@pytest.mark.django_db
def test_nul_is_refused_with_the_apis_message_and_nothing_changes(customers):  # noqa: ANN001
    existing = make_person("c-1", name="Old Name")

    report = _import(
        customers,
        csv_bytes(
            "c-1,,,New Name,,,,,",
            "c-2,,,Bad\x00Name,,,,,",
        ),
    )

    assert report.errors == ["line 3: name: Text must not contain NUL characters."]
    existing.refresh_from_db()
    assert existing.name == "Old Name"
    _assert_nothing_imported(existing)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cell", "code"),
    [("\x01=HYPERLINK(1)", "0001"), ("gold\t", "0009"), ("two\nlines", "000A"), ("\x9b", "009B")],
)
def test_other_control_characters_are_refused_by_code_point(customers, cell, code):  # noqa: ANN001
    data = csv_bytes(f'c-1,,,Ayşe,,,,,"{cell}"')

    report = _import(customers, data)

    assert report.errors == [
        f"line 2: attr:plan: Text must not contain control characters (found U+{code}); "
        "remove it and save the file again."
    ]
    _assert_nothing_imported()


@pytest.mark.django_db
def test_a_control_character_in_the_header_is_a_file_error(customers):  # noqa: ANN001
    report = _import(customers, csv_bytes("c-1,x", header="external_id,attr:\x07plan\n"))

    assert report.errors == [
        "header line: Text must not contain control characters (found U+0007); remove it and "
        "save the file again."
    ]
    _assert_nothing_imported()


@pytest.mark.django_db
def test_fifty_attribute_columns_import_and_fifty_one_are_refused(customers):  # noqa: ANN001
    def attributes_file(n: int) -> bytes:
        header = ",".join(["external_id", *(f"attr:a{i}" for i in range(n))]) + "\n"
        return csv_bytes(",".join(["c-1", *("v" for _ in range(n))]), header=header)

    refused = _import(customers, attributes_file(51))

    assert refused.errors == [
        "The file has 51 attribute columns (attr:…); at most 50 are allowed. Remove the ones you "
        "do not target or slice by, or import the rest from a second file (attributes are "
        "merged)."
    ]
    _assert_nothing_imported()
    assert _import(customers, attributes_file(50)).ok
    assert len(Membership.objects.get().attributes) == 50


class ChunkedUpload(io.BytesIO):
    """An upload that fails the test if anyone reads it whole or in chunks over 64 KB."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and 0 < size <= READ_BYTES, f"read({size})"
        self.reads.append(size)
        return super().read(size)


@pytest.mark.django_db
def test_the_file_is_read_in_chunks_and_written_in_batches(customers, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr("audiences.services.csv_import.UPSERT_CHUNK", 2)
    rows = [f"c-{i},,,Name {i},,,,," for i in range(5)]
    upload = ChunkedUpload(csv_bytes(*rows))
    written: list[int] = []

    report = people_import_csv(audience=customers, file=upload, progress=written.append)

    assert report.result == UpsertResult(created=5, memberships_created=5)
    assert written == [2, 2, 1]
    assert upload.reads and max(upload.reads) <= READ_BYTES
    assert Person.objects.count() == 5


@pytest.mark.django_db
def test_an_error_after_written_batches_rolls_them_back(customers, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr("audiences.services.csv_import.UPSERT_CHUNK", 2)
    existing = make_person("c-0", name="Old Name")
    rows = [f"c-{i},,,Name {i},,,,," for i in range(5)]

    report = _import(customers, csv_bytes(*rows, "c-9,not-an-email,,,,,,,", "c-3,,,Again,,,,,"))

    assert report.errors == [
        "line 7: email: Enter a valid e-mail address.",
        "line 8: external_id: c-3 is already on line 5.",
    ]
    assert report.result is None
    existing.refresh_from_db()
    assert existing.name == "Old Name"
    _assert_nothing_imported(existing)


@pytest.mark.django_db
def test_admin_import_refuses_a_control_character_with_a_400(client, xm_manager, customers):  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(xm_manager)
    upload = SimpleUploadedFile("p.csv", csv_bytes("c-1,,,A\x00B,,,,,"), content_type="text/csv")

    response = client.post(
        reverse("admin:audiences_audience_import_people", args=[customers.pk]), {"file": upload}
    )

    assert response.status_code == 400
    assert b"line 2: name: Text must not contain NUL characters." in response.content
    _assert_nothing_imported()


@pytest.mark.django_db
def test_command_refuses_too_many_attribute_columns(customers, tmp_path):  # noqa: ANN001
    path = tmp_path / "wide.csv"
    header = ",".join(["external_id", *(f"attr:a{i}" for i in range(60))]) + "\n"
    path.write_bytes(csv_bytes(",".join(["c-1", *("v" for _ in range(60))]), header=header))
    err = io.StringIO()

    with pytest.raises(CommandError, match=r"^1 error\(s\); nothing was imported\.$"):
        call_command("import_people", "customers", str(path), stderr=err)

    assert err.getvalue().startswith("The file has 60 attribute columns (attr:…); at most 50")
    _assert_nothing_imported()
