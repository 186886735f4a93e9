"""What every drill checks after the fault: side effects counted where they land, exactly once."""

import datetime as dt
from collections import Counter

from django.utils import timezone

from metrics.models import Alert, Case
from surveys.models import Invitation, InvitationState, Response
from tests.surveys.distribution_factories import SmtpSink
from xmplatform.api import services as webhook_services
from xmplatform.api.models import DeliveryState, WebhookDelivery
from xmplatform.core import outbox
from xmplatform.core.models import OutboxMessage, OutboxState


def invitation_mails(mail: SmtpSink) -> Counter:
    """Invitation e-mails received, per invitation id."""
    return Counter(m["X-Invitation-ID"] for m in mail.messages if m["X-Invitation-ID"])


def other_mails(mail: SmtpSink) -> list:
    """E-mails that are not invitations (alert notices to the audience owner)."""
    return [m for m in mail.messages if not m["X-Invitation-ID"]]


def twice(counts: Counter) -> list:
    """Keys counted more than once."""
    return sorted(key for key, n in counts.items() if n > 1)


def outbox_states() -> dict[str, int]:
    return dict(Counter(OutboxMessage.objects.values_list("state", flat=True)))


def outbox_settled() -> bool:
    """Nothing owed: no row pending (dead rows fail the drill's own assertion)."""
    return not OutboxMessage.objects.filter(state=OutboxState.PENDING).exists()


def sent_ids(**filters: object) -> set[str]:
    rows = Invitation.objects.filter(state=InvitationState.SENT, **filters)
    return {str(pk) for pk in rows.values_list("pk", flat=True)}


def states(**filters: object) -> dict[str, int]:
    rows = Invitation.objects.filter(**filters)
    return dict(Counter(rows.values_list("state", flat=True)))


def closed_loop() -> dict[str, object]:
    """Alerts and cases per detractor response, and webhook deliveries by state."""
    detractors = set(
        Response.objects.filter(completed_on__isnull=False, answers__number__lte=6).values_list(
            "pk", flat=True
        )
    )
    alerts = Counter(Alert.objects.values_list("response_id", flat=True))
    deliveries = WebhookDelivery.objects
    return {
        "detractors": detractors,
        "alerts_per_response": alerts,
        "cases": Case.objects.count(),
        "deliveries": dict(Counter(deliveries.values_list("state", flat=True))),
        "delivered": deliveries.filter(state=DeliveryState.DELIVERED).count(),
    }


def leases_end(*, claimed_before: dt.datetime) -> int:
    """What the passing of a lease does for a relay that died (or lost its database)
    before `claimed_before`: the outbox rows it held, and the webhook posts it had leased,
    become due now (rows waiting out a failure's backoff too). Returns the outbox rows."""
    now = timezone.now()
    held = OutboxMessage.objects.filter(
        state=OutboxState.PENDING,
        available_at__gt=now,
        available_at__lte=claimed_before + outbox.LEASE,
    ).update(available_at=now)
    WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING,
        attempts__gte=1,
        next_attempt_at__gt=now,
        next_attempt_at__lte=claimed_before + webhook_services.LEASE,
    ).update(next_attempt_at=now)
    return held
