"""CSV of a dashboard chart's data: the same figures the page shows (so the same anonymity), no
free text; each figure with n and its 95 % margin."""

import csv
import io
from typing import Any

CHARTS = ("trend", "heatmap", "worst", "distribution")
SUPPRESSED, EMPTY, SHOWN = "not enough responses", "no answers", "shown"


def _safe(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _figure(row: dict[str, Any]) -> list[Any]:
    """value, n, margin, low, high, state of a score row."""
    if row.get("suppressed"):
        return ["", "", "", "", "", SUPPRESSED]
    if row.get("score") is None:
        return ["", row.get("n", 0), "", "", "", EMPTY]
    value, margin = row["score"], row.get("margin")
    low = None if margin is None else value - margin
    high = None if margin is None else value + margin
    return [_num(value), row["n"], _num(margin), _num(low), _num(high), SHOWN]


FIGURE = ["value", "n", "margin_95", "low_95", "high_95", "state"]


def chart_csv(page: dict[str, Any], chart: str) -> str:
    """The CSV text of one chart of an audience page (`CHARTS`); header only when the page has
    no such chart (e.g. a heatmap for an operational metric)."""
    out = io.StringIO()
    writer = csv.writer(out)
    metric, scale = page.get("metric") or "", page.get("scale")
    if chart == "trend":
        writer.writerow(["period_start", "period", "metric", "scale", *FIGURE])
        for row in (page.get("trend") or {}).get("rows", []):
            writer.writerow(
                [row["group"].isoformat(), _safe(str(row.get("label", ""))), metric, scale or ""]
                + _figure(row)
            )
    elif chart == "heatmap":
        writer.writerow(["journey", "stage", "touchpoint", "metric", "scale", *FIGURE, "band"])
        for stage in page.get("heatmap") or []:
            names = [_safe(stage["stage"].journey.name), _safe(stage["stage"].name)]
            total = stage["total"]
            writer.writerow(
                [*names, "", metric, scale or "", *_figure(total), _band(total.get("bucket"))]
            )
            for cell in stage["cells"]:
                writer.writerow(
                    [*names, _safe(cell["touchpoint"].name), metric, scale or ""]
                    + _figure(cell)
                    + [_band(cell.get("bucket"))]
                )
    elif chart == "worst":
        writer.writerow(["rank", "touchpoint", "metric", "scale", *FIGURE])
        for rank, cell in enumerate(page.get("worst") or [], start=1):
            writer.writerow(
                [rank, _safe(cell["touchpoint"].name), metric, scale or ""] + _figure(cell)
            )
    elif chart == "distribution":
        writer.writerow(["category", "share_percent", "count"])
        for part in page.get("distribution") or []:
            writer.writerow([part["key"], _num(part["share"]), part["count"]])
    else:
        raise ValueError(chart)
    return out.getvalue()


def _band(bucket: int | None) -> Any:
    return "" if bucket is None else bucket


def cards_csv(cards: list[dict[str, Any]]) -> str:
    """The index's cards: each audience's metric with n, margin and response rate."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["audience", "metric", "scale", *FIGURE, "response_rate_percent"])
    for card in cards:
        row = card.get("row") or {"suppressed": False, "n": 0}
        writer.writerow(
            [_safe(card["audience"].slug), card.get("metric") or "", card.get("scale") or ""]
            + _figure(row)
            + [_num(card.get("response_rate"))]
        )
    return out.getvalue()
