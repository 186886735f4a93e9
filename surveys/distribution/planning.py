"""Planning invitations: from touchpoint events (triggers) and for scheduled waves, with forecasts.

Planning writes `planned` rows carrying `due_at`; nothing waits in the broker. The fatigue guard
runs again, authoritatively, when an invitation is due (distribution.sending), because the person's
history can change between planning and sending. A wave's plan (and its dry-run forecast) uses
the same guard against the history known at planning time.

Planning that writes invitations due now owes an `invitation.due` outbox row in the same
transaction, whose handler (distribution.sending) sends them without waiting for the beat's
minute; the beat's sweep (`surveys-dispatch-due`) sends what falls due later.
"""

import datetime
import functools
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audiences.models import Membership, Person
from journeys.models import TouchpointEvent
from surveys import hidden_fields, tokens
from surveys.distribution import fatigue, ticks
from surveys.distribution.wave_guard import wave_guard
from surveys.models import (
    DistributionRule,
    Invitation,
    InvitationState,
    RuleKind,
    SurveyStatus,
    WaveRun,
)
from xmplatform.core.outbox import outbox_emit

if TYPE_CHECKING:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

CHUNK = 5000
ANALYZE_AFTER = 20_000  # invitations written by one wave run
HOUR = datetime.timedelta(hours=1)


def invitation_row(**fields: object) -> Invitation:
    """An unsaved invitation with a fresh nonce and the hash of its token."""
    nonce = tokens.new_nonce()
    return Invitation(nonce=nonce, token_hash=tokens.token_hash(tokens.token_for(nonce)), **fields)


