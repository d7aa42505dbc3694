"""Portfolio state published by the order-router (``portfolio.v1``)."""

from __future__ import annotations

from typing import Literal

from jules_contracts.base import (
    Contract,
    Event,
    FiniteFloat,
    Identifier,
    InstrumentId,
    NonNegativeFloat,
    PositiveFloat,
)

__all__ = ["PortfolioSnapshot", "Position"]


class Position(Contract):
    """A position in one instrument.

    Attributes:
        instrument_id: Which instrument.
        quantity: Signed quantity (negative is short; zero is flat).
        average_price: Average entry price of the open quantity (0 when flat).
        realized_pnl: Realised profit and loss in the account currency.
        unrealized_pnl: Mark-to-market profit and loss of the open quantity.
        last_price: The price the position is marked at.
    """

    instrument_id: InstrumentId
    quantity: FiniteFloat
    average_price: NonNegativeFloat = 0.0
    realized_pnl: FiniteFloat = 0.0
    unrealized_pnl: FiniteFloat = 0.0
    last_price: PositiveFloat | None = None


class PortfolioSnapshot(Event):
    """The account's cash, positions and PnL at one event time.

    Attributes:
        account_id: Which account.
        currency: The account currency.
        cash: Cash balance (negative when borrowing).
        equity: Cash plus the marked value of positions.
        positions: Every position, flat ones included until the end of the session.
        realized_pnl: Realised PnL of the session.
        unrealized_pnl: Unrealised PnL of the open positions.
        fees_paid: Fees paid in the session (rebates reduce it).
        gross_exposure: Sum of absolute position values.
        net_exposure: Signed sum of position values.
    """

    event_type: Literal["portfolio.snapshot"] = "portfolio.snapshot"
    account_id: Identifier
    currency: Identifier = "USD"
    cash: FiniteFloat
    equity: FiniteFloat
    positions: tuple[Position, ...] = ()
    realized_pnl: FiniteFloat = 0.0
    unrealized_pnl: FiniteFloat = 0.0
    fees_paid: FiniteFloat = 0.0
    gross_exposure: NonNegativeFloat = 0.0
    net_exposure: FiniteFloat = 0.0
