"""The account: cash, positions, realised and unrealised PnL, fees, equity.

Accounting (linear instruments, everything in the account currency; ``m`` is the instrument's
contract multiplier from its ``InstrumentSpec``, 1 for an instrument without one):

* A buy of ``q`` at ``p`` with fee ``f`` changes cash by ``-q·p·m - f``; a sell by
  ``+q·p·m - f``. Positions are fully funded (no margin is modelled): a future's notional
  moves through cash like a spot purchase, which leaves equity and PnL as a margined account
  would have them.
* A fill in the direction of the position (or opening one) moves the average price to the
  size-weighted average. A fill against it realises ``closed * (p - average) * sign * m`` on
  the closed quantity; if it is larger than the position, the position reverses and the rest
  opens at ``p`` (long 10 @ 100, sell 15 @ 110: realised +100, then short 5 @ 110).
* Realised PnL is before fees; fees are reported apart, so
  ``equity - starting cash = realised + unrealised - fees``.
* Positions are marked at the latest market price (bar close, quote or book mid, trade
  price), or at the last fill price until a market price is known. Unrealised PnL is
  ``quantity * (mark - average) * m``; equity is ``cash + Σ quantity * mark * m``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jules_contracts.base import Event
from jules_contracts.enums import OrderSide
from jules_contracts.portfolio import PortfolioSnapshot, Position

__all__ = ["Portfolio", "PositionState"]

_SOURCE = "order-router"
_DUST = 1e-9
"""Relative size below which a remaining position is float dust and counts as flat."""


@dataclass
class PositionState:
    """The mutable position in one instrument."""

    instrument_id: str
    quantity: float = 0.0
    average_price: float = 0.0
    realized_pnl: float = 0.0
    mark: float | None = None
    mark_time: int | None = None
    traded: bool = False
    multiplier: float | None = None
    """The contract multiplier, ``None`` for an instrument without a spec (1)."""

    def value(self, quantity: float, price: float) -> float:
        """``quantity * price``, times the multiplier when the instrument has one."""
        if self.multiplier is None:
            return quantity * price
        return quantity * price * self.multiplier

    @property
    def market_value(self) -> float:
        """Signed value at the mark."""
        return self.value(self.quantity, self.mark if self.mark is not None else self.average_price)

    @property
    def unrealized_pnl(self) -> float:
        """``quantity * (mark - average price) * multiplier``."""
        if self.quantity == 0 or self.mark is None:
            return 0.0
        return self.value(self.quantity, self.mark - self.average_price)

    def to_contract(self) -> Position:
        """The position as a ``Position`` contract."""
        return Position(
            instrument_id=self.instrument_id,
            quantity=self.quantity,
            average_price=self.average_price,
            realized_pnl=self.realized_pnl,
            unrealized_pnl=self.unrealized_pnl,
            last_price=self.mark,
        )


class Portfolio:
    """Cash and positions of one account.

    Args:
        account_id: The account.
        currency: The account currency.
        starting_cash: Cash at the start.
        multipliers: Contract multipliers of the instruments that have one (others: 1).
    """

    def __init__(
        self,
        account_id: str,
        currency: str,
        starting_cash: float,
        multipliers: Mapping[str, float] | None = None,
    ) -> None:
        self.account_id = account_id
        self.currency = currency
        self.starting_cash = starting_cash
        self._cash = starting_cash
        self._fees = 0.0
        self._positions: dict[str, PositionState] = {}
        self._multipliers = dict(multipliers or {})

    def _state(self, instrument_id: str) -> PositionState:
        state = self._positions.get(instrument_id)
        if state is None:
            state = PositionState(instrument_id, multiplier=self._multipliers.get(instrument_id))
            self._positions[instrument_id] = state
        return state

    @property
    def cash(self) -> float:
        """Cash balance (negative when borrowing)."""
        return self._cash

    @property
    def fees_paid(self) -> float:
        """Fees paid so far (rebates reduce them)."""
        return self._fees

    @property
    def realized_pnl(self) -> float:
        """Realised PnL of all instruments, before fees."""
        return sum(p.realized_pnl for p in self._positions.values())

    @property
    def unrealized_pnl(self) -> float:
        """Unrealised PnL of the open positions."""
        return sum(p.unrealized_pnl for p in self._positions.values())

    @property
    def equity(self) -> float:
        """Cash plus the marked value of every position."""
        return self._cash + sum(p.market_value for p in self._positions.values())

    def equity_at(self, instrument_id: str, price: float) -> float:
        """Equity with ``instrument_id`` marked at ``price`` (the others at their marks)."""
        total = self._cash
        for key, state in self._positions.items():
            held = state.value(state.quantity, price) if key == instrument_id else None
            total += state.market_value if held is None else held
        return total

    @property
    def positions(self) -> tuple[Position, ...]:
        """Every position ever traded, flat ones included, by instrument id."""
        return tuple(p.to_contract() for p in self._traded())

    def _traded(self) -> list[PositionState]:
        return [self._positions[k] for k in sorted(self._positions) if self._positions[k].traded]

    def quantity(self, instrument_id: str) -> float:
        """The signed position in an instrument (0 if none)."""
        state = self._positions.get(instrument_id)
        return state.quantity if state is not None else 0.0

    def position(self, instrument_id: str) -> Position | None:
        """The position in an instrument, or ``None`` if it was never traded."""
        state = self._positions.get(instrument_id)
        return state.to_contract() if state is not None and state.traded else None

    def apply_fill(
        self, instrument_id: str, side: OrderSide, quantity: float, price: float, fee: float
    ) -> None:
        """Book a fill: cash, fees, position, average price and realised PnL.

        Args:
            instrument_id: What filled.
            side: Buy or sell.
            quantity: Filled quantity (positive).
            price: Fill price.
            fee: Fee charged (negative: rebate).
        """
        state = self._state(instrument_id)
        signed = quantity if side is OrderSide.BUY else -quantity
        self._cash -= state.value(signed, price) + fee
        self._fees += fee
        held = state.quantity
        if held == 0:
            state.quantity, state.average_price = signed, price
        elif (held > 0) == (signed > 0):
            total = abs(held) + quantity
            state.average_price = (abs(held) * state.average_price + quantity * price) / total
            state.quantity = held + signed
        else:
            closed = min(quantity, abs(held))
            closed_pnl = state.value(closed, price - state.average_price)
            state.realized_pnl += closed_pnl * (1 if held > 0 else -1)
            remaining = held + signed
            if abs(remaining) <= _DUST * max(abs(held), quantity):
                state.quantity, state.average_price = 0.0, 0.0
            else:
                state.quantity = remaining
                if (remaining > 0) != (held > 0):
                    state.average_price = price
        state.traded = True
        if state.mark_time is None:  # no market price yet: the last fill price marks it
            state.mark = price

    def mark(self, instrument_id: str, price: float, event_time: int) -> None:
        """Mark an instrument at a market price; a price older than the current mark is ignored.

        Args:
            instrument_id: The instrument.
            price: The market price.
            event_time: When the price was observed.
        """
        state = self._state(instrument_id)
        if state.mark_time is not None and event_time < state.mark_time:
            return
        state.mark, state.mark_time = price, event_time

    def snapshot(self, event_time: int, cause: Event) -> PortfolioSnapshot:
        """The account as a ``PortfolioSnapshot`` at ``event_time``.

        Its id is ``derive(cause, key=f"{account_id}@{event_time}")``: deterministic, and
        distinct for snapshots of several accounts or times caused by one event.

        Args:
            event_time: The snapshot's event time.
            cause: The event that prompted it (usually the last market event processed).
        """
        traded = self._traded()
        values = [p.market_value for p in traded]
        return PortfolioSnapshot.derive(
            cause,
            key=f"{self.account_id}@{event_time}",
            source=_SOURCE,
            event_time=event_time,
            account_id=self.account_id,
            currency=self.currency,
            cash=self._cash,
            equity=self.equity,
            positions=tuple(p.to_contract() for p in traded),
            realized_pnl=self.realized_pnl,
            unrealized_pnl=self.unrealized_pnl,
            fees_paid=self._fees,
            gross_exposure=sum(abs(v) for v in values),
            net_exposure=sum(values),
        )
