"""The importance × performance matrix of the drivers page: SVG geometry, computed here so the
template only places what it is given.

Quadrants: importance splits at the average share (1 / number of drivers: a driver above it
explains more than its part), performance at the median of the drivers drawn (the ten most
important). Important and weak: fix first; important and strong: keep; less important and
weak: monitor; less important and strong: don't overinvest.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from django.utils.translation import gettext_lazy as _

WIDTH, HEIGHT = 400, 320
LEFT, RIGHT, TOP, BOTTOM = 54, 12, 12, 40
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
# The matrix shows the most important drivers (the table lists them all).
MAX_POINTS = 10

QUADRANTS = {
    "fix": _("Fix first"),
    "keep": _("Keep"),
    "monitor": _("Monitor"),
    "overinvest": _("Don't overinvest"),
}


def quadrant(importance: float, performance: float, *, split_i: float, split_p: float) -> str:
    if importance >= split_i:
        return "fix" if performance < split_p else "keep"
    return "monitor" if performance < split_p else "overinvest"


def matrix_chart(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Points, interval whiskers, split lines, axis ticks and quadrant labels for `results`
    (ranked drivers with importance, low, high, performance); each result gets its quadrant."""
    if not results:
        return {}
    plotted = results[:MAX_POINTS]
    split_i = 1 / len(results)
    split_p = statistics.median(r["performance"] for r in plotted)
    top = max(max(r["high"] for r in plotted), 2 * split_i)
    top = min(1.0, math.ceil(top * 10) / 10)

    def x(performance: float) -> float:
        return LEFT + max(0.0, min(100.0, performance)) / 100 * PLOT_W

    def y(importance: float) -> float:
        return TOP + PLOT_H - max(0.0, min(top, importance)) / top * PLOT_H

    points = []
    for rank, r in enumerate(results, start=1):
        key = quadrant(r["importance"], r["performance"], split_i=split_i, split_p=split_p)
        r["quadrant"], r["quadrant_label"], r["rank"] = key, QUADRANTS[key], rank
        if rank > MAX_POINTS:
            continue
        px, py = x(r["performance"]), y(r["importance"])
        points.append(
            {
                "rank": rank,
                "result": r,
                "x": f"{px:.1f}",
                "y": f"{py:.1f}",
                "low_y": f"{y(r['low']):.1f}",
                "high_y": f"{y(r['high']):.1f}",
                # The rank number beside its dot, kept inside the plot.
                "label_x": f"{px + 8 if px < LEFT + PLOT_W - 24 else px - 8:.1f}",
                "label_anchor": "start" if px < LEFT + PLOT_W - 24 else "end",
                "label_y": f"{py + 4:.1f}",
                "quadrant": key,
            }
        )
    split_y = y(split_i)
    ticks_y = [{"y": f"{y(v):.1f}", "text": f"{v * 100:.0f} %"} for v in (0.0, top / 2, top)]
    ticks_x = [{"x": f"{x(v):.1f}", "text": f"{v}"} for v in (0, 50, 100)]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": LEFT + PLOT_W,
        "top": TOP,
        "bottom": TOP + PLOT_H,
        "split_x": f"{x(split_p):.1f}",
        "split_y": f"{split_y:.1f}",
        "plotted": len(plotted),
        "more": len(results) > len(plotted),
        "split_importance": split_i * 100,
        "split_performance": split_p,
        "ticks_x": ticks_x,
        "ticks_y": ticks_y,
        "axis_x_y": TOP + PLOT_H + 32,
        "axis_x_mid": LEFT + PLOT_W // 2,
        "axis_y_mid": TOP + PLOT_H // 2,
        "labels": [
            {
                "x": LEFT + 4,
                "y": TOP + 12,
                "anchor": "start",
                "key": "fix",
                "text": QUADRANTS["fix"],
            },
            {
                "x": LEFT + PLOT_W - 4,
                "y": TOP + 12,
                "anchor": "end",
                "key": "keep",
                "text": QUADRANTS["keep"],
            },
        ],
        "points": points,
        # The lower quadrants, where drivers crowd near zero, are named in the legend only.
        "legend": [{"key": key, "text": text} for key, text in QUADRANTS.items()],
    }
