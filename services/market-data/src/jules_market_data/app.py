"""The market-data service over Kafka: recorded files replayed onto the ``md.*`` topics.

The wiring only (``create_app``): the replay, its task and its metrics are
``jules_market_data.handlers``. Besides the bus metrics every service has
(``jules_market_data_events_out_total`` by event type) the service exports
``jules_market_data_rejected_rows_total`` by reason, the event time of the last event
published and the replay's state.
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from jules_runtime.service import ServiceRuntime, create_service_app

from jules_market_data.config import MarketDataSettings
from jules_market_data.handlers import FileReplay

__all__ = ["create_app"]


def create_app(settings: MarketDataSettings) -> AsgiFastStream:
    """Build the market-data service: replay ``settings.files`` in the background."""

    def wire(runtime: ServiceRuntime) -> None:
        replay = FileReplay(settings, runtime.bus, runtime.metrics, runtime.registry)
        runtime.on_startup.append(replay.start)
        runtime.after_startup.append(replay.broker_connected)
        runtime.on_shutdown.append(replay.stop)

    return create_service_app(settings, wire)
