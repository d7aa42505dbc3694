"""The features service over Kafka: market data in, one feature vector per bar out.

The wiring only (``create_app``): the handler is ``jules_features.handlers``, backtest mode
``jules_features.lockstep``.
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from jules_runtime.lockstep import Replica
from jules_runtime.service import ServiceRuntime, create_service_app, run_lockstep

from jules_features.config import FeaturesSettings
from jules_features.engine import FeatureEngine
from jules_features.handlers import INPUT_TOPICS, market_data_handler
from jules_features.lockstep import FeaturesDriver

__all__ = ["create_app"]


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
                FeaturesDriver(
                    FeatureEngine(settings.feature_schema, settings.engine), ticks=lockstep.ticks
                ),
                replica=Replica(lockstep.replica_index, lockstep.replicas),
            ),
        )

    def wire(runtime: ServiceRuntime) -> None:
        engine = FeatureEngine(settings.feature_schema, settings.live_engine_config)
        runtime.bus.subscribe(
            INPUT_TOPICS, market_data_handler(engine), dedup_window=settings.dedup_window
        )

    return create_service_app(settings, wire)
