"""How the API shapes score groups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from journeys.models import Touchpoint


def score_groups(rows: list[dict[str, Any]], *, by: str | None) -> list[dict[str, Any]]:
    """Scores rows with `group` as the API names it: a touchpoint's slug, a period's start."""
    slugs: dict[Any, str] = {}
    if by == "touchpoint":
        ids = {r["group"] for r in rows if isinstance(r["group"], int)}
        slugs = dict(Touchpoint.objects.filter(id__in=ids).values_list("id", "slug"))
    out = []
    for row in rows:
        group = row["group"]
        if by == "touchpoint" and isinstance(group, int):
            group = slugs.get(group, group)
        elif isinstance(group, dt.date):
            group = group.isoformat()
        out.append({**row, "group": group})
    return out
