"""The fatigue guard: pure rules over per-person facts, and set-based loading of those facts.

A person has one budget whatever audiences they belong to. Every policy that applies to them
(the global one, and one per audience they are a member of) is checked, so the strictest wins,
and a suppression always names a rule that one of those policies really imposes.

Rules are checked in a fixed order and the first one that applies is the recorded reason:
no_address, opted_out, no_consent, recent_response, recontact, min_gap, frequency_cap.
Quiet hours and priority arbitration never suppress: they move `due_at` (deferral).
The same rules for a whole chunk of a wave, in one SQL query, are in distribution.wave_guard.
"""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _

from audiences.models import Consent, ConsentStatus, Membership, Person
from surveys.models import ContactKind, ContactLedger, FatiguePolicy, Invitation, Response

DAY = datetime.timedelta(days=1)

# Stable names stored in Invitation.suppression_reason (and shown by the admin).
NO_ADDRESS = "no_address"
OPTED_OUT = "opted_out"
NO_CONSENT = "no_consent"
RECENT_RESPONSE = "recent_response"
RECONTACT = "recontact"
MIN_GAP = "min_gap"
FREQUENCY_CAP = "frequency_cap"
WAVE_CAP = "wave_cap"
EXPIRED = "expired"
SURVEY_CLOSED = "survey_closed"
NO_CHANNEL = "no_channel"  # the channel has no provider configured (surveys.distribution.channels)
# Deferral reasons (Invitation.last_defer_reason).
QUIET_HOURS = "quiet_hours"
PRIORITY = "priority"

# What the admin shows for each stored name (suppressions, deferrals, erasure).
REASON_LABELS = {
    NO_ADDRESS: _("no address"),
    OPTED_OUT: _("opted out"),
    NO_CONSENT: _("no consent"),
    RECENT_RESPONSE: _("recent response"),
    RECONTACT: _("same survey too recently"),
    MIN_GAP: _("minimum gap"),
    FREQUENCY_CAP: _("frequency cap"),
    WAVE_CAP: _("wave hourly cap"),
    EXPIRED: _("expired"),
    SURVEY_CLOSED: _("survey closed"),
    NO_CHANNEL: _("channel not set up"),
    QUIET_HOURS: _("quiet hours"),
    PRIORITY: _("higher-priority survey"),
    "erased": _("person erased"),
}


def reason_label(reason: str) -> str:
    """The translated name of a stored suppression or deferral reason (the name if unknown)."""
    return str(REASON_LABELS.get(reason, reason))


BUDGET_RULES = (RECENT_RESPONSE, RECONTACT, MIN_GAP, FREQUENCY_CAP)
REASONS = (
    NO_ADDRESS,
    OPTED_OUT,
    NO_CONSENT,
    RECENT_RESPONSE,
    RECONTACT,
    MIN_GAP,
    FREQUENCY_CAP,
    WAVE_CAP,
    EXPIRED,
    SURVEY_CLOSED,
    NO_CHANNEL,
)


@dataclass(frozen=True)
class Policy:
    """One fatigue policy's limits (a plain value, so the rules can be tested without a DB)."""

    audience_id: int | None = None
    max_invitations: int = 2
    window_days: int = 30
    min_gap_days: int = 7
    recontact_days: int = 90
    rest_after_response_days: int = 14
    quiet_start: datetime.time | None = datetime.time(21, 0)
    quiet_end: datetime.time | None = datetime.time(9, 0)
    wave_hourly_cap: int | None = None


DEFAULT_POLICY = Policy()


@dataclass
class Facts:
    """What the guard needs to know about one person at one moment."""

    person_id: int
    audience_ids: frozenset[int] = frozenset()
    # Invitations that reached the person (the ledger's `invitation` entries): (at, survey_id).
    contacts: list[tuple[datetime.datetime, int]] = field(default_factory=list)
    last_response_at: datetime.datetime | None = None
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Reach:
    """Whether one channel can reach a person: an address, and consent under the audience rule."""

    has_address: bool
    opted_out: bool
    granted: bool


def applicable(policies: Sequence[Policy], audience_ids: Iterable[int]) -> list[Policy]:
    """The global policy plus those of the person's audiences."""
    ids = set(audience_ids)
    return [p for p in policies if p.audience_id is None or p.audience_id in ids]


def channel_reason(reach: Reach, *, requires_opt_in: bool) -> str | None:
    """Why a channel may not be used (opt-out always wins over a grant), or None."""
    if not reach.has_address:
        return NO_ADDRESS
    if reach.opted_out:
        return OPTED_OUT
    if requires_opt_in and not reach.granted:
        return NO_CONSENT
    return None


