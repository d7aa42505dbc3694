"""A consumer process for the crash test: it consumes trades, books one effect per trade in
SQLite (deduplicated by event_id), publishes a signal, and can park itself after the signal
is acknowledged but before the offset is committed, so the test can SIGKILL it there.

Usage: python crash_consumer.py BOOTSTRAP SCOPE STATE_DIR --client=CLIENT [--park-after-outputs]
(CLIENT: ``confluent`` or ``aiokafka``).

Writes to STATE_DIR: ``receipts`` (one line per delivery), ``parked`` (when parked),
``effects.sqlite`` (the effects and the dedup marks).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from jules_contracts import Event, SignalDirection, SignalGenerated, Trade
from jules_contracts.topics import MD_TRADES
from jules_runtime.bus import InboundRecord, KafkaBus, SqliteDedupStore
from jules_runtime.logging import configure_logging
from jules_runtime.settings import KafkaSettings


async def main(bootstrap: str, scope: str, state: Path, park: bool, client: str) -> None:
    configure_logging("crash-consumer", "WARNING")
    store = SqliteDedupStore(state / "effects.sqlite")
    store.connection.execute(
        "CREATE TABLE IF NOT EXISTS effects (event_id TEXT, instrument_id TEXT, price REAL)"
    )

    async def handle(event: Event) -> Sequence[Event]:
        assert isinstance(event, Trade)
        with (state / "receipts").open("a") as receipts:
            receipts.write(event.event_id + "\n")
        with store.once(event.event_id) as first:
            if first:
                store.connection.execute(
                    "INSERT INTO effects VALUES (?, ?, ?)",
                    (event.event_id, event.instrument_id, event.price),
                )
        signal_event = SignalGenerated.derive(
            event,
            source="crash-consumer",
            instrument_id=event.instrument_id,
            strategy_id="crash-test",
            direction=SignalDirection.LONG,
            target_weight=1.0,
        )
        return [signal_event]

    def park_after_outputs(record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        if park:
            (state / "parked").write_text(f"{record.offset}\n")
            time.sleep(3600)  # blocks the loop: the offset is never committed

    bus = KafkaBus(
        "crash-consumer",
        KafkaSettings.model_validate(
            {
                "bootstrap_servers": bootstrap,
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "client": client,
            }
        ),
        scope,
    )
    bus.subscribe([MD_TRADES], handle, on_outputs_published=park_after_outputs)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with bus:
        (state / "ready").write_text("ready\n")
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(
        main(
            sys.argv[1],
            sys.argv[2],
            Path(sys.argv[3]),
            "--park-after-outputs" in sys.argv,
            next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--client=")),
        )
    )
