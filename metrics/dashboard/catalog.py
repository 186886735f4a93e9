"""The metrics the dashboard's picker offers: what each is, its unit and range, which of them
an audience's data support, and the colour band of a value on a diverging scale."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from metrics.selectors.series import OPERATION_METRICS, RESPONSE_RATE, operations_supported
from surveys.models import QuestionType

SCORE, MEAN, RATE, OPERATION = "score", "mean", "rate", "operation"
BUCKETS = 5


@dataclass(frozen=True)
class MetricInfo:
    """One metric of the picker."""

    key: str
    label: Any
    kind: str  # SCORE (NPS, CSAT share), MEAN (on one scale), RATE (response rate), OPERATION
    unit: Any  # what the y axis says after the metric's name
    percent: bool = False
    digits: int = 0
    lower_is_better: bool = False

    @property
    def margin_digits(self) -> int:
        """Digits of a margin: one more than the value's for whole numbers."""
        return max(self.digits, 1)

    @property
    def per_touchpoint(self) -> bool:
        """Whether the metric has a value per touchpoint (heatmap, ranking)."""
        return self.kind != OPERATION


METRICS: dict[str, MetricInfo] = {
    m.key: m
    for m in (
        MetricInfo("nps", _("NPS"), SCORE, _("−100 to 100")),
        MetricInfo("enps", _("eNPS"), SCORE, _("−100 to 100")),
        MetricInfo("csat", _("CSAT"), SCORE, _("percent satisfied"), percent=True),
        MetricInfo("csat_mean", _("CSAT (mean)"), MEAN, _("mean"), digits=2),
        MetricInfo("ces", _("CES"), MEAN, _("mean"), digits=2),
        MetricInfo("rating", _("Rating"), MEAN, _("mean"), digits=2),
        MetricInfo(RESPONSE_RATE, _("Response rate"), RATE, "%", percent=True, digits=1),
        MetricInfo(
            "churn_rate",
            OPERATION_METRICS["churn_rate"],
            OPERATION,
            "%",
            percent=True,
            digits=1,
            lower_is_better=True,
        ),
        MetricInfo(
            "retention_rate",
            OPERATION_METRICS["retention_rate"],
            OPERATION,
            "%",
            percent=True,
            digits=1,
        ),
        MetricInfo("clv", OPERATION_METRICS["clv"], OPERATION, _("per customer"), digits=2),
        MetricInfo("aht", OPERATION_METRICS["aht"], OPERATION, _("seconds"), lower_is_better=True),
        MetricInfo("fcr", OPERATION_METRICS["fcr"], OPERATION, "%", percent=True, digits=1),
        MetricInfo(
            "referral_rate",
            OPERATION_METRICS["referral_rate"],
            OPERATION,
            "%",
            percent=True,
            digits=1,
        ),
        MetricInfo(
            "trial_to_paid",
            OPERATION_METRICS["trial_to_paid"],
            OPERATION,
            "%",
            percent=True,
            digits=1,
        ),
    )
}
# A survey question's type and the metric it opens on.
TYPE_METRIC = {
    QuestionType.NPS: "nps",
    QuestionType.CSAT: "csat",
    QuestionType.CES: "ces",
    QuestionType.RATING: "rating",
}
# The metrics of one question type, in the picker's order.
TYPE_METRICS = {
    QuestionType.NPS: ("nps", "enps"),
    QuestionType.CSAT: ("csat", "csat_mean"),
    QuestionType.CES: ("ces",),
    QuestionType.RATING: ("rating",),
}


def for_audience(audience: Audience, metric: str) -> str:
    """NPS is eNPS in an employee audience and the other way round: the same question."""
    employee = audience.kind == AudienceKind.EMPLOYEE
    if metric == "nps" and employee:
        return "enps"
    if metric == "enps" and not employee:
        return "nps"
    return metric


