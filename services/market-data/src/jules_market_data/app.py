"""The market-data service over Kafka: live venues, or recorded files, onto the ``md.*`` topics.

The wiring only (``create_app``): with venues configured the live feed
(``jules_market_data.live``), else the replay of the files (``jules_market_data.handlers``).
Besides the bus metrics every service has (``jules_market_data_events_out_total`` by event
type) the service exports
``jules_market_data_rejected_rows_total`` by reason, the event time of the last event
published and the replay's state; live, the feed health per instrument and stream
(``jules_market_data_feed_…``, see ``jules_market_data.live_health``).
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from jules_runtime.service import ServiceRuntime, create_service_app

from jules_market_data.config import MarketDataSettings
from jules_market_data.handlers import FileReplay
from jules_market_data.live import LiveFeed

__all__ = ["create_app"]


def create_app(settings: MarketDataSettings) -> AsgiFastStream:
    """Build the market-data service: stream the venues, or replay ``settings.files``."""

    def wire(runtime: ServiceRuntime) -> None:
        replay: LiveFeed | FileReplay
        if settings.is_live:
            replay = LiveFeed(settings, runtime.bus, runtime.metrics, runtime.registry)
        else:
            replay = FileReplay(settings, runtime.bus, runtime.metrics, runtime.registry)
        runtime.on_startup.append(replay.start)
        runtime.after_startup.append(replay.broker_connected)
        runtime.on_shutdown.append(replay.stop)

    return create_service_app(settings, wire)
