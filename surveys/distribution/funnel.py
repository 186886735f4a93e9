"""A survey's distribution funnel for the admin: its invitations by state and suppressions by rule.

An anonymous survey's funnel below superuser counts each invitation as it is shown
(surveys.selectors.shown_state), so that opening or answering one moves nothing an analyst
can watch until its reporting period is published.
"""

from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, F, Q, Value, When

from surveys.models import Invitation, InvitationState, Survey
from surveys.selectors import answer_published


@dataclass
class Funnel:
    """A survey's distribution funnel: invitations by state and suppressions by rule.

    `masked`: an anonymous survey's funnel as shown below superuser (see survey_funnel), where
    nothing is ever counted as opened and responded counts published periods only.
    """

    planned: int = 0
    sending: int = 0
    delivery_unknown: int = 0
    sent: int = 0
    opened: int = 0
    responded: int = 0
    failed: int = 0
    suppressed: dict = field(default_factory=dict)
    masked: bool = False

    @property
    def delivered(self) -> int:
        """Invitations that reached people (sent, opened or responded)."""
        return self.sent + self.opened + self.responded

    @property
    def response_rate(self) -> float | None:
        return self.responded / self.delivered if self.delivered else None

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())


def funnel_state() -> Case:
    """The state an anonymous survey's invitation is counted in below superuser (SQL).

    Privacy (README, "Privacy model"): opening or answering an invitation must move no count
    an analyst can watch. surveys.selectors.shown_state shows an opened or answered invitation
    as `sent` until the period it was answered in is published; an invitation whose delivery was
    never recorded (no `sent_at`: it was delivery unknown, or planned again after one, when its
    first message did arrive) would then jump from that state to `sent` when opened, so it keeps
    counting as it stood: delivery unknown if a worker had claimed it, else planned. Written for
    one anonymous survey's invitations (no condition on the survey).
    """
    hidden = Q(state__in=[InvitationState.OPENED, InvitationState.RESPONDED])
    return Case(
        When(
            Q(state=InvitationState.RESPONDED) & answer_published(),
            then=Value(InvitationState.RESPONDED),
        ),
        When(
            hidden & Q(sent_at__isnull=True, claimed_at__isnull=False),
            then=Value(InvitationState.DELIVERY_UNKNOWN),
        ),
        When(hidden & Q(sent_at__isnull=True), then=Value(InvitationState.PLANNED)),
        When(hidden, then=Value(InvitationState.SENT)),
        default=F("state"),
        output_field=CharField(),
    )


def survey_funnel(*, survey: Survey, real: bool = False) -> Funnel:
    """The funnel of one survey in ONE grouped query (state × suppression reason).

    `real` (superusers only) counts the stored states. Otherwise an anonymous survey's
    invitations are counted by `funnel_state`, so an answer moves nothing until its period is
    published, and then all the period's answers at once (as `responded`); `opened` stays 0.
    """
    masked = survey.anonymous and not real
    invitations = Invitation.objects.filter(survey_id=survey.pk)
    if masked:
        invitations = invitations.annotate(counted_state=funnel_state())
    rows = (
        invitations.values_list("counted_state" if masked else "state", "suppression_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    funnel = Funnel(masked=masked)
    for state, reason, n in rows:
        if state == InvitationState.SUPPRESSED:
            key = reason or "unknown"
            funnel.suppressed[key] = funnel.suppressed.get(key, 0) + n
        elif state in (InvitationState.BOUNCED, InvitationState.FAILED):
            funnel.failed += n
        elif state == InvitationState.EXPIRED:
            funnel.sent += n  # it was sent; only its link has expired
        elif hasattr(funnel, state):
            setattr(funnel, state, getattr(funnel, state) + n)
    return funnel