def sampled(*, key: str, rate: float) -> bool:
    """A stable coin flip: the same key always lands the same way (retries stay idempotent)."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def condition_matches(condition: dict, attributes: dict) -> bool:
    """Every key of `condition` equals the attribute (a list means "one of")."""
    for key, expected in (condition or {}).items():
        value = (attributes or {}).get(key)
        if isinstance(expected, list):
            if value not in expected:
                return False
        elif value != expected:
            return False
    return True


def invitations_insert(rows: Sequence[dict]) -> None:
    """Insert many invitations given as {attname: value}; unnamed fields take their defaults.

    On PostgreSQL this streams them with COPY (several times faster than INSERT for a wave of
    a million); elsewhere it uses bulk_create.
    """
    if connection.vendor != "postgresql":
        Invitation.objects.bulk_create([Invitation(**row) for row in rows], batch_size=2000)
        return
    fields = [f for f in Invitation._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    defaults = [f.get_default() for f in fields]
    # Strings, numbers, ids and aware datetimes go to psycopg as they are; a field of any
    # other kind is prepared by Django (one call per value costs more than the COPY itself).
    prepare = [
        None if isinstance(f, _COPY_AS_IS) else functools.partial(_prepared, f) for f in fields
    ]

    def values(row: dict) -> list[object]:
        out = [row.get(name, default) for name, default in zip(names, defaults, strict=True)]
        for i, value in enumerate(out):
            if isinstance(value, Enum):
                out[i] = value.value  # TextChoices members: their value, not name
            elif prepare[i] is not None:
                out[i] = prepare[i](value)
        return out

    _copy(names, (values(row) for row in rows))


def _copy(names: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """COPY `rows` (values of the fields `names`, ready for psycopg) into the invitations.

    Fields not named take their default, prepared once for the whole COPY. The binary format
    with the columns' types given up front spares psycopg a type lookup and a text rendering
    per value, and the server the parsing (a fifth of the client's time per row).
    """
    fields = {f.attname: f for f in Invitation._meta.concrete_fields if not f.primary_key}
    others = [f for name, f in fields.items() if name not in names]
    constants = tuple(_prepared(f, f.get_default()) for f in others)
    ordered = [*(fields[n] for n in names), *others]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in ordered)
    # "varchar(32)" → "varchar", "timestamp with time zone", "bigint": names psycopg knows.
    types = [str(f.db_type(connection)).split("(", 1)[0] for f in ordered]
    table = quote(Invitation._meta.db_table)
    statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"  # noqa: S608
    with connection.cursor() as cursor:
        with cursor.cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row((*row, *constants) if constants else row)


_COPY_AS_IS = (
    models.CharField,
    models.IntegerField,
    models.ForeignKey,
    models.DateTimeField,
    models.BooleanField,
)


def _prepared(field: models.Field, value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    return field.get_db_prep_save(value, connection)


# --- Triggers ----------------------------------------------------------------------------


def events_recorded_handler(*, message_id: int, event_ids: list[int]) -> None:
    """Outbox handler of `event.recorded`: plan the invitations the new events' triggers ask for."""
    invitations_plan_for_events(event_ids=event_ids)


@transaction.atomic
def invitations_plan_for_events(
    *, event_ids: Sequence[int], now: datetime.datetime | None = None
) -> int:
    """Plan one invitation per (active trigger rule, matching event); returns how many.

    Idempotent: the rules are locked (FOR UPDATE) and the (rule, event) pairs already planned
    are skipped, so planning the same events again, even at the same time, plans nothing
    twice; the database enforces it too (one invitation per rule and event). If any of them is
    due by `now`, owes an `invitation.due` outbox row. Queries: events, rules (locked),
    existing pairs, reach (2), one bulk insert, and the outbox row when one is due; the people
    too when an anonymous survey has hidden fields (values that are the person's own
    identifiers are not copied from the event's attributes).
    """
    now = now or timezone.now()
    events = list(
        TouchpointEvent.objects.filter(id__in=event_ids).values(
            "id", "person_id", "touchpoint_id", "occurred_at", "attributes"
        )
    )
    if not events:
        return 0
    touchpoints = {e["touchpoint_id"] for e in events}
    rules = list(
        DistributionRule.objects.select_for_update(of=("self",))
        .select_related("survey__audience")
        .filter(kind=RuleKind.TRIGGER, active=True, survey__status=SurveyStatus.LIVE)
        .filter(
            Q(touchpoint_id__in=touchpoints)
            | Q(touchpoint__isnull=True, survey__touchpoint_id__in=touchpoints)
        )
        .order_by("id")
    )
    if not rules:
        return 0
    done = set(
        Invitation.objects.filter(rule__in=rules, event_id__in=event_ids).values_list(
            "rule_id", "event_id"
        )
    )
    reach = fatigue.reach_load(list({e["person_id"] for e in events}))
    # Anonymous surveys' hidden fields take no value that is the person's own identifier.
    people = (
        Person.objects.in_bulk({e["person_id"] for e in events})
        if any(rule.survey.anonymous and rule.survey.hidden_fields for rule in rules)
        else {}
    )
    rows = []
    due_now = False
    for rule in rules:
        tp = rule.touchpoint_id or rule.survey.touchpoint_id
        for e in events:
            if e["touchpoint_id"] != tp or (rule.id, e["id"]) in done:
                continue
            if not condition_matches(rule.condition, e["attributes"]):
                continue
            if not sampled(key=f"{rule.id}:{e['id']}", rate=rule.sampling_rate):
                continue
            channel, reason = fatigue.channel_choose(
                rule.channels,
                reach.get(e["person_id"], {}),
                requires_opt_in=rule.survey.audience.requires_opt_in,
            )
            due = e["occurred_at"] + rule.delay
            due_now |= reason is None and due <= now
            rows.append(
                invitation_row(
                    survey_id=rule.survey_id,
                    rule_id=rule.id,
                    person_id=e["person_id"],
                    event_id=e["id"],
                    channel=channel,
                    state=InvitationState.SUPPRESSED if reason else InvitationState.PLANNED,
                    suppression_reason=reason or "",
                    due_at=due,
                    expires_at=due + rule.expiry_days * fatigue.DAY,
                    data=hidden_fields.event_data(
                        e["attributes"],
                        names=rule.survey.hidden_fields,
                        anonymous=rule.survey.anonymous,
                        person=people.get(e["person_id"]),
                    ),
                )
            )
    Invitation.objects.bulk_create(rows, batch_size=1000)
    if due_now:
        outbox_emit("invitation.due")
    return len(rows)


# --- Waves -------------------------------------------------------------------------------


@dataclass
class WavePlan:
    """What a wave run did, or would do (dry run): counts by outcome and suppression rule."""

    candidates: int = 0
    planned: int = 0
    suppressed: Counter = field(default_factory=Counter)
    spread_hours: int = 0
    deferred: int = 0  # planned for a later hour by the hourly cap (counted in `planned`)
    survey_not_live: bool = False  # a real run of a draft or closed survey plans nothing
    already_ran: bool = False  # another run planned this scheduled time: this one plans nothing

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())


def wave_members(rule: DistributionRule) -> QuerySet:
    """The people a wave targets: current members of the survey's audience, filtered."""
    qs = Membership.objects.filter(audience_id=rule.survey.audience_id, left_on__isnull=True)
    if rule.segment:
        qs = qs.filter(segment=rule.segment)
    for key, value in (rule.attribute_filter or {}).items():
        qs = qs.filter(**{f"attributes__{key}": value})
    return qs