def channel_choose(
    order: Sequence[str], reach: Mapping[str, Reach], *, requires_opt_in: bool
) -> tuple[str, str | None]:
    """The first usable channel in `order`; if none, the first channel and the reason it failed.

    The reported reason is the most telling one across channels: an opt-out anywhere beats a
    missing consent, which beats a missing address.
    """
    reasons = []
    for channel in order:
        reason = channel_reason(
            reach.get(channel, Reach(False, False, False)), requires_opt_in=requires_opt_in
        )
        if reason is None:
            return channel, None
        reasons.append(reason)
    if not reasons:
        return "", NO_ADDRESS
    for preferred in (OPTED_OUT, NO_CONSENT, NO_ADDRESS):
        if preferred in reasons:
            return order[0], preferred
    return order[0], reasons[0]  # pragma: no cover - every reason is one of the three


def budget_reason(
    facts: Facts, policies: Sequence[Policy], *, survey_id: int, now: datetime.datetime
) -> str | None:
    """The first budget rule any applicable policy imposes on a new invitation at `now`."""
    mine = applicable(policies, facts.audience_ids)
    last = max((at for at, _ in facts.contacts), default=None)
    last_same = max((at for at, s in facts.contacts if s == survey_id), default=None)
    for rule in BUDGET_RULES:
        for p in mine:
            if rule == RECENT_RESPONSE:
                hit = facts.last_response_at is not None and (
                    facts.last_response_at > now - p.rest_after_response_days * DAY
                )
            elif rule == RECONTACT:
                hit = last_same is not None and last_same > now - p.recontact_days * DAY
            elif rule == MIN_GAP:
                hit = last is not None and last > now - p.min_gap_days * DAY
            else:
                start = now - p.window_days * DAY
                hit = sum(1 for at, _ in facts.contacts if start < at <= now) >= p.max_invitations
            if hit:
                return rule
    return None


