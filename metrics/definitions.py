"""Metric formulas as pure functions over counts and sums (see DESIGN.md, "Metrics").

Every score is computed from additive inputs (n, sum, sum of squares, category counts) so the
same function serves raw SQL aggregates and daily rollups, and a variance never needs StdDev.
"""

import math
from dataclasses import dataclass

Z_95 = 1.96
PROMOTER_MIN = 9
PASSIVE_MIN = 7
CSAT_TOP2_MIN = 4


@dataclass(frozen=True)
class Score:
    """A metric value with its sample size, 95 % margin of error and anonymity state."""

    value: float | None
    n: int
    margin: float | None = None
    suppressed: bool = False


EMPTY = Score(value=None, n=0)


def nps(*, promoters: int, passives: int, detractors: int) -> Score:
    """NPS = %promoters − %detractors, range −100…100, with its 95 % margin."""
    n = promoters + passives + detractors
    if n == 0:
        return EMPTY
    p = promoters / n
    d = detractors / n
    variance = max(p + d - (p - d) ** 2, 0.0)
    return Score(
        value=(promoters - detractors) * 100 / n, n=n, margin=Z_95 * math.sqrt(variance / n) * 100
    )


def proportion(*, hits: int, n: int) -> Score:
    """A share in percent with the normal-approximation 95 % margin."""
    if n == 0:
        return EMPTY
    p = hits / n
    return Score(value=hits * 100 / n, n=n, margin=Z_95 * math.sqrt(p * (1 - p) / n) * 100)


def csat(*, top2: int, n: int) -> Score:
    """CSAT = share of answers that are 4 or 5 on the 1–5 scale, in percent."""
    return proportion(hits=top2, n=n)


def sample_variance(*, n: int, total: float, sumsq: float) -> float | None:
    """Sample variance from n, Σx and Σx² (None below two values)."""
    if n < 2:
        return None
    # Rounding can push an all-equal sample a hair below zero.
    return max((sumsq - total * total / n) / (n - 1), 0.0)


def mean(*, n: int, total: float, sumsq: float) -> Score:
    """Mean with margin 1.96·sd/√n (no margin for a single answer)."""
    if n == 0:
        return EMPTY
    variance = sample_variance(n=n, total=total, sumsq=sumsq)
    margin = None if variance is None else Z_95 * math.sqrt(variance) / math.sqrt(n)
    return Score(value=total / n, n=n, margin=margin)


def csat_mean(*, n: int, total: float, sumsq: float) -> Score:
    """Mean CSAT on its 1–5 scale."""
    return mean(n=n, total=total, sumsq=sumsq)


def ces(*, n: int, total: float, sumsq: float) -> Score:
    """CES is the mean agreement; callers never pool a 1–5 with a 1–7 scale."""
    return mean(n=n, total=total, sumsq=sumsq)


def rating_mean(*, n: int, total: float, sumsq: float) -> Score:
    """Mean star rating on one scale."""
    return mean(n=n, total=total, sumsq=sumsq)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    if not denominator:
        return None
    return numerator / denominator


def response_rate(*, responses: int, sent: int) -> float | None:
    """Responses / invitations sent, in percent."""
    r = ratio(responses, sent)
    return None if r is None else r * 100


def churn_rate(*, lost: int, at_start: int) -> float | None:
    """Customers lost in the period / customers at its start, in percent."""
    r = ratio(lost, at_start)
    return None if r is None else r * 100


def customer_retention_rate(*, at_end: int, new: int, at_start: int) -> float | None:
    """CRR = (customers at end − new customers) / customers at start, in percent."""
    r = ratio(at_end - new, at_start)
    return None if r is None else r * 100


def customer_lifetime_value(
    *,
    mean_order_value: float | None,
    purchases_per_period: float | None,
    retention_periods: float | None,
    profit_margin: float,
) -> float | None:
    """CLV = mean order value × purchases per period × mean retention (periods) × margin."""
    if mean_order_value is None or purchases_per_period is None or retention_periods is None:
        return None
    return mean_order_value * purchases_per_period * retention_periods * profit_margin


def retention_periods(*, churn_percent: float | None) -> float | None:
    """Expected customer lifetime in periods: 1 / churn rate (None without churn)."""
    if not churn_percent:
        return None
    return 100 / churn_percent


def average_handling_time(*, total_seconds: float, requests: int) -> float | None:
    """AHT = total handling time / number of requests, in seconds."""
    return ratio(total_seconds, requests)


def first_contact_resolution(*, resolved: int, requests: int) -> float | None:
    """FCR = requests solved at first contact / all requests, in percent."""
    r = ratio(resolved, requests)
    return None if r is None else r * 100


def referral_rate(*, referred: int, purchases: int) -> float | None:
    """Referred purchases / all purchases in the period, in percent."""
    r = ratio(referred, purchases)
    return None if r is None else r * 100


def trial_to_paid(*, conversions: int, trials_ended: int) -> float | None:
    """Conversions in the period / trials ended in the period, in percent."""
    r = ratio(conversions, trials_ended)
    return None if r is None else r * 100


def combined_margin(a: Score, b: Score) -> float | None:
    """Margin of the difference of two independent scores: √(m₁² + m₂²)."""
    if a.margin is None or b.margin is None:
        return None
    return math.sqrt(a.margin**2 + b.margin**2)


MIN_COMPARABLE_N = 2


def has_real_margin(score: Score) -> bool:
    """A shown score whose margin of error means something: a value, not withheld, at least two
    answers (one answer's NPS or share has a margin of 0, which is no certainty) and a margin."""
    return (
        score.value is not None
        and not score.suppressed
        and score.n >= MIN_COMPARABLE_N
        and score.margin is not None
    )


def change_is_significant(current: Score, previous: Score) -> bool:
    """True only when both periods are shown with a real margin (`has_real_margin`) and the
    change exceeds their combined margin of error."""
    if not (has_real_margin(current) and has_real_margin(previous)):
        return False
    margin = combined_margin(current, previous)
    if margin is None or current.value is None or previous.value is None:
        return False
    return abs(current.value - previous.value) > margin
