"""Reads about people: what audiences holds about one person (access requests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from audiences.models import Audience, Consent, Membership, Person


def iso(value: Any) -> Any:
    """A date or time as ISO 8601 text for an export; any other value as it is."""
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def audiences_person_export(*, person_id: int) -> dict[str, Any]:
    """The person, their memberships and consents, as JSON-ready data.

    One part of a person's export (xmplatform.people.person_export). Three queries; raises
    Person.DoesNotExist for an unknown id.
    """
    person = Person.objects.get(pk=person_id)
    memberships = [
        {
            "audience": m["audience__slug"],
            "audience_name": m["audience__name"],
            "segment": m["segment"],
            "attributes": m["attributes"],
            "joined_on": iso(m["joined_on"]),
            "left_on": iso(m["left_on"]),
        }
        for m in Membership.objects.filter(person_id=person_id)
        .order_by("audience__priority", "audience__name")
        .values(
            "audience__slug",
            "audience__name",
            "segment",
            "attributes",
            "joined_on",
            "left_on",
        )
    ]
    consents = [
        {
            "channel": c["channel"],
            "status": c["status"],
            "source": c["source"],
            "changed_at": iso(c["changed_at"]),
        }
        for c in Consent.objects.filter(person_id=person_id)
        .order_by("channel")
        .values("channel", "status", "source", "changed_at")
    ]
    return {
        "person": {
            "id": person.pk,
            "external_id": person.external_id,
            "email": person.email,
            "phone": person.phone,
            "name": person.name,
            "language": person.language,
            "time_zone": person.time_zone,
            "created_at": iso(person.created_at),
            "updated_at": iso(person.updated_at),
        },
        "memberships": memberships,
        "consents": consents,
    }


def retention_cutoffs(*, today: dt.date) -> list[tuple[int, dt.date]]:
    """(audience id, cutoff) of each audience with a retention: links older than it go.

    The cutoff is `retention_months` before `today`, on the same day of the month or that
    month's last (31 March less one month is 28/29 February). One query; audiences are few.
    """
    return [
        (audience_id, months_before(today, int(months or 0)))
        for audience_id, months in Audience.objects.filter(
            retention_months__isnull=False
        ).values_list("pk", "retention_months")
    ]


def months_before(day: dt.date, months: int) -> dt.date:
    """`day` less `months` calendar months, clamped to the month's last day."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))
