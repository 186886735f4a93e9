"""What the API layer holds of one person (webhook deliveries that carry their data)."""

from __future__ import annotations

from xmplatform.api.models import WebhookDelivery


def api_person_erase(*, person_id: int) -> dict[str, int]:
    """Delete the webhook deliveries whose payload is about the person; returns their count.

    A delivery already posted is the receiver's to erase; ours holds a copy of the payload.
    """
    _total, deleted = WebhookDelivery.objects.filter(person_id=person_id).delete()
    return {"webhook_deliveries": deleted.get(WebhookDelivery._meta.label, 0)}
