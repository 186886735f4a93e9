"""Property tests of the guard: admitted invitations never break a rule, and every suppression
names a rule that one of the person's policies really imposes at that moment."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences.models import Audience
from surveys.distribution import fatigue
from surveys.distribution.sending import invitations_admit
from surveys.distribution.wave_guard import wave_guard
from surveys.models import ContactLedger, FatiguePolicy, Invitation, InvitationState
from tests.surveys.distribution_factories import (
    DAY,
    NOW,
    customers,
    make_invitation,
    make_survey,
    member,
)

policies_st = st.builds(
    fatigue.Policy,
    max_invitations=st.integers(1, 4),
    window_days=st.integers(1, 60),
    min_gap_days=st.integers(0, 14),
    recontact_days=st.integers(0, 120),
    rest_after_response_days=st.integers(0, 30),
    quiet_start=st.none(),
    quiet_end=st.none(),
)


def violated(p: fatigue.Policy, facts: fatigue.Facts, survey_id: int, now) -> set[str]:  # noqa: ANN001
    """Which rules `p` imposes on a new invitation at `now`, written out plainly."""
    out = set()
    ages = [now - at for at, _ in facts.contacts if at <= now]
    if facts.last_response_at and now - facts.last_response_at < p.rest_after_response_days * DAY:
        out.add("recent_response")
    if any(now - at < p.recontact_days * DAY for at, s in facts.contacts if s == survey_id):
        out.add("recontact")
    if any(age < p.min_gap_days * DAY for age in ages):
        out.add("min_gap")
    if sum(1 for age in ages if age < p.window_days * DAY) >= p.max_invitations:
        out.add("frequency_cap")
    return out


@settings(max_examples=400, deadline=None)
@given(
    global_policy=policies_st,
    audience_policies=st.lists(policies_st, max_size=2),
    memberships=st.sets(st.integers(1, 3), max_size=3),
    contacts=st.lists(st.tuples(st.integers(0, 150 * 24), st.integers(1, 3)), max_size=8),
    response_hours=st.none() | st.integers(0, 40 * 24),
    survey_id=st.integers(1, 3),
)
def test_budget_reason_admits_only_within_every_policy_and_names_a_real_rule(
    global_policy, audience_policies, memberships, contacts, response_hours, survey_id
):
    hour = datetime.timedelta(hours=1)
    policies = [global_policy] + [
        fatigue.Policy(**{**p.__dict__, "audience_id": i + 1})
        for i, p in enumerate(audience_policies)
    ]
    facts = fatigue.Facts(
        person_id=1,
        audience_ids=frozenset(memberships),
        contacts=[(NOW - h * hour, s) for h, s in contacts],
        last_response_at=None if response_hours is None else NOW - response_hours * hour,
    )
    mine = [p for p in policies if p.audience_id is None or p.audience_id in memberships]
    reason = fatigue.budget_reason(facts, policies, survey_id=survey_id, now=NOW)
    applying = set().union(*(violated(p, facts, survey_id, NOW) for p in mine))
    if reason is None:
        assert applying == set()
    else:
        assert reason in applying
        # …and it is the first of the rule order that applies.
        assert [r for r in fatigue.BUDGET_RULES if r in applying][0] == reason


steps_st = st.lists(
    st.tuples(
        st.integers(0, 6 * 24),  # hours since the previous step
        st.integers(0, 2),  # person
        st.integers(0, 2),  # survey
        st.booleans(),  # a competing second invitation in the same cycle
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(global_policy=policies_st, staff_policy=st.none() | policies_st, steps=steps_st)
def test_admission_history_never_breaks_a_policy(global_policy, staff_policy, steps):
    with transaction.atomic():
        _simulate(global_policy, staff_policy, steps)
        transaction.set_rollback(True)


def _policy_row(p: fatigue.Policy, audience: Audience | None) -> None:
    FatiguePolicy.objects.create(
        audience=audience,
        max_invitations=p.max_invitations,
        window_days=p.window_days,
        min_gap_days=p.min_gap_days,
        recontact_days=p.recontact_days,
        rest_after_response_days=p.rest_after_response_days,
        quiet_start=datetime.time(0),
        quiet_end=datetime.time(0),  # equal ends: no quiet hours in this property
    )


def _simulate(global_policy, staff_policy, steps) -> None:  # noqa: ANN001
    cust = customers()
    staff = Audience.objects.create(slug="staff", name="Staff", kind="employee", owner=cust.owner)
    people = [member(cust, f"p{i}", time_zone="UTC") for i in range(3)]
    member(staff, "p0")  # p0 has one budget across both audiences
    _policy_row(global_policy, None)
    policies = [global_policy]
    if staff_policy is not None:
        _policy_row(staff_policy, staff)
        policies.append(fatigue.Policy(**{**staff_policy.__dict__, "audience_id": staff.id}))
    surveys = [make_survey(cust, name=f"S{i}") for i in range(3)]
    now = NOW
    for hours, who, which, competing in steps:
        now += datetime.timedelta(hours=hours)
        make_invitation(surveys[which], people[who], due_at=now, expires_at=now + 20 * DAY)
        if competing:
            make_invitation(
                surveys[(which + 1) % 3], people[who], due_at=now, expires_at=now + 20 * DAY
            )
        before = {
            i.id: i.state
            for i in Invitation.objects.filter(state=InvitationState.PLANNED, due_at__lte=now)
        }
        # What each person's facts were just before this cycle, for checking suppressions.
        facts_before = fatigue.facts_load(
            [p.id for p in people], policies=fatigue.policies_load(), now=now
        )
        invitations_admit(now=now)
        Invitation.objects.filter(state=InvitationState.SENDING).update(
            state=InvitationState.SENT, sent_at=now
        )
        for inv in Invitation.objects.filter(id__in=before, state=InvitationState.SUPPRESSED):
            f = facts_before[inv.person_id]
            mine = fatigue.applicable(policies, f.audience_ids)
            if inv.suppression_reason in fatigue.BUDGET_RULES:
                applying = set().union(*(violated(p, f, inv.survey_id, now) for p in mine))
                # A rule that applied before the cycle, or one a same-cycle winner triggered
                # (a deferral that would outlive the invitation's expiry).
                after = fatigue.facts_load([inv.person_id], policies=policies, now=now)
                applying |= set().union(
                    *(violated(p, after[inv.person_id], inv.survey_id, now) for p in mine)
                )
                assert inv.suppression_reason in applying
            else:
                assert inv.suppression_reason == "expired"
    # Replay the ledger: each admitted invitation respected every policy at its moment.
    for person in people:
        contacts = list(
            ContactLedger.objects.filter(person=person)
            .order_by("at", "id")
            .values_list("at", "survey_id")
        )
        audience_ids = {cust.id} | ({staff.id} if person == people[0] else set())
        mine = fatigue.applicable(policies, audience_ids)
        for i, (at, survey_id) in enumerate(contacts):
            earlier = fatigue.Facts(person_id=person.id, contacts=contacts[:i])
            for p in mine:
                assert violated(p, earlier, survey_id, at) == set(), (p, contacts, i)


def _history_st(*, reachable: bool) -> st.SearchStrategy:
    """A person's history; `reachable`: an address and no consent rows, so the budget decides."""
    return st.fixed_dictionaries(
        {
            "email": st.just(True) if reachable else st.booleans(),
            "phone": st.booleans(),
            "consents": st.just({})
            if reachable
            else st.dictionaries(
                st.sampled_from(["email", "sms"]), st.sampled_from(["granted", "withdrawn"])
            ),
            # (hours before NOW, negative for an entry after it, often whole days as the rules
            # count them; which survey, 0 is the wave's)
            "contacts": st.lists(
                st.tuples(
                    st.integers(-48, 70 * 24) | st.integers(-2, 70).map(lambda d: d * 24),
                    st.integers(0, 2),
                ),
                max_size=4 if reachable else 0,
            ),
            "response_hours": st.none() | st.integers(0, 40 * 24) if reachable else st.none(),
            "answered_hours": st.none() | st.integers(0, 40 * 24) if reachable else st.none(),
            "pending": st.sampled_from(["", "planned", "sending", "sent", "suppressed"]),
        }
    )


