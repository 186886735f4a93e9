"""Property tests of the guard: admitted invitations never break a rule, and every suppression
names a rule that one of the person's policies really imposes at that moment."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences.models import Audience
from surveys import fatigue
from surveys.models import ContactLedger, FatiguePolicy, Invitation, InvitationState
from surveys.sending import invitations_admit
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
