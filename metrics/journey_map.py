"""The journey map with experience on it: each touchpoint card's score, each stage's, and the
emotion curve across the stages.

journeys draws the map and knows nothing of scores; this registers the journey page again
with a subclass whose `map_context` adds them (as surveys.admin.people does for the person
page). Scores come from `metrics.selectors.figures` by touchpoint, so anonymous surveys follow
metrics.privacy (whole published periods, blocks of at least k; a withheld touchpoint says
"not enough responses"). A stage's score is the sum of its touchpoints' shown answers.
"""

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from audiences.access import has_role
from audiences.models import Audience, AudienceKind, Role
from journeys.admin import CardLink
from journeys.admin import JourneyAdmin as JourneysJourneyAdmin
from journeys.models import Journey
from journeys.selectors import MapStage, MapTouchpoint
from metrics.access import VIEW_PERMISSION
from metrics.selectors.scores import figures
from metrics.selectors.slices import MEAN_METRICS, METRIC_LABELS, Agg, Filters, score_from
from surveys.models import Question, QuestionType, Survey

PERIODS: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "all": None}
PERIOD_LABELS = {
    "30": _("Last 30 days"),
    "90": _("Last 90 days"),
    "365": _("Last 12 months"),
    "all": _("All time"),
}
DEFAULT_PERIOD = "90"
# Question types in the order the picker offers them.
TYPE_METRIC = {
    QuestionType.NPS: "nps",
    QuestionType.CSAT: "csat",
    QuestionType.CES: "ces",
    QuestionType.RATING: "rating",
}
BANDS = 3  # bands on each side of the neutral one: seven in all


@dataclass(frozen=True)
class MetricChoice:
    metric: str
    scale: int | None
    label: str


def metric_choices(audience: Audience) -> list[MetricChoice]:
    """The metrics the audience's questions support (one query): eNPS for employees, NPS for
    others; a mean metric on its largest scale (scales are never pooled)."""
    found: dict[str, set[int]] = {}
    for kind, scale in (
        Question.objects.filter(survey__audience=audience, type__in=list(TYPE_METRIC))
        .values_list("type", "scale_max")
        .distinct()
        .order_by()
    ):
        found.setdefault(kind, set()).add(scale or 0)
    choices = []
    for kind, metric in TYPE_METRIC.items():
        if kind not in found:
            continue
        if metric == "nps" and audience.kind == AudienceKind.EMPLOYEE:
            metric = "enps"
        scale = max(found[kind]) if metric in MEAN_METRICS else None
        label = str(METRIC_LABELS[metric])
        if scale:
            label = f"{label} (1–{scale})"
        choices.append(MetricChoice(metric=metric, scale=scale, label=label))
    return choices


@dataclass(frozen=True)
class Cell:
    """One score on the map: a value with n and margin, withheld, or no answers."""

    value: float | None = None
    n: int = 0
    margin: float | None = None
    suppressed: bool = False
    band: str = ""

    @property
    def empty(self) -> bool:
        return self.value is None and not self.suppressed


@dataclass
class ScoredStage:
    stage: Any
    touchpoints: list[tuple[MapTouchpoint, Cell]]
    cell: Cell
    partial: bool = False  # some touchpoints withheld: the stage counts the shown ones


@dataclass
class ScoredMap:
    metric: str
    scale: int | None
    stages: list[ScoredStage]
    journey: Cell
    date_from: dt.date | None
    date_to: dt.date | None
    as_of: dt.datetime
    curve: dict[str, Any] = field(default_factory=dict)


def domain(metric: str, scale: int | None) -> tuple[float, float]:
    """The metric's range: NPS −100…100, CSAT 0…100, a mean 1…scale."""
    if metric in ("nps", "enps"):
        return -100.0, 100.0
    if metric == "csat":
        return 0.0, 100.0
    return 1.0, float(scale or 5)


def band(metric: str, scale: int | None, value: float | None) -> str:
    """The diverging colour band of a score: "m3" (worst) … "0" (neutral) … "p3" (best)."""
    if value is None:
        return ""
    low, high = domain(metric, scale)
    position = (value - (low + high) / 2) / ((high - low) / 2)  # −1 … 1
    # Half-way rounds away from the middle (Python's round() would send -0.5 to 0 but 1.5 to 2).
    step = int(math.copysign(math.floor(abs(position) * BANDS + 0.5), position))
    step = max(-BANDS, min(BANDS, step))
    return "0" if step == 0 else f"{'p' if step > 0 else 'm'}{abs(step)}"


