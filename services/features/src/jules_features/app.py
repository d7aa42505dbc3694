"""The features service over Kafka: market data in, one feature vector per bar out."""

from __future__ import annotations

from collections.abc import Sequence

from faststream.asgi import AsgiFastStream
from jules_contracts import Bar, BookDelta, BookSnapshot, Event, Quote
from jules_contracts.topics import MD_BARS, MD_BOOK, MD_QUOTES
from jules_runtime.bus import Handler
from jules_runtime.lockstep import Replica
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep

from jules_features.config import FeaturesSettings
from jules_features.engine import FeatureEngine
from jules_features.lockstep import FeaturesDriver

__all__ = ["create_app", "market_data_handler"]


def market_data_handler(engine: FeatureEngine) -> Handler:
    """The handler of ``md.*`` events: bars give a vector; quotes and books update L1/L2 state."""

    async def handle(event: Event) -> Sequence[Event]:
        if isinstance(event, Bar):
            return [engine.on_bar(event)]
        if isinstance(event, Quote):
            engine.on_quote(event)
        elif isinstance(event, BookSnapshot | BookDelta):
            engine.on_book(event)
        return []

    return handle


def create_app(settings: FeaturesSettings) -> AsgiFastStream:
    """Build the features service (consumer group ``jules-features``).

    With ``lockstep.enabled`` the service runs its backtest steps instead
    (``jules_features.lockstep``).
    """
    lockstep = settings.lockstep
    if lockstep.enabled:
        return create_service_app(
            settings,
            lambda runtime: run_lockstep(
                runtime,
                FeaturesDriver(FeatureEngine(settings.feature_schema, settings.engine)),
                replica=Replica(lockstep.replica_index, lockstep.replicas),
            ),
        )

    def wire(runtime: ServiceRuntime) -> None:
        engine = FeatureEngine(settings.feature_schema, settings.engine)
        runtime.bus.subscribe([MD_BARS, MD_QUOTES, MD_BOOK], market_data_handler(engine))

    return create_service_app(settings, wire)
