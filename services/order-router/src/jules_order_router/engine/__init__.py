"""The order-router engine: pure, synchronous and deterministic.

``OrderRouterEngine`` takes risk decisions, cancel commands and market events and returns
order events and portfolio snapshots. ``RouterConfig`` configures the account and the simulated
venue (``VenueConfig``: fill model, fees, latency, participation cap, listed instruments).
"""

from jules_order_router.engine.config import (
    BarCloseSlippage,
    FeeSchedule,
    FillModel,
    KyleLambda,
    L1Quote,
    L2Book,
    NextBarOpen,
    RouterConfig,
    VenueConfig,
)
from jules_order_router.engine.engine import SOURCE, OrderRouterEngine
from jules_order_router.engine.liquidity import MarketEvent
from jules_order_router.engine.orders import (
    InvalidTransitionError,
    OrderEventKind,
    OrderSnapshot,
    OrderStateMachine,
    OrderStatus,
)
from jules_order_router.engine.portfolio import Portfolio
from jules_order_router.engine.reasons import CancelReason, RejectReason

__all__ = [
    "SOURCE",
    "BarCloseSlippage",
    "CancelReason",
    "FeeSchedule",
    "FillModel",
    "InvalidTransitionError",
    "KyleLambda",
    "L1Quote",
    "L2Book",
    "MarketEvent",
    "NextBarOpen",
    "OrderEventKind",
    "OrderRouterEngine",
    "OrderSnapshot",
    "OrderStateMachine",
    "OrderStatus",
    "Portfolio",
    "RejectReason",
    "RouterConfig",
    "VenueConfig",
]