def _cell(metric: str, scale: int | None, agg: Agg | None, withheld: bool) -> Cell:
    if agg is None or not agg.n:
        return Cell(suppressed=withheld)
    s = score_from(metric, agg)
    return Cell(value=s.value, n=s.n, margin=s.margin, band=band(metric, scale, s.value))


def scored_map(
    *,
    journey: Journey,
    stages: list[MapStage],
    choice: MetricChoice,
    date_from: dt.date | None,
    date_to: dt.date | None,
    now: dt.datetime | None = None,
) -> ScoredMap:
    """Each card's score, each stage's (its touchpoints' shown answers together) and the
    journey's, by the one read (two to five queries)."""
    metric, scale = choice.metric, choice.scale
    filters = Filters(
        audience_id=journey.audience_id, date_from=date_from, date_to=date_to, scale=scale
    )
    found = figures(metric=metric, by="touchpoint", filters=filters, now=now)

    def touchpoint_of(group: Any) -> Any:
        return group[0] if metric in MEAN_METRICS else group

    shown = {touchpoint_of(g): agg for g, agg in found.shown.items()}
    hidden = {touchpoint_of(g) for g in found.hidden}
    scored, every = [], Agg()
    for item in stages:
        cards, total, withheld = [], Agg(), False
        for tp in item.touchpoints:
            pk = tp.touchpoint.pk
            agg = shown.get(pk)
            cards.append((tp, _cell(metric, scale, agg, pk in hidden)))
            if agg is not None:
                total = total + agg
            withheld = withheld or (pk in hidden and agg is None)
        scored.append(
            ScoredStage(
                stage=item.stage,
                touchpoints=cards,
                cell=_cell(metric, scale, total, withheld),
                partial=withheld and total.n > 0,
            )
        )
        every = every + total
    result = ScoredMap(
        metric=metric,
        scale=scale,
        stages=scored,
        journey=_cell(metric, scale, every, False),
        date_from=found.date_from if found.date_from is not None else date_from,
        date_to=found.date_to if found.date_to is not None else date_to,
        as_of=found.as_of,
    )
    result.curve = emotion_curve(result)
    return result


# --- The emotion curve -------------------------------------------------------------------------

# Stage columns on the map are STAGE_WIDTH wide with GAP between them (journey_map.css).
STAGE_WIDTH, GAP, CURVE_HEIGHT, PAD = 220, 12, 150, 22


def emotion_curve(scored: ScoredMap) -> dict[str, Any]:
    """SVG geometry under the stage columns: a point per scored stage, joined where stages
    follow each other, with the 95 % margin as a band, and the middle of the scale.

    The vertical axis spans the scores and their margins (at least a fifth of the metric's
    range, within it), so differences between stages show; its two ends are labelled.
    """
    full_low, full_high = domain(scored.metric, scored.scale)
    cells = [s.cell for s in scored.stages if s.cell.value is not None]
    low, high = full_low, full_high
    if cells:
        low = min((c.value or 0.0) - (c.margin or 0.0) for c in cells)
        high = max((c.value or 0.0) + (c.margin or 0.0) for c in cells)
        least = (full_high - full_low) / 5
        if high - low < least:
            middle = (high + low) / 2
            low, high = middle - least / 2, middle + least / 2
        pad = (high - low) * 0.05
        low, high = max(full_low, low - pad), min(full_high, high + pad)
        if high - low < least:  # pushed against an end of the scale
            low, high = (
                (full_low, full_low + least) if low == full_low else (full_high - least, full_high)
            )

    def y(value: float) -> float:
        value = max(low, min(high, value))
        return PAD + (high - value) / (high - low) * (CURVE_HEIGHT - 2 * PAD)

    points: list[dict[str, Any]] = []
    runs: list[list[dict[str, Any]]] = []
    run: list[dict[str, Any]] = []
    for i, item in enumerate(scored.stages):
        x = i * (STAGE_WIDTH + GAP) + STAGE_WIDTH / 2
        cell = item.cell
        if cell.value is None:
            if run:
                runs.append(run)
            run = []
            continue
        margin = cell.margin or 0.0
        point = {
            "x": x,
            "y": y(cell.value),
            "upper": y(cell.value + margin),
            "lower": y(cell.value - margin),
            "cell": cell,
            "stage": item.stage,
            "label_y": y(cell.value) - 9,
        }
        points.append(point)
        run.append(point)
    if run:
        runs.append(run)
    lines, bands = [], []
    for part in runs:
        lines.append(" ".join(f"{p['x']:.1f},{p['y']:.1f}" for p in part))
        if len(part) > 1:
            edge = [f"{p['x']:.1f},{p['upper']:.1f}" for p in part]
            edge += [f"{p['x']:.1f},{p['lower']:.1f}" for p in reversed(part)]
            bands.append(" ".join(edge))
    count = len(scored.stages)
    middle = (full_low + full_high) / 2
    return {
        "width": max(count * (STAGE_WIDTH + GAP) - GAP, STAGE_WIDTH),
        "height": CURVE_HEIGHT,
        "neutral": y(middle) if low <= middle <= high else None,
        "top_y": PAD - 8,
        "bottom_y": CURVE_HEIGHT - PAD + 16,
        "points": points,
        "lines": lines,
        "bands": bands,
        "low_cell": {"value": low},
        "high_cell": {"value": high},
    }