def wave_run(
    *,
    rule: DistributionRule,
    now: datetime.datetime | None = None,
    dry_run: bool = False,
    scheduled_for: datetime.datetime | None = None,
) -> WavePlan:
    """Plan (or forecast, with `dry_run`) one run of a wave, streaming the audience in chunks.

    A run of the beat is the run of one scheduled time (`scheduled_for`): a WaveRun row unique
    per rule and time is its claim, so a second run for the same time, from a second beat
    process, plans nothing (`already_ran`), and its sample is a stable hash of (rule, scheduled
    time, person), so every run for that time draws the same people. A run by hand (no
    `scheduled_for`) is claimed for `now` and draws by (rule, run number, person), so a
    forecast followed by "Plan the wave now" draws alike. Runs of one rule take turns on the
    rule's row lock; a dry run forecasts exactly whom the real run draws. Each chunk costs two
    statements: the guard (wave_guard: members, their facts and the verdict, in one query) and
    one insert (COPY on PostgreSQL), so a wave of a million members never holds everyone in
    memory. Admitted invitations are spread over hours so no hour exceeds the wave's cap (the
    rule's or the strictest policy's); those that would fall after expiry are suppressed as
    `wave_cap`. A real run of a survey that is not live plans nothing (a forecast still shows
    what it would do).
    """
    now = now or timezone.now()
    with transaction.atomic():
        if dry_run:
            return _wave_run(rule, now, scheduled_for=scheduled_for)
        locked = DistributionRule.objects.select_for_update().select_related("survey__audience")
        current = locked.get(pk=rule.pk)
        if current.survey.status != SurveyStatus.LIVE:
            return WavePlan(survey_not_live=True)  # a draft or closed survey plans nothing
        try:
            with transaction.atomic():
                claim = WaveRun.objects.create(
                    rule=current, scheduled_for=scheduled_for or now, started_at=now
                )
        except IntegrityError:
            return WavePlan(already_ran=True)
        plan = _wave_run(current, now, scheduled_for=scheduled_for, claim=claim)
        rule.runs += 1
        rule.last_run_at = now
        return plan


def wave_run_scheduled(*, rule_id: int, now: datetime.datetime | None = None) -> WavePlan:
    """The beat's run of an active wave: for the scheduled time its schedule fired for."""
    rule = (
        DistributionRule.objects.select_related(
            "survey__audience",
            "periodic_task__clocked",
            "periodic_task__crontab",
            "periodic_task__interval",
        )
        .filter(pk=rule_id, active=True)
        .first()
    )
    if rule is None:
        return WavePlan()
    now = now or timezone.now()
    return wave_run(rule=rule, now=now, scheduled_for=ticks.fired_for(rule.periodic_task, now=now))


