"""Limit bids under the close; a take-profit offer, then a time stop: answers with orders.

A strategy that answers with orders instead of target weights. While flat, bid ``dip`` under
the close for ``quantity`` units, good for ``bid_minutes`` minutes (a ``GTD`` limit order),
and bid again once it expires. When the bid has filled, offer the position ``take_profit``
above the fill price for ``hold_minutes`` minutes (a reduce-only ``GTD`` limit); if the offer
has not filled by then, sell at market on the next bar (once the venue has expired the offer:
a reduce-only order may not oversell the position).
"""

from __future__ import annotations

from jules_signal.sdk import Bar, Features, Field, Fill, OrderSide, Params, Strategy

MINUTE = 60_000_000_000


class LimitDipParams(Params):
    """Parameters of ``LimitDip``."""

    quantity: float = Field(default=0.5, gt=0, description="Units bid for per entry.")
    dip: float = Field(default=0.002, gt=0, lt=1, description="Bid this fraction under the close.")
    bid_minutes: int = Field(default=5, ge=1, le=10_000, description="Minutes a bid works.")
    take_profit: float = Field(
        default=0.003, gt=0, le=1, description="Offer this fraction above the entry's fill price."
    )
    hold_minutes: int = Field(
        default=60, ge=1, le=100_000, description="Minutes the offer works before a market exit."
    )


class LimitDip(Strategy[LimitDipParams]):
    """Limit bids under the close; a take-profit offer, then a market exit at its expiry.

    ``bid_until`` and ``offer_until`` hold, per instrument, when the working bid and offer
    expire (UTC ns).
    """

    bid_until: dict[str, int]
    offer_until: dict[str, int]

    def on_start(self) -> None:
        """No bid, no offer."""
        self.bid_until, self.offer_until = {}, {}

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Bid while flat and no bid works; sell at market once the offer has expired."""
        instrument, params = bar.instrument_id, self.params
        if self.holding(instrument) > 1e-12:
            expiry = self.offer_until.get(instrument) or self.bid_until.get(instrument, 0)
            if self.time > expiry:  # the offer (or a partly filled bid) expired before this bar
                self.order(instrument, -self.holding(instrument), reduce_only=True)
        elif self.time >= self.bid_until.get(instrument, 0):
            expiry = self.time + params.bid_minutes * MINUTE
            price = round(bar.close * (1 - params.dip), 2)
            self.order(
                instrument,
                params.quantity,
                limit_price=price,
                time_in_force="GTD",
                expire_time=expiry,
            )
            self.bid_until[instrument] = expiry

    def on_fill(self, fill: Fill) -> None:
        """Offer a filled bid's units at the take-profit; forget the position once flat."""
        instrument, held = fill.instrument_id, self.holding(fill.instrument_id)
        if held <= 1e-12:
            self.offer_until.pop(instrument, None)
            self.bid_until.pop(instrument, None)
        elif fill.side is OrderSide.BUY and fill.leaves_quantity == 0 and self.is_mine(fill):
            expiry = self.time + self.params.hold_minutes * MINUTE
            price = round(fill.average_price * (1 + self.params.take_profit), 2)
            self.order(
                instrument,
                -held,
                limit_price=price,
                time_in_force="GTD",
                expire_time=expiry,
                reduce_only=True,
            )
            self.offer_until[instrument] = expiry