# --- The journey page, again -------------------------------------------------------------------


def _window(period: str, today: dt.date) -> tuple[dt.date | None, dt.date]:
    days = PERIODS[period]
    return (None if days is None else today - dt.timedelta(days=days - 1)), today


def _link(request: HttpRequest, **values: str) -> str:
    params = request.GET.copy()
    for key, value in values.items():
        params[key] = value
    return "?" + params.urlencode()


class JourneyAdmin(JourneysJourneyAdmin):
    """The journey page whose map shows each touchpoint's and stage's score."""

    def card_links(
        self, request: HttpRequest, journey: Journey, stages: list[MapStage]
    ) -> dict[int, list[CardLink]]:
        """Each card also links to the touchpoint's surveys (about it or triggered by it) and
        to the audience's dashboard filtered to it, for those who may open them."""
        links = super().card_links(request, journey, stages)
        user, audience = request.user, journey.audience
        surveys_admin = self.admin_site._registry.get(Survey)
        may_list = (
            surveys_admin is not None
            and user.has_perm("surveys.view_survey")
            and has_role(user, audience.pk, surveys_admin.view_role)
        )
        may_score = user.has_perm(VIEW_PERMISSION) and has_role(user, audience.pk, Role.VIEWER)
        surveys = reverse("admin:surveys_survey_changelist")
        scores = reverse("metrics:audience", kwargs={"slug": audience.slug})
        surveys_label = pgettext("touchpoint card link", "Surveys")
        scores_label = pgettext("touchpoint card link", "Scores")
        for item in stages:
            for tp in item.touchpoints:
                query = urlencode({"touchpoint": tp.touchpoint.pk})
                card = links.setdefault(tp.touchpoint.pk, [])
                if may_list:
                    card.append(CardLink("surveys", surveys_label, f"{surveys}?{query}"))
                if may_score:
                    card.append(CardLink("scores", scores_label, f"{scores}?{query}"))
        return links

    def map_context(
        self, request: HttpRequest, journey: Journey, stages: list[MapStage]
    ) -> dict[str, Any]:
        choices = metric_choices(journey.audience)
        if not choices or not stages:
            return {"journey_scores": None}
        asked = request.GET.get("metric")
        choice = next((c for c in choices if c.metric == asked), choices[0])
        period = request.GET.get("period")
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        date_from, date_to = _window(period, timezone.localdate())
        scored = scored_map(
            journey=journey,
            stages=stages,
            choice=choice,
            date_from=date_from,
            date_to=date_to,
        )
        return {
            "journey_scores": scored,
            "metric_label": choice.label,
            "metric_links": [
                {"label": c.label, "url": _link(request, metric=c.metric), "on": c == choice}
                for c in choices
            ],
            "period_links": [
                {"label": label, "url": _link(request, period=key), "on": key == period}
                for key, label in PERIOD_LABELS.items()
            ],
        }


admin.site.unregister(Journey)
admin.site.register(Journey, JourneyAdmin)
