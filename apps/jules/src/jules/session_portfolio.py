"""The account of a session as ``jules status`` shows it: the last ``PortfolioSnapshot``.

The order-router publishes the account's cash, positions and PnL on ``portfolio.v1`` (keyed by
account) after every bar; the latest snapshot of each account is read back from the end of
each partition of the session's topic.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from jules_contracts.codec import DecodeError, decode_event
from jules_contracts.portfolio import PortfolioSnapshot
from jules_contracts.topics import PORTFOLIO
from jules_runtime.settings import KafkaSettings
from rich.table import Table

__all__ = ["latest_portfolios", "portfolio_json", "portfolio_table"]

_TAIL = 20
"""Messages read back from the end of each partition (watermarks sit between snapshots)."""


async def _latest(bootstrap: str, scope: str, timeout_s: float) -> list[PortfolioSnapshot]:
    connection = KafkaSettings(bootstrap_servers=bootstrap).connection("jules-status")
    topic = PORTFOLIO.scoped(scope)
    admin = AIOKafkaAdminClient(**connection)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(**connection, group_id=None, enable_auto_commit=False)
    await consumer.start()
    latest: dict[str, PortfolioSnapshot] = {}
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(0, ends[tp] - _TAIL))
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=int(timeout_s * 1000))
            if not batch:
                break
            for tp, records in batch.items():
                for record in records:
                    _keep(latest, record.value)
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return sorted(latest.values(), key=lambda snapshot: snapshot.account_id)


def _keep(latest: dict[str, PortfolioSnapshot], value: bytes | None) -> None:
    if value is None:
        return
    with contextlib.suppress(DecodeError):
        event = decode_event(value, PORTFOLIO.event_types)
        if isinstance(event, PortfolioSnapshot):
            before = latest.get(event.account_id)
            if before is None or event.event_time >= before.event_time:
                latest[event.account_id] = event


def latest_portfolios(bootstrap: str, scope: str, timeout_s: float = 5) -> list[PortfolioSnapshot]:
    """The last snapshot of each account on the session's ``portfolio.v1`` (none: empty)."""
    try:
        return asyncio.run(_latest(bootstrap, scope, timeout_s))
    except Exception:  # a status line, not a failure: the broker may be down
        return []


def portfolio_table(snapshot: PortfolioSnapshot) -> Table:
    """The account's positions and PnL as a table (one row per position, then the total)."""
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(snapshot.event_time / 1e9, tz=UTC).isoformat()
    table = Table(
        title=f"account {snapshot.account_id} ({snapshot.currency}) at {at}",
        caption=f"equity {snapshot.equity:,.2f}, cash {snapshot.cash:,.2f}",
    )
    for column in ("instrument", "quantity", "avg price", "last", "realized", "unrealized"):
        table.add_column(column, justify="left" if column == "instrument" else "right")
    for position in snapshot.positions:
        table.add_row(
            position.instrument_id,
            f"{position.quantity:g}",
            f"{position.average_price:,.2f}",
            "-" if position.last_price is None else f"{position.last_price:,.2f}",
            f"{position.realized_pnl:,.2f}",
            f"{position.unrealized_pnl:,.2f}",
        )
    table.add_row(
        "total",
        "",
        "",
        f"fees {snapshot.fees_paid:,.2f}",
        f"{snapshot.realized_pnl:,.2f}",
        f"{snapshot.unrealized_pnl:,.2f}",
    )
    return table


def portfolio_json(snapshot: PortfolioSnapshot) -> dict[str, Any]:
    """The snapshot's figures for ``jules status --json``."""
    return snapshot.model_dump(
        mode="json",
        include={
            "account_id",
            "currency",
            "event_time",
            "cash",
            "equity",
            "positions",
            "realized_pnl",
            "unrealized_pnl",
            "fees_paid",
            "gross_exposure",
            "net_exposure",
        },
    )
