"""Metric formulas as pure functions over counts and sums (see DESIGN.md, "Metrics").

Every score is computed from additive inputs (n, sum, sum of squares, category counts) so the
same function serves raw SQL aggregates and daily rollups, and a variance never needs StdDev.
NPS, CSAT, means and their margins live in xmplatform.core.scores (surveys' exports use them
too) and are part of this module's names.
"""

import math

# NPS, CSAT and means are named here too: metrics' code reads them all as `definitions.*`.
from xmplatform.core.scores import (  # noqa: F401
    CSAT_TOP2_MIN,
    EMPTY,
    PASSIVE_MIN,
    PROMOTER_MIN,
    Z_95,
    Score,
    csat,
    mean,
    nps,
    proportion,
    sample_variance,
)


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


def share(*, hits: int, n: int) -> Score:
    """A rate of events in percent with its binomial 95 % margin (`proportion`); a count of
    events that can exceed its denominator (churned customers who joined in the period,
    referrals against purchases) has its value but no binomial margin then."""
    if n <= 0:
        return EMPTY
    if 0 <= hits <= n:
        return proportion(hits=hits, n=n)
    return Score(value=hits * 100 / n, n=n, margin=None)


def ratio_of_sums(
    *, clusters: int, x: float, y: float, xx: float, yy: float, xy: float, n: int
) -> Score:
    """Σx / Σy over `clusters` rows (e.g. handling seconds per request, summed per person and
    day) with the ratio estimator's 95 % margin:

        R = Σx / Σy,  s² = (Σx² − 2R·Σxy + R²·Σy²) / (m − 1),  margin = 1.96 · √(s² / m) / ȳ

    where m is the number of rows and ȳ = Σy / m (delta method; no margin below two rows).
    `n` is what the figure counts (requests).
    """
    if not y:
        return EMPTY
    value = x / y
    if clusters < 2:
        return Score(value=value, n=n, margin=None)
    s2 = max((xx - 2 * value * xy + value * value * yy) / (clusters - 1), 0.0)
    mean_y = y / clusters
    return Score(value=value, n=n, margin=Z_95 * math.sqrt(s2 / clusters) / mean_y)