STAFF = ("customer only", "also staff", "left staff")
WAVE_GUARD_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.django_db
@WAVE_GUARD_SETTINGS
@given(
    global_policy=policies_st,
    staff_policy=st.none() | policies_st,
    customer_policy=st.none() | policies_st,
    histories=st.lists(_history_st(reachable=True), min_size=1, max_size=3),
)
def test_the_wave_guard_in_sql_applies_each_persons_policies_as_the_rules_do(
    global_policy, staff_policy, customer_policy, histories
):
    """Each history is given to a customer, a customer who is also staff, and one who left."""
    with transaction.atomic():
        _compare_wave_guard(
            [global_policy, staff_policy, customer_policy], ["email"], False, histories
        )
        transaction.set_rollback(True)


@pytest.mark.django_db
@WAVE_GUARD_SETTINGS
@given(
    channels=st.lists(st.sampled_from(["email", "sms", "app"]), max_size=3),
    requires_opt_in=st.booleans(),
    histories=st.lists(_history_st(reachable=False), min_size=1, max_size=3),
)
def test_the_wave_guard_in_sql_chooses_channels_as_the_rules_do(
    channels, requires_opt_in, histories
):
    with transaction.atomic():
        _compare_wave_guard([fatigue.Policy(), None, None], channels, requires_opt_in, histories)
        transaction.set_rollback(True)


