"""Quote momentum: trade the trend of the mid price, tick by tick, when the spread is tight.

A quote-driven strategy (``on_quote``): it reads no bar and no feature.
"""

from __future__ import annotations

from jules_signal.examples._scores import ScoreParams, ScoreStrategy
from jules_signal.sdk import Field, Quote


class QuoteMomentumParams(ScoreParams):
    """Parameters of ``QuoteMomentum``."""

    fast: int = Field(default=50, ge=1, le=100_000, description="Quotes of the fast mid EMA.")
    slow: int = Field(default=500, ge=2, le=1_000_000, description="Quotes of the slow mid EMA.")
    scale_spreads: float = Field(
        default=2.0, gt=0, le=1_000, description="EMA gap, in spreads, that scores 1."
    )
    max_spread: float | None = Field(
        default=None, gt=0, description="Ignore quotes whose spread is wider than this."
    )


class QuoteMomentum(ScoreStrategy[QuoteMomentumParams]):
    """The gap between a fast and a slow EMA of the mid, in spreads, as the score.

    The score is ``(fast - slow) / (scale_spreads * spread)``, clipped to [-1, 1]: a trend
    worth more than ``threshold * scale_spreads`` spreads sets a target (``ScoreStrategy``).
    """

    emas: dict[str, tuple[float, float]]

    def on_start(self) -> None:
        """No EMA yet."""
        super().on_start()
        self.emas = {}

    def on_quote(self, quote: Quote) -> None:
        """Update the EMAs of the mid; decide when the spread is tight enough."""
        params = self.params
        mid = (quote.bid_price + quote.ask_price) / 2
        spread = quote.ask_price - quote.bid_price
        fast, slow = self.emas.get(quote.instrument_id, (mid, mid))
        fast += 2 / (params.fast + 1) * (mid - fast)
        slow += 2 / (params.slow + 1) * (mid - slow)
        self.emas[quote.instrument_id] = (fast, slow)
        if spread <= 0 or (params.max_spread is not None and spread > params.max_spread):
            return
        score = max(-1.0, min(1.0, (fast - slow) / (params.scale_spreads * spread)))
        self.decide(quote.instrument_id, score)
