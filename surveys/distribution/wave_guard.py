"""The fatigue guard for a whole wave, in one SQL query per chunk of its audience.

The set-based form of the rules in surveys.distribution.fatigue, for planning a wave: the same
channel choice and budget rules, decided for thousands of people at once. Its agreement with
the rules is a property test (tests/surveys/test_fatigue_properties.py).
"""

import datetime
from collections.abc import Sequence

from django.db import connection
from django.db.models import QuerySet

from audiences.models import Consent, ConsentStatus, Membership, Person
from surveys.distribution.fatigue import (
    ADDRESS_FIELDS,
    BUDGET_RULES,
    DAY,
    MIN_GAP,
    NO_ADDRESS,
    NO_CONSENT,
    OPTED_OUT,
    RECENT_RESPONSE,
    RECONTACT,
    Policy,
    lookback,
)
from surveys.models import ContactKind, ContactLedger, Invitation, InvitationState, Response


class _Sql:
    """SQL text and its parameters, written in order (positional placeholders)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[object] = []

    def __call__(self, text: str, *params: object) -> "_Sql":
        adapt = connection.ops.adapt_datetimefield_value
        self.parts.append(text)
        self.params.extend(adapt(p) if isinstance(p, datetime.datetime) else p for p in params)
        return self

    @property
    def text(self) -> str:
        return "".join(self.parts)


def wave_guard(
    members: QuerySet,
    *,
    after: int,
    policies: Sequence[Policy],
    survey_id: int,
    channels: Sequence[str],
    requires_opt_in: bool,
    now: datetime.datetime,
) -> list[tuple[int, str, str, str | None]]:
    """(person_id, language, channel, reason or None) for each of `members`, by person id.

    The set-based form, for a chunk of a wave, of what the fatigue rules decide one person at a
    time: `channel_choose`, then "this survey is already on its way" (recontact), then
    `budget_reason`. A wave plans without sending, so nobody competes within it and each
    person's history is what the database holds. `members` is a `values("person_id")`
    queryset of memberships ordered by person and sliced, all of ids above `after`: it becomes
    the query's first step, and every fact is aggregated over that id range only. One query,
    whatever the number of people, policies and channels.
    """
    members_sql, members_params = members.query.get_compiler(using=members.db).as_sql()
    since = now - lookback(policies) if policies else now
    windows = sorted({p.window_days for p in policies})
    audiences = sorted({p.audience_id for p in policies if p.audience_id is not None})
    q = connection.ops.quote_name
    sql = _Sql()
    span = "person_id > %s AND person_id <= (SELECT MAX(person_id) FROM chunk)"

    sql(f"WITH chunk AS ({members_sql}) ", *members_params)
    sql("SELECT g.person_id, g.language, ")
    # The first usable channel, else the first one; the reason: the budget's if a channel
    # is usable, else the most telling channel reason (as channel_choose).
    if channels:
        sql("CASE")
        for i, channel in enumerate(channels):
            sql(f" WHEN g.r{i} IS NULL THEN %s", channel)
        sql(" ELSE %s END, CASE", channels[0])
        usable = " OR ".join(f"g.r{i} IS NULL" for i in range(len(channels)))
        sql(f" WHEN {usable} THEN CASE WHEN g.pending = 1 THEN %s ELSE g.budget END", RECONTACT)
        for reason in (OPTED_OUT, NO_CONSENT):
            any_channel = " OR ".join(f"g.r{i} = %s" for i in range(len(channels)))
            sql(f" WHEN {any_channel} THEN %s", *[reason] * len(channels), reason)
        sql(" ELSE %s END", NO_ADDRESS)
    else:
        sql("%s, %s", "", NO_ADDRESS)
    sql(" FROM (SELECT c.person_id, p.language, ")
    for i, channel in enumerate(channels):
        address = ADDRESS_FIELDS.get(channel)
        sql("CASE")
        if address is None:
            sql(" WHEN 1 = 1 THEN %s", NO_ADDRESS)
        else:
            sql(f" WHEN p.{q(address)} = '' THEN %s", NO_ADDRESS)
        sql(f" WHEN cs.s{i} = %s THEN %s", ConsentStatus.WITHDRAWN.value, OPTED_OUT)
        if requires_opt_in:
            sql(
                f" WHEN cs.s{i} IS NULL OR cs.s{i} <> %s THEN %s",
                ConsentStatus.GRANTED.value,
                NO_CONSENT,
            )
        sql(f" END AS r{i}, ")
    sql("COALESCE(i.pending, 0) AS pending, CASE WHEN 1 = 0 THEN NULL")
    # Each budget rule in order: imposed by any policy that applies to the person.
    for rule in BUDGET_RULES if policies else ():
        terms = []
        for p in policies:
            applies = (
                "" if p.audience_id is None else f"a.a{audiences.index(p.audience_id)} = 1 AND "
            )
            if rule == RECENT_RESPONSE:
                at = now - p.rest_after_response_days * DAY
                terms.append((f"({applies}(r.last > %s OR i.responded > %s))", at, at))
            elif rule == RECONTACT:
                terms.append((f"({applies}l.last_same > %s)", now - p.recontact_days * DAY))
            elif rule == MIN_GAP:
                terms.append((f"({applies}l.last_at > %s)", now - p.min_gap_days * DAY))
            else:
                n = f"l.n{windows.index(p.window_days)}"
                terms.append((f"({applies}COALESCE({n}, 0) >= %s)", p.max_invitations))
        sql(" WHEN " + " OR ".join(t[0] for t in terms), *[v for t in terms for v in t[1:]])
        sql(" THEN %s", rule)
    sql(" END AS budget")
    sql(f" FROM chunk c JOIN {q(Person._meta.db_table)} p ON p.id = c.person_id")
    sql(" AND p.id > %s AND p.id <= (SELECT MAX(person_id) FROM chunk)", after)
    # The ledger: last contact, last contact for this survey, contacts in each window.
    sql(" LEFT JOIN (SELECT person_id, MAX(at) AS last_at,")
    sql(" MAX(CASE WHEN survey_id = %s THEN at END) AS last_same", survey_id)
    for k, days in enumerate(windows):
        sql(f", COUNT(CASE WHEN at > %s AND at <= %s THEN 1 END) AS n{k}", now - days * DAY, now)
    sql(
        f" FROM {q(ContactLedger._meta.db_table)} WHERE kind = %s AND at > %s",
        ContactKind.INVITATION.value,
        since,
    )
    sql(f" AND {span} GROUP BY person_id) l ON l.person_id = c.person_id", after)
    # Completed responses, and invitations answered (a response may keep no person).
    sql(" LEFT JOIN (SELECT person_id, MAX(completed_at) AS last")
    sql(f" FROM {q(Response._meta.db_table)} WHERE completed_at > %s", since)
    sql(f" AND {span} GROUP BY person_id) r ON r.person_id = c.person_id", after)
    sql(" LEFT JOIN (SELECT person_id, MAX(CASE WHEN survey_id = %s", survey_id)
    sql(
        " AND state IN (%s, %s) THEN 1 ELSE 0 END) AS pending,",
        InvitationState.PLANNED.value,
        InvitationState.SENDING.value,
    )
    sql(" MAX(CASE WHEN responded_at > %s THEN responded_at END) AS responded", since)
    sql(f" FROM {q(Invitation._meta.db_table)} WHERE {span} GROUP BY person_id) i", after)
    sql(" ON i.person_id = c.person_id")
    if channels:
        sql(" LEFT JOIN (SELECT person_id")
        for i, channel in enumerate(channels):
            sql(f", MAX(CASE WHEN channel = %s THEN status END) AS s{i}", channel)
        sql(f" FROM {q(Consent._meta.db_table)} WHERE {span}", after)
        sql(" GROUP BY person_id) cs ON cs.person_id = c.person_id")
    if audiences:
        sql(" LEFT JOIN (SELECT person_id")
        for j, audience_id in enumerate(audiences):
            sql(f", MAX(CASE WHEN audience_id = %s THEN 1 ELSE 0 END) AS a{j}", audience_id)
        sql(f" FROM {q(Membership._meta.db_table)} WHERE left_on IS NULL AND {span}", after)
        sql(" GROUP BY person_id) a ON a.person_id = c.person_id")
    sql(") g ORDER BY g.person_id")
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        return [(pid, lang or "", ch or "", reason or None) for pid, lang, ch, reason in cursor]
