"""The strategy of docs/strategies.md ("Your first strategy"): buy the dip under the VWAP.

Long when the close is more than ``dip_bps`` under the session VWAP and the RSI says the
market is oversold; back to flat once the close is above the VWAP again.
"""

from __future__ import annotations

from jules_signal.sdk import Bar, Features, Field, Params, Strategy


class DipParams(Params):
    """What the strategy takes (validated when the backtest starts)."""

    dip_bps: float = Field(default=30.0, gt=0, description="How far under the VWAP, in bps.")
    rsi_period: int = Field(default=14, ge=2, description="Period of the RSI.")
    oversold: float = Field(default=35.0, gt=0, lt=100, description="RSI level of a dip.")


class BuyTheDip(Strategy[DipParams]):
    """Long on a dip under the VWAP with an oversold RSI, flat above the VWAP."""

    def features(self) -> list[str]:
        """The features service computes these for every bar."""
        return ["vwap", f"rsi_{self.params.rsi_period}"]

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Decide on one bar of one instrument."""
        vwap, rsi = features["vwap"], features[f"rsi_{self.params.rsi_period}"]
        if vwap is None or rsi is None:
            return  # still warming up
        under = (vwap - bar.close) / vwap * 10_000
        if under > self.params.dip_bps and rsi < self.params.oversold:
            self.target(bar.instrument_id, 1.0)
        elif bar.close > vwap:
            self.target(bar.instrument_id, 0.0)
