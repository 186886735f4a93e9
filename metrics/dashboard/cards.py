"""The dashboard's index: one card per audience with the chosen survey metric (or its
headline), n, margin, a monthly sparkline and the response rate."""

import datetime as dt
from typing import Any

from audiences.models import Audience
from metrics import definitions as d
from metrics import selectors as s
from metrics.dashboard import catalog
from metrics.dashboard.charts import SPARK_H, SPARK_W, month_start, polyline
from metrics.dashboard.panels import row_of
from surveys.models import SCORED_TYPES

SPARK_MONTHS = 12
# The survey metrics the index's picker offers (each audience shows it when it has it).
CARD_METRICS = ("nps", "csat", "csat_mean", "ces", "rating")


def index_cards(
    *,
    today: dt.date,
    audience_ids: list[int] | None = None,
    now: dt.datetime | None = None,
    metric: str | None = None,
) -> list[dict[str, Any]]:
    """One card per audience: `metric` where the audience has it (NPS is eNPS in an employee
    audience; a mean on the audience's most common scale), else its headline (eNPS for
    employees, NPS, CSAT, CES, rating), with n, margin, monthly sparkline and response rate.

    `audience_ids` limits the cards to those audiences (None: all of them). Scores are exact
    for named surveys and guarded for anonymous ones (metrics.privacy), as of `now`.

    Queries: audiences, the surveys (with the rollups' watermark), their reporting periods
    when some are anonymous, the rollups and the fresh answers (audience × type × scale ×
    month) of each kind, response rates — whatever the number of audiences or answers.
    """
    audiences = list(Audience.objects.all())
    if audience_ids is not None:
        audiences = [a for a in audiences if a.pk in set(audience_ids)]
    since = month_start(today, SPARK_MONTHS - 1)
    # The audiences named, even when they are all: today's answers are then found through
    # the responses' (audience, day) index instead of a scan of every response.
    filters = s.Filters(date_from=since, date_to=today, audience_ids=tuple(a.pk for a in audiences))
    scope = s.read_scope(filters=filters, now=now)
    found = s.read(
        question_types=list(SCORED_TYPES),
        keys=("audience", s.QUESTION_TYPE, s.SCALE, "month"),
        fields=s.ALL_FIELDS,
        filters=filters,
        scope=scope,
    )
    # audience -> question type -> scale -> month -> Agg
    by_audience: dict[int, dict[str, dict[Any, dict[dt.date, s.Agg]]]] = {}
    for (audience_id, question_type, scale, month), agg in found.shown.items():
        scales = by_audience.setdefault(audience_id, {}).setdefault(question_type, {})
        scales.setdefault(scale, {})[month] = agg
    withheld: dict[int, set[str]] = {}
    for audience_id, question_type, _scale, _month in found.hidden:
        withheld.setdefault(audience_id, set()).add(question_type)
    months = [month_start(today, k) for k in range(SPARK_MONTHS - 1, -1, -1)]
    rates = s.response_rates(audience_ids=[a.pk for a in audiences], date_from=since)
    cards: list[dict[str, Any]] = []
    for audience in audiences:
        found_types = by_audience.get(audience.pk, {})
        hidden_types = withheld.get(audience.pk, set())
        chosen = _card_metric(audience, metric, set(found_types) | hidden_types)
        card: dict[str, Any] = {
            "audience": audience,
            "metric": chosen,
            "label": catalog.info(chosen).label if chosen else "",
            "response_rate": rates.get(audience.pk),
            "threshold": audience.anonymity_threshold,
            "as_of": found.as_of,
        }
        if chosen is not None:
            question_type = s.METRIC_QUESTION_TYPE[chosen]
            scales = found_types.get(question_type, {})
            scale = None
            if chosen in s.MEAN_METRICS:
                counts = {sc: sum(a.n for a in m.values()) for sc, m in scales.items()}
                scale = catalog.most_common_scale(counts)
                scales = {scale: scales[scale]} if scale in scales else {}
            monthly: dict[dt.date, s.Agg] = {}
            for per_month in scales.values():
                for month, agg in per_month.items():
                    monthly[month] = monthly.get(month, s.Agg()) + agg
            total = s.agg_sum(monthly.values())
            withheld_here = question_type in hidden_types
            card["row"] = row_of(
                s.score_from(chosen, total) if total.n else d.EMPTY, withheld=withheld_here
            )
            card["scale"] = scale
            card["digits"] = catalog.info(chosen).digits
            spark = [
                s.score_from(chosen, monthly[month]).value if month in monthly else None
                for month in months
            ]
            low, high = catalog.metric_range(chosen, scale)
            card["spark"] = polyline(spark, low=low, high=high, w=SPARK_W, h=SPARK_H)
        cards.append(card)
    return cards


def _card_metric(audience: Audience, metric: str | None, types: set[str]) -> str | None:
    """The card's metric: the one asked for when the audience has its question type, else the
    headline (eNPS for employees, NPS, CSAT, then CES and rating)."""
    if metric is not None:
        metric = catalog.for_audience(audience, metric)
        if metric in s.METRIC_QUESTION_TYPE and s.METRIC_QUESTION_TYPE[metric] in types:
            return metric
    headline = s.headline_metric(audience, types)
    if headline is not None:
        return headline
    for fallback, question_type in (("ces", "ces"), ("rating", "rating")):
        if question_type in types:
            return fallback
    return None
