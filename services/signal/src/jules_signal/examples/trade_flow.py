"""Trade flow: follow the aggressors, from the trade prints of a recent window.

A trade-driven strategy (``on_trade``): it reads no bar and no feature.
"""

from __future__ import annotations

from collections import deque

from jules_contracts import AggressorSide

from jules_signal.examples._scores import ScoreParams, ScoreStrategy
from jules_signal.sdk import Field, Trade


class TradeFlowParams(ScoreParams):
    """Parameters of ``TradeFlow``."""

    window_s: float = Field(
        default=10.0, gt=0, le=86_400, description="Event seconds of trades in the score."
    )
    min_trades: int = Field(default=20, ge=1, description="Trades in the window before deciding.")


class TradeFlow(ScoreStrategy[TradeFlowParams]):
    """Net aggressive volume over the window, as a fraction of the volume, as the score.

    Buyer-initiated trades add their size, seller-initiated ones subtract it (trades whose
    aggressor the venue does not say are left out).
    """

    flows: dict[str, deque[tuple[int, float]]]

    def on_start(self) -> None:
        """No trades yet."""
        super().on_start()
        self.flows = {}

    def on_trade(self, trade: Trade) -> None:
        """Add the trade to its window, drop the trades that left it, and decide."""
        if trade.aggressor_side is AggressorSide.NONE:
            return
        signed = trade.size if trade.aggressor_side is AggressorSide.BUYER else -trade.size
        flow = self.flows.setdefault(trade.instrument_id, deque())
        flow.append((trade.event_time, signed))
        horizon = trade.event_time - self.params.window_s * 1e9
        while flow[0][0] < horizon:
            flow.popleft()
        if len(flow) >= self.params.min_trades:
            volume = sum(abs(size) for _, size in flow)
            self.decide(trade.instrument_id, sum(size for _, size in flow) / volume)