def available(
    audience: Audience,
    *,
    question_types: Iterable[str],
    has_invitations: bool,
    roles: Iterable[str],
) -> list[str]:
    """The metrics the audience's data support, in the picker's order: its surveys' scored
    question types, the response rate when invitations were sent, and (customer audiences)
    the operational metrics whose events were recorded."""
    types = set(question_types)
    found: list[str] = []
    for question_type, metrics in TYPE_METRICS.items():
        if question_type in types:
            for metric in metrics:
                metric = for_audience(audience, metric)
                if metric not in found:
                    found.append(metric)
    if has_invitations:
        found.append(RESPONSE_RATE)
    if audience.kind == AudienceKind.CUSTOMER:
        found.extend(operations_supported(set(roles)))
    return found


def default_metric(
    audience: Audience,
    *,
    offered: list[str],
    questions: list[tuple[int, str, int | None, int]],
    survey_id: int | None,
) -> str | None:
    """The metric a page opens on: a survey filter's own (its first scored question's), else
    the audience's headline (eNPS for employees, NPS, CSAT), else its first survey metric."""
    if survey_id is not None:
        own = sorted((order, qtype) for sid, qtype, _scale, order in questions if sid == survey_id)
        if own:
            metric = for_audience(audience, TYPE_METRIC[own[0][1]])
            if metric in offered:
                return metric
    for metric in ("enps", "nps", "csat", "ces", "rating", "csat_mean"):
        if metric in offered:
            return metric
    return None


def info(metric: str) -> MetricInfo:
    return METRICS[metric]


def metric_range(metric: str, scale: int | None = None) -> tuple[float, float]:
    """The possible range of a metric's values (for colours and chart axes); open-ended
    operational metrics (CLV, handling time) take 0 … their largest value (`value_range`)."""
    if metric in ("nps", "enps"):
        return -100.0, 100.0
    kind = METRICS[metric].kind if metric in METRICS else MEAN
    if kind == MEAN:
        return 1.0, float(scale or 5)
    return 0.0, 100.0


def value_range(
    metric: str, values: list[tuple[float, float | None]], scale: int | None = None
) -> tuple[float, float]:
    """The chart's range: the metric's own for scores and means; for rates, operational
    metrics, CLV and handling time 0 … the largest value plus its margin, rounded up (a
    churn of 2 % would draw a flat line on 0 … 100), percentages at most 100."""
    kind = METRICS[metric].kind if metric in METRICS else MEAN
    if kind not in (RATE, OPERATION):
        return metric_range(metric, scale)
    top = max((v + (m or 0) for v, m in values), default=0.0)
    if top <= 0:
        return 0.0, 1.0
    magnitude = 10 ** max(len(str(int(top))) - 1, 0)
    high = float((int(top / magnitude) + 1) * magnitude)
    return 0.0, min(high, 100.0) if METRICS[metric].percent else high


def bucket(metric: str, value: float | None, scale: int | None = None) -> int | None:
    """0 (worst) … 4 (best): the colour band of a value, in equal steps over the metric's
    range (for NPS: −100…−60, −60…−20, −20…20, 20…60, 60…100, centred on 0)."""
    if value is None:
        return None
    low, high = metric_range(metric, scale)
    share = (value - low) / (high - low) if high > low else 0.0
    band = max(0, min(BUCKETS - 1, int(share * BUCKETS)))
    if metric in METRICS and METRICS[metric].lower_is_better:
        return BUCKETS - 1 - band
    return band


def legend(metric: str, scale: int | None = None) -> list[dict[str, Any]]:
    """The colour bands' bounds, worst first: [{"bucket", "low", "high"}]."""
    low, high = metric_range(metric, scale)
    step = (high - low) / BUCKETS
    bands = [
        {"bucket": i, "low": low + i * step, "high": low + (i + 1) * step} for i in range(BUCKETS)
    ]
    if metric in METRICS and METRICS[metric].lower_is_better:
        bands = [{**b, "bucket": BUCKETS - 1 - b["bucket"]} for b in bands][::-1]
    return bands


def most_common_scale(counts: dict[int | None, int]) -> int | None:
    """The scale with the most answers (ties: the smaller scale), so means never pool scales."""
    if not counts:
        return None
    return min(counts, key=lambda scale: (-counts[scale], scale or 0))
