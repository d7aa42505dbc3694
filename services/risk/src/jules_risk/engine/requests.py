"""Orders a strategy answers with instead of a target (``SignalGenerated.order``).

Such an order is not sized: risk turns it into the ``SubmitOrder`` it asks for, with the id
risk gives the order of any signal (``client_order_id(strategy_id, signal id)``), and decides on
it with every pre-trade control, as it does on a sized one.
"""

from __future__ import annotations

from jules_contracts import SignalGenerated, SubmitOrder
from jules_contracts.ids import client_order_id

__all__ = ["requested_order"]


def requested_order(signal: SignalGenerated, account_id: str, source: str) -> SubmitOrder:
    """The order intent a signal with an ``order`` asks for.

    Raises:
        ValueError: The signal carries no order.
    """
    request = signal.order
    if request is None:
        raise ValueError(f"signal {signal.event_id} asks for a target, not an order")
    return SubmitOrder.derive(
        signal,
        source=source,
        client_order_id=client_order_id(signal.strategy_id, signal.event_id),
        account_id=account_id,
        instrument_id=signal.instrument_id,
        side=request.side,
        quantity=request.quantity,
        order_type=request.order_type,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        time_in_force=request.time_in_force,
        expire_time=request.expire_time,
        reduce_only=request.reduce_only,
        strategy_id=signal.strategy_id,
        reference_price=signal.reference_price,
    )
