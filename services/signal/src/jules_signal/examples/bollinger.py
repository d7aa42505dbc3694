"""Bollinger-band mean reversion.

Buy below the lower band, sell above the upper one, and get out when the price comes back to
the middle band.
"""

from __future__ import annotations

from jules_signal.sdk import Bar, Features, Field, Params, Strategy


class BollingerParams(Params):
    """Parameters of ``BollingerReversion``."""

    period: int = Field(default=20, ge=2, le=10_000, description="Bars of the moving average.")
    width: int = Field(default=2, ge=1, le=5, description="Band width, in standard deviations.")
    short: bool = Field(default=True, description="Also sell short above the upper band.")
    weight: float = Field(default=1.0, gt=0, le=1, description="Target weight of a position.")


class BollingerReversion(Strategy[BollingerParams]):
    """Long below the lower band, short (or flat) above the upper band, flat at the middle.

    A position is closed when the close crosses back to the middle band.
    """

    def _names(self) -> tuple[str, str, str]:
        suffix = f"{self.params.period}_{self.params.width}"
        return f"bb_lower_{suffix}", f"bb_middle_{suffix}", f"bb_upper_{suffix}"

    def features(self) -> list[str]:
        """The three bands."""
        return list(self._names())

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Enter outside the bands, exit at the middle band."""
        lower, middle, upper = (features[name] for name in self._names())
        if lower is None or middle is None or upper is None:
            return  # warming up
        held = self.position(bar.instrument_id)
        if bar.close < lower:
            self.target(bar.instrument_id, self.params.weight)
        elif bar.close > upper:
            self.target(bar.instrument_id, -self.params.weight if self.params.short else 0.0)
        elif (held > 0 and bar.close >= middle) or (held < 0 and bar.close <= middle):
            self.target(bar.instrument_id, 0.0)
