"""Opening alerts and their follow-up cases, and telling the outbox (`alert.opened`)."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from metrics.closedloop.models import Alert, AlertRule, Case
from metrics.closedloop.titles import message_text
from xmplatform.core.outbox import outbox_emit

# Cooldown windows are counted from this instant, so every worker computes the same window.
WINDOW_EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)
ALERT_OPENED = "alert.opened"


def window_start(*, now: dt.datetime, cooldown: dt.timedelta) -> dt.datetime:
    """The start of the cooldown window `now` falls in (fixed windows from WINDOW_EPOCH)."""
    return WINDOW_EPOCH + ((now - WINDOW_EPOCH) // cooldown) * cooldown


@dataclass(frozen=True)
class Firing:
    """What a rule found: the value, the previous value (score drops) and the summary, with
    the message it is worded from in each reader's language (metrics.closedloop.titles)."""

    summary: str
    value: float | None = None
    previous: float | None = None
    n: int | None = None
    message: dict[str, Any] | None = None

    @classmethod
    def of(cls, message: dict[str, Any], **values: Any) -> "Firing":
        """A firing worded from `message` (the summary in the active language)."""
        return cls(summary=message_text(message), message=message, **values)


@transaction.atomic
def alert_open(
    *,
    rule: AlertRule,
    firing: Firing,
    now: dt.datetime,
    window: dt.datetime,
) -> Alert | None:
    """Open one score rule's alert for a cooldown window, with its case; None when the rule
    fired in that window already (the unique constraint on (rule, window_start): a retried or
    doubled run opens nothing). The rule comes with its audience loaded.

    Writes `alert.opened` in the same transaction.
    """
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                audience_id=rule.audience_id,
                window_start=window,
                value=firing.value,
                previous=firing.previous,
                n=firing.n,
                summary=firing.summary[:300],
                message=firing.message or {},
                opened_at=now,
                notify=rule.notify,
            )
    except IntegrityError:
        return None
    Case.objects.create(
        alert=alert,
        audience_id=rule.audience_id,
        title=firing.summary[:300],
        message=firing.message or {},
        assignee_id=rule.assignee_id or rule.audience.owner_id,
        opened_at=now,
        due_at=now + rule.sla,
    )
    outbox_emit(ALERT_OPENED, alert_id=alert.pk)
    return alert


def response_alerts_insert(
    *,
    alerts: Sequence[Alert],
    cases: dict[tuple[int, int], Case],
    now: dt.datetime,
) -> list[int]:
    """Insert response rules' alerts and the cases of those that are new; returns their ids.

    `cases` holds the case of each alert by (rule id, response id), without its alert yet.
    An alert its rule already raised for the response is not inserted again (ON CONFLICT DO
    NOTHING on the unique constraint), so a re-run opens nothing; concurrent runs insert in the
    same (response, rule) order, so they wait for each other, never deadlock. One query each
    for the alerts inserted, the alerts found new and their cases, plus one `alert.opened`
    per new alert, in one transaction (the caller's, if any): an alert never commits without
    its case and its outbox rows.
    """
    if not alerts:
        return []
    with transaction.atomic(savepoint=False):
        Alert.objects.bulk_create(alerts, ignore_conflicts=True)
        # Inserted just now: this run's time and no case yet (a re-run finds the case).
        opened = [
            (alert_id, rule_id, response_id)
            for alert_id, rule_id, response_id in Alert.objects.filter(
                response_id__in={a.response_id for a in alerts},
                rule_id__in={a.rule_id for a in alerts},
                opened_at=now,
                case__isnull=True,
            )
            .order_by("pk")
            .values_list("pk", "rule_id", "response_id")
            if (rule_id, response_id) in cases
        ]
        new = []
        for alert_id, rule_id, response_id in opened:
            case = cases[(rule_id, response_id)]
            case.alert_id = alert_id
            new.append(case)
        Case.objects.bulk_create(new)
        for alert_id, _rule_id, _response_id in opened:
            outbox_emit(ALERT_OPENED, alert_id=alert_id)
    return [alert_id for alert_id, _rule_id, _response_id in opened]