def _wave_run(
    rule: DistributionRule,
    now: datetime.datetime,
    *,
    scheduled_for: datetime.datetime | None,
    claim: WaveRun | None = None,
) -> WavePlan:
    """Plan the run `claim` (None: forecast it, writing nothing)."""
    dry_run = claim is None
    survey = rule.survey
    policies = fatigue.policies_load()
    caps = [c for c in [rule.hourly_cap, *(p.wave_hourly_cap for p in policies)] if c]
    cap = min(caps) if caps else None
    expiry = rule.expiry_days * fatigue.DAY
    plan = WavePlan()
    run = rule.runs + 1
    drawn = (
        f"{rule.id}:{run}:"
        if scheduled_for is None
        else f"{rule.id}:{scheduled_for.astimezone(datetime.UTC).isoformat()}:"
    )
    admitted = 0
    members = wave_members(rule)
    after = 0
    while True:
        # Keyset pagination over person ids keeps memory flat for a million members.
        chunk = wave_guard(
            members.filter(person_id__gt=after).order_by("person_id").values("person_id")[:CHUNK],
            after=after,
            policies=policies,
            survey_id=survey.id,
            channels=rule.channels,
            requires_opt_in=survey.audience.requires_opt_in,
            now=now,
        )
        if not chunk:
            break
        after = chunk[-1][0]
        rows = []
        for pid, language, channel, guarded in chunk:
            if rule.sample_share < 1 and not sampled(key=f"{drawn}{pid}", rate=rule.sample_share):
                continue
            plan.candidates += 1
            reason = guarded
            due = now
            if reason is None and cap:
                due = now + (admitted // cap) * HOUR
                if due >= now + expiry:
                    reason = fatigue.WAVE_CAP
            if reason is None:
                admitted += 1
                plan.planned += 1
                plan.deferred += due > now
            else:
                plan.suppressed[reason] += 1
            if not dry_run:
                rows.append((pid, channel, language, reason, due))
        if rows:
            _wave_insert(rows, rule=rule, now=now, expiry=expiry)
    plan.spread_hours = (admitted - 1) // cap + 1 if cap and admitted else (1 if admitted else 0)
    if claim is not None:
        DistributionRule.objects.filter(pk=rule.pk).update(runs=run, last_run_at=now)
        WaveRun.objects.filter(pk=claim.pk).update(
            candidates=plan.candidates, planned=plan.planned, suppressed=plan.suppressed_total
        )
        if plan.candidates >= ANALYZE_AFTER and connection.vendor == "postgresql":
            # Fresh statistics before the dispatcher claims the new backlog: planned on stale
            # ones (this survey "has no planned rows"), each claim would sort all of it, and
            # autovacuum waits for 10% of the table to change.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(Invitation._meta.db_table)}")
    return plan


def _wave_insert(
    rows: Sequence[tuple[int, str, str, str | None, datetime.datetime]],
    *,
    rule: DistributionRule,
    now: datetime.datetime,
    expiry: datetime.timedelta,
) -> None:
    """Write one chunk of a wave: (person, channel, language, reason, due) each, fresh tokens."""
    planned, suppressed = InvitationState.PLANNED.value, InvitationState.SUPPRESSED.value
    issued = tokens.issued(len(rows))
    if connection.vendor != "postgresql":
        invitations_insert(
            [
                {
                    "survey_id": rule.survey_id,
                    "rule_id": rule.id,
                    "person_id": pid,
                    "channel": channel,
                    "nonce": nonce,
                    "token_hash": token_hash,
                    "language": language,
                    "state": suppressed if reason else planned,
                    "suppression_reason": reason or "",
                    "planned_at": now,
                    "due_at": due,
                    "expires_at": due + expiry,
                }
                for (pid, channel, language, reason, due), (nonce, token_hash) in zip(
                    rows, issued, strict=True
                )
            ]
        )
        return
    names = (
        *("survey_id", "rule_id", "planned_at", "person_id", "channel", "nonce", "token_hash"),
        *("language", "state", "suppression_reason", "due_at", "expires_at"),
    )
    fixed = (rule.survey_id, rule.id, now)
    _copy(
        names,
        (
            (
                *fixed,
                pid,
                channel,
                nonce,
                token_hash,
                language,
                suppressed if reason else planned,
                reason or "",
                due,
                due + expiry,
            )
            for (pid, channel, language, reason, due), (nonce, token_hash) in zip(
                rows, issued, strict=True
            )
        ),
    )


def wave_forecast(*, rule: DistributionRule, now: datetime.datetime | None = None) -> WavePlan:
    """What the next run of `rule` would plan and suppress (by rule), writing nothing: whom the
    run of its schedule's next time draws (without a schedule, the next run by hand)."""
    now = now or timezone.now()
    task = rule.periodic_task if rule.periodic_task_id else None
    scheduled_for = ticks.next_time(task, now=now) if task is not None else None
    return wave_run(rule=rule, now=now, dry_run=True, scheduled_for=scheduled_for)


@transaction.atomic
def wave_schedule(
    *,
    rule: DistributionRule,
    crontab: "CrontabSchedule | None" = None,
    once_at: datetime.datetime | None = None,
) -> "PeriodicTask":
    """Put a wave in the beat schedule: recurring on `crontab`, or once at `once_at`.

    The schedule lives in django-celery-beat's tables (editable in its admin); re-scheduling a
    rule replaces its entry.
    """
    import json

    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    if (crontab is None) == (once_at is None):
        raise ValueError("Give exactly one of crontab (recurring) or once_at (one-off).")
    values: dict = {
        "task": "surveys.wave_run_task",
        "args": json.dumps([rule.pk]),
        "enabled": True,
        "queue": "bulk",
        "crontab": crontab,
        "clocked": None,
        "one_off": once_at is not None,
    }
    if once_at is not None:
        values["clocked"], _ = ClockedSchedule.objects.get_or_create(clocked_time=once_at)
    task, _ = PeriodicTask.objects.update_or_create(name=f"survey wave {rule.pk}", defaults=values)
    DistributionRule.objects.filter(pk=rule.pk).update(periodic_task=task)
    rule.periodic_task = task
    return task


def wave_unschedule(*, rule: DistributionRule) -> None:
    """Take a wave out of the beat schedule; it can still be planned by hand."""
    from django_celery_beat.models import PeriodicTask

    if rule.periodic_task_id is not None:
        PeriodicTask.objects.filter(pk=rule.periodic_task_id).delete()
    rule.periodic_task = None