def _compare_wave_guard(policies, channels, requires_opt_in, histories) -> None:  # noqa: ANN001
    from audiences.models import Membership, Person

    hour = datetime.timedelta(hours=1)
    cust = customers()
    cust.requires_opt_in = requires_opt_in
    cust.save()
    staff = Audience.objects.create(slug="staff", name="Staff", kind="employee", owner=cust.owner)
    for policy, audience in zip(policies, (None, staff, cust), strict=True):
        if policy is not None:
            _policy_row(policy, audience)
    surveys = [make_survey(cust, name=f"S{i}") for i in range(3)]
    for i, h in enumerate(histories):
        for variant in STAFF:
            key = f"p{i}-{STAFF.index(variant)}"
            person = member(
                cust,
                key,
                email=f"{key}@example.com" if h["email"] else "",
                phone="+905550000000" if h["phone"] else "",
            )
            if variant != "customer only":
                left = NOW.date() if variant == "left staff" else None
                Membership.objects.create(person=person, audience=staff, left_on=left)
            _history(person, h, surveys, cust, hour)
    policies = fatigue.policies_load()
    members = Membership.objects.filter(audience=cust, left_on__isnull=True)
    got = wave_guard(
        members.order_by("person_id").values("person_id")[:100],
        after=0,
        policies=policies,
        survey_id=surveys[0].id,
        channels=channels,
        requires_opt_in=requires_opt_in,
        now=NOW,
    )
    ids = [pid for pid, *_ in got]
    facts = fatigue.facts_load(ids, policies=policies, now=NOW)
    reach = fatigue.reach_load(ids)
    pending = set(
        Invitation.objects.filter(
            survey=surveys[0], state__in=[InvitationState.PLANNED, InvitationState.SENDING]
        ).values_list("person_id", flat=True)
    )
    languages = dict(Person.objects.values_list("id", "language"))
    expected = []
    for pid in ids:
        channel, reason = fatigue.channel_choose(
            channels, reach[pid], requires_opt_in=requires_opt_in
        )
        if reason is None and pid in pending:
            reason = fatigue.RECONTACT
        if reason is None:
            reason = fatigue.budget_reason(facts[pid], policies, survey_id=surveys[0].id, now=NOW)
        expected.append((pid, languages[pid], channel, reason))
    assert len(got) == 3 * len(histories)
    assert got == expected


def _history(person, h, surveys, audience, hour) -> None:  # noqa: ANN001
    from audiences.models import Consent
    from surveys.models import Response

    for channel, status in h["consents"].items():
        Consent.objects.create(person=person, channel=channel, status=status)
    for hours, which in h["contacts"]:
        at = NOW - hours * hour
        inv = make_invitation(surveys[which], person, state="sent", sent_at=at, due_at=at)
        ContactLedger.objects.create(
            person=person,
            invitation=inv,
            survey=surveys[which],
            kind="invitation",
            channel="email",
            at=at,
        )
    if h["response_hours"] is not None:
        Response.objects.create(
            survey=surveys[1],
            audience=audience,
            person=person,
            channel="email",
            language="en",
            completed_at=NOW - h["response_hours"] * hour,
        )
    if h["answered_hours"] is not None:
        at = NOW - h["answered_hours"] * hour
        make_invitation(surveys[2], person, state="responded", responded_at=at)
    if h["pending"]:
        make_invitation(surveys[0], person, state=h["pending"])


def _edge(contacts=(), response_hours=None, answered_hours=None) -> dict:  # noqa: ANN001
    return {
        "email": True,
        "phone": False,
        "consents": {},
        "contacts": list(contacts),
        "response_hours": response_hours,
        "answered_hours": answered_hours,
        "pending": "",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "policy",
    [
        fatigue.Policy(max_invitations=1, window_days=10, min_gap_days=0, recontact_days=0),
        fatigue.Policy(max_invitations=9, min_gap_days=3, recontact_days=5),
        fatigue.Policy(max_invitations=9, min_gap_days=0, recontact_days=0),
    ],
)
def test_the_wave_guard_in_sql_treats_window_edges_as_the_rules_do(policy):
    day = 24
    histories = [
        _edge([(0, 1)]),  # exactly now
        _edge([(10 * day, 1)]),  # exactly a window ago
        _edge([(10 * day - 1, 1)]),
        _edge([(3 * day, 1)]),  # exactly a gap ago
        _edge([(3 * day - 1, 1)]),
        _edge([(5 * day, 0)]),  # the wave's survey, exactly the recontact window ago
        _edge([(5 * day - 1, 0)]),
        _edge([(-1, 2)]),  # an entry after now
        _edge(response_hours=14 * day),  # exactly the rest after a response ago
        _edge(response_hours=14 * day - 1),
        _edge(answered_hours=14 * day),
        _edge(answered_hours=14 * day - 1),
    ]
    _compare_wave_guard([policy, None, None], ["email"], False, histories)
