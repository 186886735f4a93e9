"""What the outbox relays to the closed loop (xmplatform/flows.py).

The relay (xmplatform.core.outbox) calls each handler in a transaction that also marks its
outbox row done, so a handler's database writes happen once; a handler that raises is retried
with backoff.
"""

from functools import partial

from django.db import transaction
from django.utils import timezone

from metrics.closedloop.notifications import alert_mail_claim, alert_mail_send
from metrics.closedloop.response_rules import response_alerts_open


def response_completed_handler(*, message_id: int, response_id: int) -> None:
    """`response.completed`: run the response alert rules on the response.

    Each rule opens at most one alert for a response (a unique constraint), so a rerun opens
    nothing; a new alert writes `alert.opened` in this same transaction.
    """
    response_alerts_open(response_id=response_id)


def alert_opened_handler(*, message_id: int, alert_id: int) -> None:
    """`alert.opened`: the immediate e-mail to the case's assignee, at most once.

    The claim commits with this outbox row, and the e-mail is sent after that commit, so a
    rerun after a crash finds the alert claimed and sends nothing (it stays visibly "claimed,
    not sent"). A refused e-mail releases the claim and raises MailFailed from the commit, and
    the relay records it on the row as this handler's failure: the row is retried with backoff
    and claims again. Alerts that are not immediate, or moved to the digest, send nothing here.
    """
    if alert_mail_claim(alert_id=alert_id, now=timezone.now()):
        transaction.on_commit(partial(alert_mail_send, alert_id=alert_id))
