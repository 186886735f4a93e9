"""Every formula against hand-worked examples (DESIGN.md's definitions from the seeds)."""

import pytest

from metrics import definitions as d


def test_nps_of_no_answers_is_empty() -> None:
    assert d.nps(promoters=0, passives=0, detractors=0) == d.Score(value=None, n=0, margin=None)


def test_nps_all_promoters_is_100_with_no_margin() -> None:
    assert d.nps(promoters=12, passives=0, detractors=0) == d.Score(value=100.0, n=12, margin=0.0)


def test_nps_all_detractors_is_minus_100() -> None:
    assert d.nps(promoters=0, passives=0, detractors=3) == d.Score(value=-100.0, n=3, margin=0.0)


def test_nps_of_one_passive_is_zero() -> None:
    assert d.nps(promoters=0, passives=1, detractors=0) == d.Score(value=0.0, n=1, margin=0.0)


def test_nps_hand_worked_50_30_20() -> None:
    # P = .5, D = .2: NPS = 30; margin 1.96 * sqrt((.5 + .2 - .3**2) / 100) * 100
    score = d.nps(promoters=50, passives=30, detractors=20)
    assert score.value == pytest.approx(30.0)
    assert score.n == 100
    assert score.margin == pytest.approx(15.3080, abs=1e-4)


def test_nps_half_promoters_half_detractors_has_the_widest_margin() -> None:
    # P = D = .5: variance 1, margin = 1.96 / sqrt(4) * 100 = 98
    score = d.nps(promoters=2, passives=0, detractors=2)
    assert score.value == pytest.approx(0.0)
    assert score.margin == pytest.approx(98.0)


def test_csat_is_share_of_fours_and_fives() -> None:
    # 7 of 10 in the top two boxes: 70 %, margin 1.96 * sqrt(.7 * .3 / 10) * 100
    score = d.csat(top2=7, n=10)
    assert score.value == pytest.approx(70.0)
    assert score.margin == pytest.approx(28.4031, abs=1e-4)
    assert d.csat(top2=0, n=0) == d.EMPTY


def test_mean_from_sums_matches_the_sample_standard_deviation() -> None:
    # answers 1..5: mean 3, variance (55 - 15**2 / 5) / 4 = 2.5, margin 1.96 * sqrt(2.5) / sqrt(5)
    score = d.mean(n=5, total=15, sumsq=55)
    assert score.value == pytest.approx(3.0)
    assert score.margin == pytest.approx(1.3859, abs=1e-4)


def test_mean_of_one_answer_has_no_margin() -> None:
    assert d.ces(n=1, total=4, sumsq=16) == d.Score(value=4.0, n=1, margin=None)
    assert d.rating_mean(n=0, total=0, sumsq=0) == d.EMPTY


def test_mean_of_identical_answers_has_zero_margin() -> None:
    assert d.csat_mean(n=4, total=20, sumsq=100) == d.Score(value=5.0, n=4, margin=0.0)


def test_response_rate() -> None:
    assert d.response_rate(responses=25, sent=100) == pytest.approx(25.0)
    assert d.response_rate(responses=0, sent=0) is None


def test_churn_rate_is_lost_over_start() -> None:
    assert d.churn_rate(lost=5, at_start=100) == pytest.approx(5.0)
    assert d.churn_rate(lost=0, at_start=0) is None


def test_crr_subtracts_new_customers() -> None:
    # (110 at end - 20 new) / 100 at start = 90 %
    assert d.customer_retention_rate(at_end=110, new=20, at_start=100) == pytest.approx(90.0)


def test_clv_multiplies_value_frequency_lifetime_and_margin() -> None:
    # 50 per order × 2 orders per period × 5 periods (20 % churn) × 20 % margin = 100
    lifetime = d.retention_periods(churn_percent=20.0)
    assert lifetime == pytest.approx(5.0)
    clv = d.customer_lifetime_value(
        mean_order_value=50.0,
        purchases_per_period=2.0,
        retention_periods=lifetime,
        profit_margin=0.2,
    )
    assert clv == pytest.approx(100.0)
    assert d.retention_periods(churn_percent=0.0) is None
    assert (
        d.customer_lifetime_value(
            mean_order_value=50.0, purchases_per_period=2.0, retention_periods=None, profit_margin=1
        )
        is None
    )


def test_aht_fcr_referral_and_trial_to_paid() -> None:
    assert d.average_handling_time(total_seconds=3600, requests=12) == pytest.approx(300.0)
    assert d.first_contact_resolution(resolved=45, requests=60) == pytest.approx(75.0)
    assert d.referral_rate(referred=10, purchases=200) == pytest.approx(5.0)
    assert d.trial_to_paid(conversions=30, trials_ended=120) == pytest.approx(25.0)
    assert d.average_handling_time(total_seconds=0, requests=0) is None


def test_change_is_flagged_only_beyond_the_combined_margin() -> None:
    a = d.Score(value=40.0, n=100, margin=3.0)
    b = d.Score(value=35.0, n=100, margin=4.0)  # combined margin sqrt(9 + 16) = 5
    assert d.combined_margin(a, b) == pytest.approx(5.0)
    assert d.change_is_significant(a, b) is False
    c = d.Score(value=30.9, n=100, margin=4.0)
    assert d.change_is_significant(a, c) is True
    assert d.change_is_significant(a, d.Score(value=None, n=0)) is False
    hidden = d.Score(value=None, n=2, suppressed=True)
    assert d.change_is_significant(hidden, b) is False


def test_a_change_needs_a_real_margin_on_both_sides() -> None:
    many = d.Score(value=20.0, n=20, margin=30.0)
    # One answer's NPS has a margin of 0: no certainty, however large the change.
    one = d.nps(promoters=0, passives=1, detractors=0)
    assert (one.value, one.n, one.margin) == (0.0, 1, 0.0)
    assert d.has_real_margin(one) is False
    assert d.change_is_significant(d.Score(value=90.0, n=50, margin=5.0), one) is False
    assert d.change_is_significant(one, d.Score(value=-90.0, n=50, margin=5.0)) is False
    # Two answers or more with a margin: a real margin, even a zero one.
    two = d.nps(promoters=2, passives=0, detractors=0)
    assert d.has_real_margin(two) is True
    assert d.change_is_significant(two, d.Score(value=-90.0, n=50, margin=5.0)) is True
    # No margin (a mean of one answer) or withheld: never.
    assert d.has_real_margin(d.Score(value=4.0, n=2, margin=None)) is False
    assert d.has_real_margin(d.Score(value=None, n=0, suppressed=True)) is False
    assert d.change_is_significant(many, d.Score(value=-90.0, n=9, suppressed=True)) is False