def quiet_until(
    facts: Facts, policies: Sequence[Policy], *, now: datetime.datetime
) -> datetime.datetime | None:
    """When quiet hours (in the person's zone) end, if `now` falls in any applicable window."""
    tz: datetime.tzinfo
    try:
        tz = zoneinfo.ZoneInfo(facts.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    local = now.astimezone(tz)
    latest: datetime.datetime | None = None
    for p in applicable(policies, facts.audience_ids):
        if p.quiet_start is None or p.quiet_end is None or p.quiet_start == p.quiet_end:
            continue
        t = local.time()
        if p.quiet_start < p.quiet_end:
            inside = p.quiet_start <= t < p.quiet_end
            end_day = local.date()
        else:  # the window wraps midnight, e.g. 21:00–09:00
            inside = t >= p.quiet_start or t < p.quiet_end
            end_day = local.date() + DAY if t >= p.quiet_start else local.date()
        if inside:
            end = datetime.datetime.combine(end_day, p.quiet_end, tzinfo=tz).astimezone(
                datetime.UTC
            )
            latest = end if latest is None or end > latest else latest
    return latest


def budget_free_at(
    facts: Facts, policies: Sequence[Policy], *, survey_id: int, now: datetime.datetime
) -> datetime.datetime:
    """The earliest moment after `now` at which the budget rules might admit one more."""
    mine = applicable(policies, facts.audience_ids)
    last = max((at for at, _ in facts.contacts), default=now)
    gap = max((p.min_gap_days for p in mine), default=0) * DAY
    return max(now, last + gap) + datetime.timedelta(minutes=1)


def settled(facts: Facts, *, since: datetime.datetime) -> Facts:
    """`facts` without the contacts made at or after `since` (the current dispatch cycle)."""
    return replace(facts, contacts=[c for c in facts.contacts if c[0] < since])


def with_contact(facts: Facts, *, at: datetime.datetime, survey_id: int) -> Facts:
    """`facts` after one more invitation reached the person."""
    return replace(facts, contacts=[*facts.contacts, (at, survey_id)])


# --- Loading, set-based ------------------------------------------------------------------


def policies_load() -> list[Policy]:
    """All policies as values; the built-in default stands in when no global policy exists."""
    rows = [
        Policy(
            audience_id=p.audience_id,
            max_invitations=p.max_invitations,
            window_days=p.window_days,
            min_gap_days=p.min_gap_days,
            recontact_days=p.recontact_days,
            rest_after_response_days=p.rest_after_response_days,
            quiet_start=p.quiet_start,
            quiet_end=p.quiet_end,
            wave_hourly_cap=p.wave_hourly_cap,
        )
        for p in FatiguePolicy.objects.all()
    ]
    if not any(p.audience_id is None for p in rows):
        rows.append(DEFAULT_POLICY)
    return rows


def lookback(policies: Sequence[Policy]) -> datetime.timedelta:
    """How far back any rule looks."""
    return (
        max(
            max(p.window_days, p.min_gap_days, p.recontact_days, p.rest_after_response_days)
            for p in policies
        )
        * DAY
    )


def people(field: str, person_ids: Sequence[int]) -> Q:
    """A filter for `person_ids`: an IN list when short, else the id range (rows outside the
    list are skipped by the callers); a chunk of a wave is a contiguous run of ids, and
    thousands of bound parameters cost more than the few extra rows."""
    if len(person_ids) <= 500:
        return Q(**{f"{field}__in": person_ids})
    return Q(**{f"{field}__gte": min(person_ids), f"{field}__lte": max(person_ids)})


@dataclass(frozen=True)
class Contactable:
    """What the guard reads of a person's own row: time zone and addresses."""

    time_zone: str
    email: str
    phone: str


def people_lock(person_ids: Sequence[int]) -> dict[int, Contactable]:
    """Lock `person_ids` (FOR UPDATE, in id order so batches sharing people queue instead of
    deadlocking) and read what the guard needs of them, in one query."""
    rows = (
        Person.objects.select_for_update()
        .filter(id__in=person_ids)
        .order_by("id")
        .values_list("id", "time_zone", "email", "phone")
    )
    return {pid: Contactable(tz, email, phone) for pid, tz, email, phone in rows}


def _contactable(person_ids: Sequence[int]) -> dict[int, Contactable]:
    wanted = set(person_ids)
    rows = Person.objects.filter(people("id", person_ids)).values_list(
        "id", "time_zone", "email", "phone"
    )
    return {pid: Contactable(tz, e, ph) for pid, tz, e, ph in rows if pid in wanted}


def facts_load(
    person_ids: Sequence[int],
    *,
    policies: Sequence[Policy],
    now: datetime.datetime,
    contactable: Mapping[int, Contactable] | None = None,
) -> dict[int, Facts]:
    """Facts for many people in five queries (people unless `contactable` gives them,
    memberships, ledger, two for responses)."""
    since = now - lookback(policies)
    rows = _contactable(person_ids) if contactable is None else contactable
    facts = {pid: Facts(person_id=pid, time_zone=row.time_zone) for pid, row in rows.items()}
    audiences: dict[int, set[int]] = defaultdict(set)
    for pid, aid in Membership.objects.filter(
        people("person_id", person_ids), left_on__isnull=True
    ).values_list("person_id", "audience_id"):
        audiences[pid].add(aid)
    for pid, f in facts.items():
        f.audience_ids = frozenset(audiences.get(pid, ()))
    for pid, at, sid in ContactLedger.objects.filter(
        people("person_id", person_ids), kind=ContactKind.INVITATION, at__gt=since
    ).values_list("person_id", "at", "survey_id"):
        if pid in facts:
            facts[pid].contacts.append((at, sid))
    # A completed response counts whether it kept the person (named) or only the invitation
    # (anonymous: answered at the start of its reporting period, so the rest counts from there).
    for pid, at in (
        Response.objects.filter(people("person_id", person_ids), completed_at__gt=since)
        .values("person_id")
        .annotate(last=Max("completed_at"))
        .values_list("person_id", "last")
    ):
        if pid in facts:
            facts[pid].last_response_at = at
    for pid, at in (
        Invitation.objects.filter(people("person_id", person_ids), responded_at__gt=since)
        .values("person_id")
        .annotate(last=Max("responded_at"))
        .values_list("person_id", "last")
    ):
        if pid not in facts:
            continue
        prev = facts[pid].last_response_at
        facts[pid].last_response_at = at if prev is None or at > prev else prev
    return facts


# Where each channel's address lives on a person; any other channel has none to send to.
ADDRESS_FIELDS = {"email": "email", "sms": "phone", "whatsapp": "phone"}


def reach_load(
    person_ids: Sequence[int], *, contactable: Mapping[int, Contactable] | None = None
) -> dict[int, dict[str, Reach]]:
    """Per person and channel: address present, opted out, explicitly granted (consents, and
    people unless `contactable` gives them)."""
    consents: dict[tuple[int, str], str] = {
        (pid, ch): status
        for pid, ch, status in Consent.objects.filter(people("person_id", person_ids)).values_list(
            "person_id", "channel", "status"
        )
    }
    out: dict[int, dict[str, Reach]] = {}
    rows = _contactable(person_ids) if contactable is None else contactable
    for pid, row in rows.items():
        values = {"email": row.email, "phone": row.phone}
        addresses = {ch: bool(values[f]) for ch, f in ADDRESS_FIELDS.items()}
        out[pid] = {
            ch: Reach(
                has_address=has,
                opted_out=consents.get((pid, ch)) == ConsentStatus.WITHDRAWN,
                granted=consents.get((pid, ch)) == ConsentStatus.GRANTED,
            )
            for ch, has in addresses.items()
        }
    return out


# --- Reads for the admin -----------------------------------------------------------------


@dataclass
class AudienceLoad:
    """How surveyed an audience's members are: invitations received in the last 90 days."""

    audience_id: int
    name: str
    buckets: dict[str, int]  # "0", "1", "2", "3+" → people
    at_cap: int  # people who could not be invited again today under their global budget
    suppressed: dict[str, int]  # reason → invitations suppressed in the last 90 days
    weekly: list[tuple[datetime.date, int, dict[str, int]]]  # week start, total, by reason


def audience_load(*, now: datetime.datetime) -> list[AudienceLoad]:
    """Per audience: the 0/1/2/3+ distribution, people at their cap, suppressions by rule.

    Three grouped queries over all audiences (people's contact counts, suppressions), never
    one per person.
    """
    from django.db.models import Count, DateField, OuterRef, Subquery
    from django.db.models.functions import Coalesce, TruncWeek

    from audiences.models import Audience
    from surveys.models import InvitationState

    policy = next((p for p in policies_load() if p.audience_id is None), DEFAULT_POLICY)
    since = now - 90 * DAY
    window = now - policy.window_days * DAY
    counted = (
        ContactLedger.objects.filter(
            person_id=OuterRef("person_id"), kind=ContactKind.INVITATION, at__gt=since
        )
        .values("person_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    in_window = (
        ContactLedger.objects.filter(
            person_id=OuterRef("person_id"), kind=ContactKind.INVITATION, at__gt=window
        )
        .values("person_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    members = (
        Membership.objects.filter(left_on__isnull=True)
        .annotate(received=Coalesce(Subquery(counted), 0), recent=Coalesce(Subquery(in_window), 0))
        .values("audience_id")
        .annotate(
            zero=Count("id", filter=Q(received=0)),
            one=Count("id", filter=Q(received=1)),
            two=Count("id", filter=Q(received=2)),
            more=Count("id", filter=Q(received__gte=3)),
            at_cap=Count("id", filter=Q(recent__gte=policy.max_invitations)),
        )
        .order_by()
    )
    by_audience: dict[int, dict] = {row["audience_id"]: dict(row) for row in members}
    suppressed: dict[int, dict[str, int]] = defaultdict(dict)
    weekly: dict[int, dict[datetime.date, dict[str, int]]] = defaultdict(dict)
    for aid, week, reason, n in (
        Invitation.objects.filter(state=InvitationState.SUPPRESSED, planned_at__gt=since)
        .annotate(week=TruncWeek("planned_at", output_field=DateField()))
        .values_list("survey__audience_id", "week", "suppression_reason")
        .annotate(n=Count("id"))
        .order_by()
    ):
        suppressed[aid][reason] = suppressed[aid].get(reason, 0) + n
        weekly[aid].setdefault(week, {})[reason] = n
    weeks = _week_starts(since, now)
    out = []
    for audience in Audience.objects.order_by("priority", "name").only("id", "name"):
        row = by_audience.get(audience.id, {})
        out.append(
            AudienceLoad(
                audience_id=audience.id,
                name=audience.name,
                buckets={
                    "0": row.get("zero", 0),
                    "1": row.get("one", 0),
                    "2": row.get("two", 0),
                    "3+": row.get("more", 0),
                },
                at_cap=row.get("at_cap", 0),
                suppressed=suppressed.get(audience.id, {}),
                weekly=[
                    (week, sum(by.values()), by)
                    for week in weeks
                    for by in [weekly[audience.id].get(week, {})]
                ],
            )
        )
    return out


def _week_starts(since: datetime.datetime, now: datetime.datetime) -> list[datetime.date]:
    """The Mondays (UTC) of the weeks from `since` to `now`, newest first."""
    monday = now.date() - datetime.timedelta(days=now.weekday())
    first = since.date() - datetime.timedelta(days=since.weekday())
    return [monday - datetime.timedelta(weeks=i) for i in range((monday - first).days // 7 + 1)]
