"""Sizing functions, checked against hand computations."""

from __future__ import annotations

import math
import statistics

import pytest
from jules_risk.engine import SizingConfig, SizingUnavailableError, target_quantity
from jules_risk.engine.sizing import (
    all_equity_quantity,
    annualised_volatility,
    atr_risk_quantity,
    round_toward_zero,
)


def test_all_equity_buys_whole_units_floor_of_equity_over_price():
    config = SizingConfig(kind="all_equity")

    # 10,000 / 333 = 30.03 -> 30 whole units, whatever the size of the weight.
    assert target_quantity(config, 1.0, 10_000.0, 333.0) == 30.0
    assert target_quantity(config, 0.2, 10_000.0, 333.0) == 30.0
    assert target_quantity(config, -0.7, 10_000.0, 333.0) == -30.0


def test_all_equity_when_price_divides_equity_exactly():
    assert all_equity_quantity(1.0, 10_000.0, 250.0) == 40.0
    assert all_equity_quantity(1.0, 10_000.0, 10_001.0) == 0.0


def test_all_equity_in_lots():
    config = SizingConfig(kind="all_equity", lot_size=0.01)

    # 1,000 / 30,000 = 0.0333... -> 0.03
    assert target_quantity(config, 1.0, 1_000.0, 30_000.0) == 0.03


def test_fixed_fraction_scales_with_weight_and_fraction():
    config = SizingConfig(kind="fixed_fraction", fraction=0.5)

    # 0.5 (weight) * 0.5 (fraction) * 10,000 / 100 = 25
    assert target_quantity(config, 0.5, 10_000.0, 100.0) == 25.0
    assert target_quantity(config, -1.0, 10_000.0, 100.0) == -50.0


def test_fixed_fraction_whole_units_round_toward_zero():
    config = SizingConfig(kind="fixed_fraction", whole_units=True)

    # 10,000 / 300 = 33.3 -> 33; short -33.3 -> -33
    assert target_quantity(config, 1.0, 10_000.0, 300.0) == 33.0
    assert target_quantity(config, -1.0, 10_000.0, 300.0) == -33.0


def test_atr_risk_risks_the_fraction_over_the_atr_stop_distance():
    config = SizingConfig(kind="atr_risk", risk_fraction=0.01, atr_multiple=2.0)

    # 1 % of 100,000 = 1,000 at risk; stop 2 * 2.5 = 5 away -> 200 units (20,000 notional).
    assert target_quantity(config, 1.0, 100_000.0, 100.0, atr=2.5) == pytest.approx(200.0)
    assert atr_risk_quantity(-0.5, 100_000.0, 2.5, 0.01, 2.0) == pytest.approx(-100.0)


def test_atr_risk_is_capped_by_max_leverage():
    config = SizingConfig(kind="atr_risk", risk_fraction=0.01, atr_multiple=1.0, max_leverage=2.0)

    # uncapped 1,000 / 0.01 = 100,000 units; cap 2 * 100,000 / 100 = 2,000 units
    assert target_quantity(config, 1.0, 100_000.0, 100.0, atr=0.01) == pytest.approx(2_000.0)


def test_atr_risk_without_atr_is_unavailable():
    config = SizingConfig(kind="atr_risk")

    with pytest.raises(SizingUnavailableError, match="ATR"):
        target_quantity(config, 1.0, 100_000.0, 100.0)


def test_volatility_target_against_hand_computation():
    returns = [0.01, -0.01] * 10
    config = SizingConfig(
        kind="volatility_target",
        target_volatility=0.1,
        volatility_lookback=20,
        periods_per_year=252.0,
        max_leverage=3.0,
    )
    volatility = statistics.stdev(returns) * math.sqrt(252)  # sqrt(20 * 1e-4 / 19 * 252)
    expected = 0.8 * (0.1 / volatility) * 50_000.0 / 20.0

    quantity = target_quantity(config, 0.8, 50_000.0, 20.0, returns=returns)

    assert volatility == pytest.approx(math.sqrt(20 * 1e-4 / 19 * 252))
    assert quantity == pytest.approx(expected, rel=1e-12)


def test_volatility_target_leverage_is_capped():
    returns = [0.0001, -0.0001] * 10
    config = SizingConfig(kind="volatility_target", volatility_lookback=20, max_leverage=1.5)

    # tiny volatility would ask for huge leverage; the cap gives 1.5 * 10,000 / 100 = 150
    assert target_quantity(config, 1.0, 10_000.0, 100.0, returns=returns) == pytest.approx(150.0)


def test_volatility_target_needs_the_lookback():
    config = SizingConfig(kind="volatility_target", volatility_lookback=20)

    with pytest.raises(SizingUnavailableError, match="20 returns, got 19"):
        target_quantity(config, 1.0, 10_000.0, 100.0, returns=[0.01] * 19)


def test_flat_target_needs_no_price_atr_or_volatility():
    for kind in ("fixed_fraction", "all_equity", "atr_risk", "volatility_target"):
        assert target_quantity(SizingConfig(kind=kind), 0.0, 10_000.0, None) == 0.0


def test_sizing_without_price_or_with_non_positive_equity_is_unavailable():
    config = SizingConfig()

    with pytest.raises(SizingUnavailableError, match="price"):
        target_quantity(config, 1.0, 10_000.0, None)
    with pytest.raises(SizingUnavailableError, match="equity"):
        target_quantity(config, 1.0, -5.0, 100.0)


def test_round_toward_zero_is_robust_to_binary_fractions():
    assert round_toward_zero(0.3, 0.1) == 0.3
    assert round_toward_zero(-2.7, 1.0) == -2.0
    assert round_toward_zero(0.09, 0.1) == 0.0
    assert round_toward_zero(1.2345, None) == 1.2345


def test_annualised_volatility_matches_statistics_module():
    returns = [0.004, -0.002, 0.01, -0.007, 0.001]

    assert annualised_volatility(returns, 365.0) == pytest.approx(
        statistics.stdev(returns) * math.sqrt(365.0), rel=1e-12
    )
