"""People in batches for the API: validate per item, apply the key's scope, and upsert
with audiences.services.people_upsert; and a person's export cut to a key's scope.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audiences.models import Person
from audiences.services import PERSON_FIELDS, UpsertResult, people_upsert
from surveys.models import Invitation, Response
from xmplatform.api import selectors
from xmplatform.api.operations.common import flatten_errors, item_error
from xmplatform.api.selectors import Scope
from xmplatform.api.serializers import PersonItemSerializer


def people_submit(*, items: Sequence[Any], scope: Scope) -> dict[str, Any]:
    """Validate each item, then upsert the valid ones set-based; errors are listed by index.

    Queries: audiences named, (scoped keys: people outside the scope), then people_upsert once
    for the people and once per audience named for the memberships.
    """
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(item_error(index, None, _("Each item must be a JSON object.")))
            continue
        serializer = PersonItemSerializer(data=item)
        if not serializer.is_valid():
            errors.extend(flatten_errors(index, serializer.errors))
            continue
        data = dict(serializer.validated_data)
        external_id = data["external_id"]
        if external_id in first:
            errors.append(
                item_error(
                    index,
                    "external_id",
                    _("%(id)s is already at index %(first)d of this list.")
                    % {"id": external_id, "first": first[external_id]},
                )
            )
            continue
        first[external_id] = index
        slugs = [m["audience"] for m in data.get("audiences", [])]
        repeated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
        if repeated:
            errors.append(
                item_error(
                    index,
                    "audiences",
                    _("Audience %(slug)s is named more than once.") % {"slug": repeated[0]},
                )
            )
            continue
        if not scope.unrestricted and not slugs:
            errors.append(
                item_error(
                    index,
                    "audiences",
                    _("This key is limited to some audiences: name at least one of them."),
                )
            )
            continue
        valid.append((index, data))
    wanted = {m["audience"] for _i, d in valid for m in d.get("audiences", [])}
    audiences = {
        a.slug: a for a in selectors.audiences_visible(scope=scope).filter(slug__in=wanted)
    }
    hidden: set[str] = set()
    if not scope.unrestricted and valid:
        ids = [d["external_id"] for _i, d in valid]
        visible = selectors.people_visible(scope=scope).filter(external_id__in=ids)
        hidden = set(
            Person.objects.filter(external_id__in=ids)
            .exclude(pk__in=visible.values("pk"))
            .values_list("external_id", flat=True)
        )
    rows: list[dict[str, Any]] = []
    memberships: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for index, data in valid:
        problems = [
            item_error(
                index,
                f"audiences[{j}].audience",
                _("Unknown audience %(slug)s.") % {"slug": m["audience"]},
            )
            for j, m in enumerate(data.get("audiences", []))
            if m["audience"] not in audiences
        ]
        if data["external_id"] in hidden:
            problems.append(
                item_error(
                    index, "external_id", _("This external id cannot be used with this key.")
                )
            )
        if problems:
            errors.extend(problems)
            continue
        rows.append(
            {"external_id": data["external_id"], **{f: data[f] for f in PERSON_FIELDS if f in data}}
        )
        for m in data.get("audiences", []):
            row: dict[str, Any] = {"external_id": data["external_id"]}
            for key in ("segment", "attributes", "joined_on"):
                if m.get(key) is not None:
                    row[key] = m[key]
            memberships[m["audience"]].append(row)
    # Concurrent batches naming the same people lock them in one order (their external ids'),
    # so they wait for each other instead of deadlocking.
    rows.sort(key=lambda row: row["external_id"])
    result = UpsertResult()
    with transaction.atomic():
        if rows:
            result = people_upsert(rows=rows)
        for slug, member_rows in sorted(memberships.items()):
            member_rows.sort(key=lambda row: row["external_id"])
            result.add(_memberships_only(people_upsert(rows=member_rows, audience=audiences[slug])))
    errors.sort(key=lambda e: e["index"])
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "memberships_created": result.memberships_created,
        "memberships_updated": result.memberships_updated,
        "errors": errors,
    }


def _memberships_only(result: UpsertResult) -> UpsertResult:
    """The membership counts of a per-audience call (its people were counted already)."""
    return UpsertResult(
        memberships_created=result.memberships_created,
        memberships_updated=result.memberships_updated,
        memberships_unchanged=result.memberships_unchanged,
    )


def export_scoped(*, data: dict[str, Any], person: Person, scope: Scope) -> dict[str, Any]:
    """A person's export cut down to what a scoped key may see (four queries)."""
    slugs = set(selectors.audiences_visible(scope=scope).values_list("slug", flat=True))
    touchpoints = set(selectors.touchpoints_visible(scope=scope).values_list("slug", flat=True))
    invitations = set(
        Invitation.objects.filter(
            person=person, survey__audience_id__in=scope.audience_ids or ()
        ).values_list("id", flat=True)
    )
    responses = set(
        Response.objects.filter(
            person=person, audience_id__in=scope.audience_ids or ()
        ).values_list("id", flat=True)
    )
    return {
        **data,
        "memberships": [m for m in data["memberships"] if m["audience"] in slugs],
        "events": [e for e in data["events"] if e["touchpoint"] in touchpoints],
        "invitations": [i for i in data["invitations"] if i["id"] in invitations],
        "responses": [r for r in data["responses"] if r["id"] in responses],
    }
