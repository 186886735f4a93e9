"""Relative weights (Johnson 2000) recover known importances, agree with least squares, and
their bootstrap intervals behave: synthetic data with known weights, no database."""

import numpy as np
import pytest

from metrics.drivers import analysis
from metrics.drivers.matrix import Column, Matrix
from metrics.drivers.services import NO_DRIVERS, NO_VARIATION, TOO_FEW, analysis_run

WEIGHTS = np.array([3.0, 2.0, 1.0, 0.5])


def synthetic(n: int, seed: int = 7, noise: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Uncorrelated standard normal drivers and y = Σ b_j x_j + noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, len(WEIGHTS)))
    y = x @ WEIGHTS + noise * rng.standard_normal(n)
    return x, y


def test_relative_weights_recover_known_ranking_and_shares() -> None:
    x, y = synthetic(5000)
    weights = analysis.relative_weights(x, y)
    expected = WEIGHTS**2 / (WEIGHTS**2).sum()
    assert list(np.argsort(-weights.importance)) == [0, 1, 2, 3]
    assert np.allclose(weights.importance, expected, atol=0.05)
    assert weights.importance.sum() == pytest.approx(1.0)
    explained = (WEIGHTS**2).sum() / ((WEIGHTS**2).sum() + 1.5**2)
    assert weights.r2 == pytest.approx(explained, abs=0.02)


def test_relative_weights_agree_with_least_squares_on_standardised_drivers() -> None:
    """A second method: OLS on standardised drivers; for uncorrelated drivers each share is
    the squared standardised beta over their sum, and R² is the same."""
    x, y = synthetic(5000, seed=11)
    zx = (x - x.mean(axis=0)) / x.std(axis=0)
    zy = (y - y.mean()) / y.std()
    beta, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(zy)), zx]), zy, rcond=None)
    fitted = np.column_stack([np.ones(len(zy)), zx]) @ beta
    ols_r2 = 1 - ((zy - fitted) ** 2).sum() / ((zy - zy.mean()) ** 2).sum()
    ols_shares = beta[1:] ** 2 / (beta[1:] ** 2).sum()
    weights = analysis.relative_weights(x, y)
    assert weights.r2 == pytest.approx(ols_r2, abs=1e-9)
    assert np.allclose(weights.importance, ols_shares, atol=0.01)


def test_collinear_options_of_one_choice_question_still_weigh() -> None:
    """The options of a single-choice question sum to one: R is singular, the weights are
    still the least-squares fit's R², shared among the options."""
    rng = np.random.default_rng(3)
    option = rng.integers(0, 3, 3000)
    x = np.eye(3)[option]
    y = x @ np.array([0.0, 1.0, 2.0]) + rng.standard_normal(3000)
    weights = analysis.relative_weights(x, y)
    design = np.column_stack([np.ones(3000), x[:, 1:]])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    ols_r2 = 1 - ((y - design @ beta) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert weights.r2 == pytest.approx(ols_r2, abs=1e-6)
    assert np.isfinite(weights.importance).all()
    assert weights.importance.sum() == pytest.approx(1.0)


def test_bootstrap_interval_holds_the_estimate_and_narrows_with_more_data() -> None:
    widths = []
    for n in (200, 5000):
        x, y = synthetic(n, seed=5)
        point = analysis.relative_weights(x, y).importance
        samples = analysis.bootstrap_shares(x, y, rounds=200, seed=1)
        low, high = analysis.intervals(samples, point)
        # Without the bias correction the 95 % percentiles hold the estimate here too.
        plain_low, plain_high = np.percentile(samples, [2.5, 97.5], axis=0)
        assert ((plain_low <= point) & (point <= plain_high)).all()
        assert ((low <= point + 1e-9) & (point <= high + 1e-9)).all()
        widths.append(high - low)
    assert (widths[1] < widths[0]).all()


def test_interval_of_a_dominant_driver_in_few_rows_holds_its_estimate() -> None:
    """With few rows the resamples' chance correlations pull a dominant share down: the
    bias-corrected interval still brackets the estimate."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((60, 12))
    y = 3 * x[:, 0] + rng.standard_normal(60)
    point = analysis.relative_weights(x, y).importance
    samples = analysis.bootstrap_shares(x, y, rounds=200, seed=2)
    low, high = analysis.intervals(samples, point)
    assert ((low <= point) & (point <= high)).all()
    assert low[0] < point[0] < high[0]
    assert (high - low > 0).all()


def test_bootstrap_is_reproducible_with_its_seed() -> None:
    x, y = synthetic(300)
    first = analysis.bootstrap_shares(x, y, rounds=50, seed=42)
    again = analysis.bootstrap_shares(x, y, rounds=50, seed=42)
    other = analysis.bootstrap_shares(x, y, rounds=50, seed=43)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def columns(count: int) -> list[Column]:
    return [
        Column(driver=f"q{j}", labels={"en": f"Q{j}"}, kind="score", scale=(0, 10))
        for j in range(count)
    ]


def test_run_drops_sparse_and_constant_drivers_and_imputes_the_rest() -> None:
    x, y = synthetic(400)
    x = np.clip(np.round(x * 2 + 5), 0, 10)
    sparse = np.full(400, np.nan)
    sparse[:150] = 5.0  # answered by 37.5 %: left out
    constant = np.full(400, 7.0)
    gappy = x[:, 3].copy()
    gappy[:100] = np.nan  # answered by 75 %: kept, gaps take the mean
    data = np.column_stack([x[:, :3], gappy, sparse, constant])
    found = analysis_run(Matrix(y=y, x=data, columns=columns(6)), seed=1, rounds=50, min_n=30)
    drivers = [r["driver"] for r in found["results"]]
    assert drivers == ["q0", "q1", "q2", "q3"]
    assert sum(r["importance"] for r in found["results"]) == pytest.approx(1.0, abs=1e-5)
    q3 = next(r for r in found["results"] if r["driver"] == "q3")
    assert q3["performance"] == pytest.approx(np.nanmean(gappy) * 10, abs=0.01)


def test_run_gives_reasons_instead_of_guesses() -> None:
    x, y = synthetic(29)
    assert (
        analysis_run(Matrix(y=y, x=x, columns=columns(4)), seed=1, rounds=20, min_n=30)["reason"]
        == TOO_FEW
    )
    flat = np.full(40, 9.0)
    x, _ = synthetic(40)
    assert (
        analysis_run(Matrix(y=flat, x=x, columns=columns(4)), seed=1, rounds=20, min_n=30)["reason"]
        == NO_VARIATION
    )
    x, y = synthetic(40)
    empty = np.full((40, 2), np.nan)
    assert (
        analysis_run(Matrix(y=y, x=empty, columns=columns(2)), seed=1, rounds=20, min_n=30)[
            "reason"
        ]
        == NO_DRIVERS
    )
