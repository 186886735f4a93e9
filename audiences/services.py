"""Writes for people, memberships and consent: upserts, the CSV import, opt-outs.

Everything that touches many people is set-based: one SELECT per chunk to find who exists, one
bulk INSERT for the new rows, one bulk UPDATE for the rows that really changed. Running the same
input twice therefore writes nothing the second time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import (
    Audience,
    AudienceGrant,
    AuditAction,
    AuditLog,
    Channel,
    Consent,
    ConsentStatus,
    Membership,
    Person,
)
from journeys.models import TouchpointEvent
from metrics.models import Case, CaseNote
from surveys.models import Answer, Invitation, InvitationState, QuestionType, Response

UPSERT_CHUNK = 2000
PERSON_FIELDS = ("email", "phone", "name", "language", "time_zone")
MAX_REPORTED_ERRORS = 1000


# --- People and memberships -----------------------------------------------------------------


@dataclass
class UpsertResult:
    """What `people_upsert` did, person by person and membership by membership."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    memberships_created: int = 0
    memberships_updated: int = 0
    memberships_unchanged: int = 0

    def add(self, other: UpsertResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@transaction.atomic
def people_upsert(
    *,
    rows: Sequence[dict[str, Any]],
    audience: Audience | None = None,
    chunk_size: int = UPSERT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    """Create or update people by `external_id`, and their membership of `audience` if given.

    Each row needs `external_id`; the keys of PERSON_FIELDS it carries are written, absent keys
    leave the stored value alone (new people get the model default). With an audience, the
    keys `segment`, `attributes` (merged into the stored attributes), `joined_on` and `left_on`
    are written to the membership; without `left_on` a membership that had ended is resumed.
    External ids must be unique within `rows` (the caller validates).

    Queries per chunk: people by external id; INSERT of the new people (if any); UPDATE of the
    changed people (if any); and with an audience the same three for memberships. Unchanged
    input costs two SELECTs per chunk and writes nothing.
    """
    result = UpsertResult()
    for chunk in _chunks(rows, chunk_size):
        result.add(_upsert_chunk(chunk, audience))
        if progress is not None:
            progress(len(chunk))
    return result


def _upsert_chunk(rows: Sequence[dict[str, Any]], audience: Audience | None) -> UpsertResult:
    result = UpsertResult()
    now = timezone.now()
    existing = {
        p.external_id: p
        for p in Person.objects.filter(external_id__in=[r["external_id"] for r in rows])
    }
    new_people: list[Person] = []
    changed_people: list[Person] = []
    changed_fields: set[str] = set()
    for row in rows:
        person = existing.get(row["external_id"])
        if person is None:
            person = Person(
                external_id=row["external_id"], **{f: row[f] for f in PERSON_FIELDS if f in row}
            )
            new_people.append(person)
            existing[person.external_id] = person
            continue
        diff = [f for f in PERSON_FIELDS if f in row and getattr(person, f) != row[f]]
        if diff:
            for f in diff:
                setattr(person, f, row[f])
            person.updated_at = now
            changed_fields.update(diff)
            changed_people.append(person)
        else:
            result.unchanged += 1
    if new_people:
        # Both backends return the new primary keys from a bulk INSERT (… RETURNING id).
        Person.objects.bulk_create(new_people, batch_size=len(new_people))
    if changed_people:
        Person.objects.bulk_update(
            changed_people, [*sorted(changed_fields), "updated_at"], batch_size=len(changed_people)
        )
    result.created = len(new_people)
    result.updated = len(changed_people)
    if audience is not None:
        _upsert_memberships(rows, audience, existing, result)
    return result


def _upsert_memberships(
    rows: Sequence[dict[str, Any]],
    audience: Audience,
    people: dict[str, Person],
    result: UpsertResult,
) -> None:
    ids = [people[r["external_id"]].pk for r in rows]
    stored = {
        m.person_id: m for m in Membership.objects.filter(audience=audience, person_id__in=ids)
    }
    new: list[Membership] = []
    changed: list[Membership] = []
    changed_fields: set[str] = set()
    for row in rows:
        person = people[row["external_id"]]
        membership = stored.get(person.pk)
        if membership is None:
            new.append(
                Membership(
                    person=person,
                    audience=audience,
                    segment=row.get("segment", ""),
                    attributes=dict(row.get("attributes") or {}),
                    joined_on=row.get("joined_on"),
                    left_on=row.get("left_on"),
                )
            )
            continue
        # Being upserted into an audience resumes a membership that had ended, unless the row
        # itself says when it ended.
        wanted: dict[str, Any] = {"left_on": row.get("left_on")}
        if "segment" in row:
            wanted["segment"] = row["segment"]
        if row.get("attributes"):
            wanted["attributes"] = {**membership.attributes, **row["attributes"]}
        if "joined_on" in row:
            wanted["joined_on"] = row["joined_on"]
        diff = [f for f, v in wanted.items() if getattr(membership, f) != v]
        if diff:
            for f in diff:
                setattr(membership, f, wanted[f])
            changed_fields.update(diff)
            changed.append(membership)
        else:
            result.memberships_unchanged += 1
    if new:
        Membership.objects.bulk_create(new, batch_size=len(new))
    if changed:
        Membership.objects.bulk_update(changed, sorted(changed_fields), batch_size=len(changed))
    result.memberships_created += len(new)
    result.memberships_updated += len(changed)


@transaction.atomic
def membership_add(
    *,
    person: Person,
    audience: Audience,
    segment: str = "",
    attributes: dict[str, Any] | None = None,
    joined_on: dt.date | None = None,
) -> Membership:
    """Make `person` a current member of `audience`; resumes a membership that had ended."""
    membership, created = Membership.objects.select_for_update().get_or_create(
        person=person,
        audience=audience,
        defaults={"segment": segment, "attributes": attributes or {}, "joined_on": joined_on},
    )
    if not created:
        membership.segment = segment
        membership.attributes = {**membership.attributes, **(attributes or {})}
        membership.joined_on = joined_on or membership.joined_on
        membership.left_on = None
        membership.save(update_fields=["segment", "attributes", "joined_on", "left_on"])
    return membership


@transaction.atomic
def membership_remove(
    *, person: Person, audience: Audience, left_on: dt.date | None = None
) -> bool:
    """End `person`'s membership of `audience` by setting `left_on`; returns whether it ended now.

    The row is kept, not deleted: churn and retention are counted from `joined_on`/`left_on`,
    and past responses keep their audience slice. `person_erase` is the way to forget someone.
    """
    when = left_on or timezone.localdate()
    changed = Membership.objects.filter(
        person=person, audience=audience, left_on__isnull=True
    ).update(left_on=when)
    return changed == 1


# --- Consent -------------------------------------------------------------------------------


@transaction.atomic
def consent_set(
    *,
    person: Person,
    channel: str,
    status: str,
    source: str,
    reaffirmed: bool = False,
) -> Consent:
    """Record `person`'s consent for `channel`.

    An opt-out always wins: a grant never overrides a withdrawal unless `reaffirmed` says the
    person themselves asked to be contacted again (not an import or an integration).
    """
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel %(channel)s.") % {"channel": channel})
    if status not in ConsentStatus.values:
        raise ValidationError(_("Unknown consent status %(status)s.") % {"status": status})
    consent, created = Consent.objects.select_for_update().get_or_create(
        person=person, channel=channel, defaults={"status": status, "source": source}
    )
    if created or consent.status == status:
        return consent
    if consent.status == ConsentStatus.WITHDRAWN and not reaffirmed:
        return consent
    consent.status = status
    consent.source = source
    consent.save(update_fields=["status", "source", "changed_at"])
    return consent


@transaction.atomic
def person_opt_out(*, person: Person, source: str) -> int:
    """Withdraw `person`'s consent on every channel; returns how many channels changed.

    Two writes whatever the number of channels: one UPDATE of the stored grants and one INSERT
    of withdrawals for channels never recorded (a concurrent insert is absorbed by the unique
    constraint).
    """
    now = timezone.now()
    updated = (
        Consent.objects.filter(person=person)
        .exclude(status=ConsentStatus.WITHDRAWN)
        .update(status=ConsentStatus.WITHDRAWN, source=source, changed_at=now)
    )
    known = set(Consent.objects.filter(person=person).values_list("channel", flat=True))
    missing = [c for c in Channel.values if c not in known]
    Consent.objects.bulk_create(
        [
            Consent(person=person, channel=c, status=ConsentStatus.WITHDRAWN, source=source)
            for c in missing
        ],
        ignore_conflicts=True,
    )
    return updated + len(missing)


# --- Erasure -------------------------------------------------------------------------------

ERASED_REASON = "erased"


@dataclass(frozen=True)
class ErasureReport:
    """What `person_erase` removed or unlinked (counts of rows)."""

    person_id: int
    memberships: int
    consents: int
    events: int
    contacts: int
    invitations_unlinked: int
    responses_unlinked: int
    free_text_answers: int
    case_notes: int = 0


@transaction.atomic
def person_erase(*, person: Person) -> ErasureReport:
    """Forget `person` (a GDPR erasure request): the person and everything personal about them.

    Deleted: the person, their memberships, consent records, touchpoint events and contact
    ledger entries, the free-text answers of their named responses (text can name them) and
    the notes on their follow-up cases (the cases stay, without the person).
    Unlinked and kept for the aggregates: their invitations (no person, event or provider
    message id; unsent ones suppressed, all expired so no link opens a survey) and their named
    responses (no person, invitation, precise time or user agent; the completion date and the
    scored answers stay, so published scores do not move). Anonymous responses never had a link
    and are untouched. The admin's change history of the erased rows keeps no name.

    The person's row is locked first, so a concurrent upsert or response waits. Set-based: the
    number of queries does not depend on how much history the person has.
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    now = timezone.now()
    membership_ids = list(Membership.objects.filter(person=person).values_list("pk", flat=True))
    consent_ids = list(Consent.objects.filter(person=person).values_list("pk", flat=True))
    case_notes, _detail = CaseNote.objects.filter(case__person=person).delete()
    free_text, _detail = Answer.objects.filter(
        response__person=person, question__type=QuestionType.TEXT
    ).delete()
    responses = Response.objects.filter(person=person).update(**RESPONSE_PERSONAL_LINKS)
    Invitation.objects.filter(
        person=person, state__in=[InvitationState.PLANNED, InvitationState.SENDING]
    ).update(state=InvitationState.SUPPRESSED, suppression_reason=ERASED_REASON)
    invitations = Invitation.objects.filter(person=person).update(
        person=None, event=None, message_id="", expires_at=now
    )
    events = TouchpointEvent.objects.filter(person=person).count()
    _total, deleted = Person.objects.filter(pk=person.pk).delete()
    # Django's change history would otherwise keep the person's name in object_repr.
    content_types = ContentType.objects.get_for_models(Person, Membership, Consent)
    erased = _("erased")
    for model, ids in (
        (Person, [person.pk]),
        (Membership, membership_ids),
        (Consent, consent_ids),
    ):
        if ids:
            LogEntry.objects.filter(
                content_type=content_types[model], object_id__in=[str(i) for i in ids]
            ).update(object_repr=f"{erased} #{person.pk}", change_message="")
    return ErasureReport(
        person_id=person.pk,
        memberships=deleted.get(Membership._meta.label, 0),
        consents=deleted.get(Consent._meta.label, 0),
        events=deleted.get(TouchpointEvent._meta.label, events),
        contacts=deleted.get("surveys.ContactLedger", 0),
        invitations_unlinked=invitations,
        responses_unlinked=responses,
        free_text_answers=free_text,
        case_notes=case_notes,
    )


# --- Access: grants, the audit log, retention ----------------------------------------------


def audit_record(
    *,
    actor: Any,
    action: str,
    audiences: Sequence[Audience | int | None] = (None,),
    target: str = "",
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> int:
    """Append one audit entry per audience (one INSERT); returns how many were written.

    Name people by id only (`target="person 42"`): an erasure must leave nothing here. An
    actor that is not a user (an API key) is named by `actor_name`.
    """
    user = actor if getattr(actor, "pk", None) is not None else None
    entries = [
        AuditLog(
            actor=user,
            actor_username=getattr(user, "username", "") if user is not None else actor_name,
            action=action,
            audience_id=a.pk if isinstance(a, Audience) else a,
            target=target[:200],
            detail=detail or {},
        )
        for a in audiences
    ]
    AuditLog.objects.bulk_create(entries)
    return len(entries)


@transaction.atomic
def grant_set(*, user: Any, audience: Audience, role: int, actor: Any) -> AudienceGrant:
    """Give `user` `role` on `audience` (or change their role); audited.

    The user becomes staff so they can log into the admin; their model permissions come from
    their highest role (audiences.access.AudienceRoleBackend). A new grant is announced to the
    audience's owner by e-mail after commit.
    """
    grant, created = AudienceGrant.objects.select_for_update().get_or_create(
        user=user, audience=audience, defaults={"role": role, "granted_by": actor}
    )
    if not created and grant.role == role:
        return grant
    before = None if created else grant.role
    if not created:
        grant.role = role
        grant.granted_by = actor
        grant.save(update_fields=["role", "granted_by"])
    if not user.is_staff:
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    audit_record(
        actor=actor,
        action=AuditAction.GRANT_ADDED if created else AuditAction.GRANT_CHANGED,
        audiences=[audience],
        target=f"user {user.username}",
        detail={"user_id": user.pk, "role": role, "previous_role": before},
    )
    if created:
        from audiences.tasks import grant_notify_owner_task

        grant_id = grant.pk
        transaction.on_commit(lambda: grant_notify_owner_task.delay(grant_id))
    return grant


@transaction.atomic
def audience_save(*, audience: Audience, actor: Any) -> Audience:
    """Save an audience the XM team edited; its owner manages it (audiences.access).

    The owner becomes staff, so the cases alerts assign to them can be opened in the admin, and a
    new owner is audited as a change of access.
    """
    previous = (
        Audience.objects.filter(pk=audience.pk).values_list("owner_id", flat=True).first()
        if audience.pk is not None
        else None
    )
    audience.save()
    owner = audience.owner
    if not owner.is_staff:
        type(owner).objects.filter(pk=owner.pk).update(is_staff=True)
        owner.is_staff = True
    if previous != owner.pk:
        audit_record(
            actor=actor,
            action=AuditAction.GRANT_ADDED if previous is None else AuditAction.GRANT_CHANGED,
            audiences=[audience],
            target=f"user {owner.get_username()}",
            detail={"user_id": owner.pk, "owner": True, "previous_owner_id": previous},
        )
    return audience


@transaction.atomic
def grant_remove(*, grant: AudienceGrant, actor: Any) -> None:
    """Withdraw one grant; audited. The user keeps their other grants."""
    deleted, _detail = AudienceGrant.objects.filter(pk=grant.pk).delete()
    if deleted:
        audit_record(
            actor=actor,
            action=AuditAction.GRANT_REMOVED,
            audiences=[grant.audience_id],
            target=f"user {grant.user.username}",
            detail={"user_id": grant.user_id, "role": grant.role},
        )


def grant_notify_owner(*, grant_id: int) -> bool:
    """E-mail the audience's owner that someone got access; False when there is nobody to tell."""
    from django.core.mail import send_mail

    grant = (
        AudienceGrant.objects.select_related("user", "audience__owner", "granted_by")
        .filter(pk=grant_id)
        .first()
    )
    if grant is None or not grant.audience.owner.email:
        return False
    values = {
        "user": grant.user.get_username(),
        "audience": grant.audience.name,
        "role": grant.get_role_display(),
        "by": grant.granted_by.get_username() if grant.granted_by else "—",
    }
    send_mail(
        subject=_("New access to %(audience)s: %(user)s") % values,
        message=_(
            "%(user)s was given access to the audience %(audience)s as %(role)s by %(by)s.\n\n"
            "If this is not expected, remove the grant in the admin (Audience grants)."
        )
        % values,
        from_email=None,
        recipient_list=[grant.audience.owner.email],
    )
    return True


# Fields that tie a response to a person; cleared by retention, erasure and anonymity.
RESPONSE_PERSONAL_LINKS: dict[str, Any] = {
    "person": None,
    "invitation": None,
    "started_at": None,
    "completed_at": None,
    "user_agent": "",
    "resume_key": None,
    "browser_key": None,
}


def responses_apply_retention(*, today: dt.date | None = None) -> int:
    """Unlink responses older than their audience's retention from people; returns how many.

    A response is older when it was completed (or, unfinished, started) more than
    `retention_months` before `today`. The answers and the completion date stay, so scores do
    not change. The follow-up cases of those responses (or, without a response, opened before
    the cutoff) lose their person too: through its case a response would still name who gave
    it. Two UPDATEs per audience that has a retention (audiences are few).
    """
    today = today or timezone.localdate()
    changed = 0
    for audience_id, months in Audience.objects.filter(retention_months__isnull=False).values_list(
        "pk", "retention_months"
    ):
        cutoff = _months_before(today, int(months or 0))
        linked = Response.objects.filter(audience_id=audience_id).filter(
            models.Q(person__isnull=False)
            | models.Q(invitation__isnull=False)
            | models.Q(completed_at__isnull=False)
            | models.Q(started_at__isnull=False)
        )
        old = models.Q(completed_on__lt=cutoff) | models.Q(
            completed_on__isnull=True, started_at__date__lt=cutoff
        )
        old_cases = models.Q(
            response__in=Response.objects.filter(audience_id=audience_id).filter(old).values("pk")
        ) | models.Q(response__isnull=True, opened_at__date__lt=cutoff)
        with transaction.atomic():
            Case.objects.filter(audience_id=audience_id, person__isnull=False).filter(
                old_cases
            ).update(person=None)
            changed += linked.filter(old).update(**RESPONSE_PERSONAL_LINKS)
    return changed


def _months_before(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    # The same day of the month, or the month's last day (31 March − 1 month = 28/29 February).
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))


# --- CSV import ----------------------------------------------------------------------------

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


class _RowValidator:
    """Cleans one CSV row into an upsert row, or returns its errors as "field: message"."""

    def __init__(self) -> None:
        # available_timezones() walks the tz database on every call: once per import.
        self.time_zones = zoneinfo.available_timezones()
        self.languages = {code for code, _name in settings.LANGUAGES}

    def clean(self, raw: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
        row: dict[str, Any] = {}
        errors: list[str] = []
        attributes: dict[str, str] = {}
        for column, value in raw.items():
            value = (value or "").strip()
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


def _read_rows(file: IO[bytes], report: ImportReport) -> list[dict[str, Any]]:
    """Validate the whole file; returns the clean rows (meaningful only if report.ok)."""
    limit = settings.PEOPLE_CSV_MAX_BYTES
    size = _file_size(file)
    if size is not None and size > limit:
        report.error(_size_error(limit))
        return []
    if size == 0:
        report.error(_("The file is empty; it needs a header line and at least one row."))
        return []
    counter = _CountingReader(file)
    # utf-8-sig accepts an optional byte-order mark (Excel's "CSV UTF-8" writes one).
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8-sig", newline="")
    rows: list[dict[str, Any]] = []
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            report.error(_("The file is empty; it needs a header line and at least one row."))
            return []
        columns = [c.strip() for c in header]
        if not _check_header(columns, report):
            return []
        validator = _RowValidator()
        first_line: dict[str, int] = {}
        for cells in reader:
            if counter.count > limit:
                raise _TooLarge
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines, e.g. a trailing one, are not rows
            report.rows += 1
            if len(cells) != len(columns):
                report.error(
                    _("line %(line)d: expected %(n)d columns, found %(found)d.")
                    % {"line": line, "n": len(columns), "found": len(cells)}
                )
                continue
            row, errors = validator.clean(dict(zip(columns, cells, strict=True)))
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
            if not errors:
                rows.append(row)
    except UnicodeDecodeError as exc:
        report.error(
            _(
                "The file is not UTF-8 (byte 0x%(byte)02x cannot be decoded); save it as "
                '"CSV UTF-8" and upload it again.'
            )
            % {"byte": exc.object[exc.start]}
        )
        return []
    except csv.Error as exc:
        report.error(_("The file is not a valid CSV file: %(error)s") % {"error": exc})
        return []
    except _TooLarge:
        report.error(_size_error(limit))
        return []
    if report.ok and report.rows == 0:
        report.error(_("The file has a header line but no rows."))
    return rows


def _check_header(columns: list[str], report: ImportReport) -> bool:
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
    return report.ok


def people_import_csv(
    *,
    audience: Audience,
    file: IO[bytes],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import people into `audience` from a UTF-8 CSV file, all rows or none.

    Every row is validated before anything is written; any error (per line, or about the file
    itself) leaves the database untouched and is listed in the report. The file is streamed and
    written in chunks (see `people_upsert`), so re-importing the same file changes nothing.
    `progress` is called with the number of rows written after each chunk.
    """
    report = ImportReport()
    rows = _read_rows(file, report)
    if report.ok:
        try:
            report.result = people_upsert(rows=rows, audience=audience, progress=progress)
        except IntegrityError:
            # Another import created some of these people between our SELECT and our INSERT;
            # everything was rolled back, and running the import again resolves it.
            report.error(
                _(
                    "Some of these people were added by another import at the same time; "
                    "nothing was imported. Import the file again."
                )
            )
    return report
