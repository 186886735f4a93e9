"""Score formulas over counts and sums, shared by the apps that show scores.

Every score is computed from additive inputs (n, sum, sum of squares, category counts) so the
same function serves raw SQL aggregates and daily rollups, and a variance never needs StdDev.
metrics.definitions builds the platform's other metrics on these.
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
