"""Small-cell suppression shared by every app that shows counts of groups of people.

Hiding a slice under the anonymity threshold is not enough when sibling slices add up to a
total shown elsewhere: the hidden one is "total minus the others". `suppress_siblings` hides
the complement too.
"""

from typing import Any


def suppress_siblings(rows: list[dict[str, Any]], *, threshold: int) -> list[dict[str, Any]]:
    """Hide slices under the threshold, and their complement so no subtraction reveals them.

    Sibling slices add up to the total shown elsewhere, so a lone hidden slice equals "total
    minus the others". While the hidden ones are fewer than two or hold fewer than `threshold`
    answers together, the next-smallest visible sibling is hidden too. (For counts
    outside the metrics app's scores read, such as per-survey figures; scores of anonymous
    surveys go through metrics.privacy.)
    """
    hidden = {i for i, r in enumerate(rows) if r["n"] < threshold}
    if hidden:
        visible = sorted(
            (i for i in range(len(rows)) if i not in hidden), key=lambda i: rows[i]["n"]
        )
        while visible and (len(hidden) < 2 or sum(rows[i]["n"] for i in hidden) < threshold):
            hidden.add(visible.pop(0))
    out = []
    for i, row in enumerate(rows):
        if i in hidden:
            out.append({"group": row["group"], "suppressed": True, **_extra(row)})
        else:
            out.append(row)
    return out


def _extra(row: dict[str, Any]) -> dict[str, Any]:
    return {"scale": row["scale"]} if "scale" in row else {}
