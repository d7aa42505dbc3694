"""Risk measures against hand computations and independent numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from jules_risk.engine.metrics import (
    adv_participation,
    concentration,
    drawdown_series,
    drawdown_velocity,
    expected_shortfall,
    historical_var,
    kyle_lambda,
    max_drawdown,
    parametric_es,
    parametric_var,
    tail_count,
    turnover,
    ulcer_index,
)

SAMPLE = np.arange(-50.0, 50.0)  # profits -50 .. 49, 100 observations
CURVE = [100.0, 120.0, 90.0, 110.0, 130.0, 65.0]


def test_historical_var_and_es_on_a_known_sample():
    # 95 %: the 5 worst losses are 50, 49, 48, 47, 46.
    assert tail_count(100, 0.95) == 5
    assert historical_var(SAMPLE, 0.95) == 46.0
    assert expected_shortfall(SAMPLE, 0.95) == 48.0
    # 99 %: the single worst.
    assert historical_var(SAMPLE, 0.99) == 50.0
    assert expected_shortfall(SAMPLE, 0.99) == 50.0


def test_historical_var_ignores_order_and_matches_a_sorted_numpy_computation():
    rng = np.random.default_rng(7)
    pnl = rng.standard_t(4, size=1_000)
    losses = np.sort(-pnl)[::-1]
    k = math.ceil(1_000 * 0.025)  # 25

    assert historical_var(rng.permutation(pnl), 0.975) == pytest.approx(losses[k - 1])
    assert expected_shortfall(pnl, 0.975) == pytest.approx(losses[:k].mean())
    assert expected_shortfall(pnl, 0.975) >= historical_var(pnl, 0.975)


def test_parametric_var_and_es_for_known_mean_and_deviation():
    pnl = [-2.0, 0.0, 2.0]  # mean 0, sample standard deviation 2
    z99, z975 = 2.3263478740408408, 1.959963984540054
    density = math.exp(-(z975**2) / 2) / math.sqrt(2 * math.pi)

    assert parametric_var(pnl, 0.99) == pytest.approx(2 * z99)
    assert parametric_es(pnl, 0.975) == pytest.approx(2 * density / 0.025)
    assert parametric_var([1.0, 3.0, 5.0], 0.99) == pytest.approx(2 * z99 - 3.0)


def test_drawdown_series_and_max_drawdown_on_a_known_curve():
    expected = [0.0, 0.0, 0.25, 1 - 110 / 120, 0.0, 0.5]

    np.testing.assert_allclose(drawdown_series(CURVE), expected)
    assert max_drawdown(CURVE) == pytest.approx(0.5)


def test_drawdown_velocity_is_drawdown_change_per_observation():
    assert drawdown_velocity(CURVE, 1) == pytest.approx(0.5 - 0.0)
    assert drawdown_velocity(CURVE, 3) == pytest.approx((0.5 - 0.25) / 3)
    assert drawdown_velocity(CURVE[:3], 10) == pytest.approx(0.25 / 2)
    assert drawdown_velocity([100.0], 1) == 0.0


def test_ulcer_index_is_rms_of_percentage_drawdowns():
    squares = [0, 0, 25.0**2, (100 * (1 - 110 / 120)) ** 2, 0, 50.0**2]

    assert ulcer_index(CURVE) == pytest.approx(math.sqrt(sum(squares) / 6))


def test_turnover_concentration_and_adv_participation():
    assert turnover([1_000.0, -500.0], [1_000.0, 1_000.0]) == 1.5
    assert concentration([50.0, -50.0]) == 0.5
    assert concentration([30.0, 70.0]) == pytest.approx(0.09 + 0.49)
    assert concentration([100.0]) == 1.0
    assert concentration([]) == 0.0
    assert adv_participation(-50.0, [100.0, 200.0, 300.0]) == 0.25


def test_kyle_lambda_recovers_a_known_impact_and_matches_polyfit():
    rng = np.random.default_rng(11)
    volume = rng.normal(0, 100, size=500)
    exact = 0.3 + 0.002 * volume
    noisy = exact + rng.normal(0, 0.05, size=500)

    assert kyle_lambda(exact, volume) == pytest.approx(0.002)
    assert kyle_lambda(noisy, volume) == pytest.approx(np.polyfit(volume, noisy, 1)[0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: historical_var([1.0, float("nan")], 0.99), "NaN"),
        (lambda: historical_var([], 0.99), "at least 1"),
        (lambda: expected_shortfall([1.0], 1.0), "confidence"),
        (lambda: drawdown_series([100.0, 0.0]), "positive"),
        (lambda: kyle_lambda([1.0, 2.0], [3.0, 3.0]), "does not vary"),
        (lambda: kyle_lambda([1.0, 2.0, 3.0], [1.0, 2.0]), "3 price changes but 2"),
        (lambda: drawdown_velocity(CURVE, 0), "window"),
    ],
)
def test_bad_inputs_are_refused_with_a_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()
