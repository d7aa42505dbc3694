"""The RTS 24 style CSV export of order events."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from jules_audit.engine import EXPORT_COLUMNS, OrderRecordExporter, format_utc_micros
from jules_audit.store import AuditLogError, export_csv
from jules_contracts import (
    OrderAccepted,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    OrderResized,
    SubmitOrder,
)
from jules_contracts.examples import example_for

from .auditlog import ORDER_EVENT_TYPES, locate, read_lines, write_lines


def _export(directory) -> tuple[int, str]:
    out = io.StringIO()
    rows = export_csv(directory, out)
    return rows, out.getvalue()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _micros_reference(nanos: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_one_row_per_order_event_in_log_order_after_a_header(log_dir, events):
    count, text = _export(log_dir)

    rows = _rows(text)
    expected = [
        (seq, event) for seq, event in enumerate(events, 1) if event.event_type in ORDER_EVENT_TYPES
    ]
    assert text.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    assert count == len(rows) == len(expected) == 132
    assert [(int(r["record_seq"]), r["event_id"]) for r in rows] == [
        (seq, event.event_id) for seq, event in expected
    ]
    assert [r["event_type"] for r in rows] == [event.event_type for _, event in expected]


def test_timestamps_are_utc_microseconds(log_dir, events):
    rows = _rows(_export(log_dir)[1])

    by_id = {event.event_id: event for event in events}
    for row in rows:
        assert row["event_time_utc"] == _micros_reference(by_id[row["event_id"]].event_time)
    # The examples' times: 13:31:00 + 4.5 ms, and 13:30:59.915345678 truncated (not rounded).
    accepted = next(r for r in rows if r["event_type"] == "order.accepted")
    canceled = next(r for r in rows if r["event_type"] == "order.canceled")
    assert accepted["event_time_utc"] == "2024-08-08T13:31:00.004500Z"
    assert canceled["event_time_utc"] == "2024-08-08T13:30:59.915345Z"


def test_fill_row_has_fill_and_order_fields(log_dir, events):
    rows = _rows(_export(log_dir)[1])
    fill = next(
        e for e in events if isinstance(e, OrderFilled) and e.client_order_id.endswith("-3")
    )
    intent = next(
        e
        for e in events
        if isinstance(e, SubmitOrder) and e.client_order_id == fill.client_order_id
    )

    row = next(r for r in rows if r["event_id"] == fill.event_id)

    assert row["order_event"] == "FILL"
    assert row["status"] == "FILLED"
    assert row["client_order_id"] == "jules-7f3a9c2e01-3"
    assert row["venue_order_id"] == "28457193021"
    assert row["event_time_utc"] == "2024-08-08T13:34:41.000000Z"  # 13:31:41 + 3 minutes
    assert row["expire_time_utc"] == "2024-08-08T13:39:00.000000Z"
    assert (row["instrument_id"], row["side"]) == ("BTCUSDT.BINANCE", "BUY")
    assert (row["order_type"], row["time_in_force"]) == ("STOP_LIMIT", "GTD")
    assert (float(row["limit_price"]), float(row["stop_price"])) == (61_320.0, 61_300.0)
    assert (float(row["fill_price"]), float(row["average_price"])) == (61_318.0, 61_315.0)
    assert float(row["order_quantity"]) == 0.04  # the approved quantity, not the intent's 0.05
    assert intent.quantity == 0.05
    assert float(row["last_quantity"]) == 0.025
    assert float(row["cumulative_quantity"]) == 0.04
    assert float(row["leaves_quantity"]) == 0.0
    assert row["strategy_id"] == "ppo-btc-1m"
    assert (row["liquidity"], row["fee_currency"]) == ("MAKER", "USDT")
    assert row["account_id"] == "paper-01"


def test_denial_row_carries_the_reason_codes(log_dir, events):
    rows = _rows(_export(log_dir)[1])
    denial = next(e for e in events if isinstance(e, OrderDenied))

    row = next(r for r in rows if r["event_id"] == denial.event_id)

    assert row["status"] == "DENIED"
    assert row["order_event"] == ""
    assert row["reason_codes"] == "ORDER_NOTIONAL_LIMIT;POSITION_LIMIT"
    assert row["reason_text"] == denial.message
    assert (row["side"], row["order_type"], row["time_in_force"]) == ("SELL", "MARKET", "IOC")
    assert float(row["order_quantity"]) == 5_000_000.0


@pytest.mark.parametrize(
    ("event_type", "code", "status"),
    [
        ("order.accepted", "NEWO", "ACCEPTED"),
        ("order.rejected", "REMO", "REJECTED"),
        ("order.partially_filled", "PARF", "PARTIALLY_FILLED"),
        ("order.filled", "FILL", "FILLED"),
        ("order.canceled", "CAME", "CANCELED"),
        ("order.expired", "EXPI", "EXPIRED"),
        ("order.submit", "", "SUBMITTED"),
        ("risk.order_approved", "", "APPROVED"),
    ],
)
def test_each_order_event_has_its_code_and_status(log_dir, event_type, code, status):
    rows = [r for r in _rows(_export(log_dir)[1]) if r["event_type"] == event_type]

    assert len(rows) == 12
    assert {(r["order_event"], r["status"]) for r in rows} == {(code, status)}


def test_export_is_deterministic(log_dir):
    assert _export(log_dir) == _export(log_dir)


def test_tampered_log_is_not_exported(log_dir):
    file, line = locate(60)
    lines = read_lines(log_dir / file)
    del lines[line - 1]
    write_lines(log_dir / file, lines)
    out = io.StringIO()

    with pytest.raises(AuditLogError, match="SEQUENCE_GAP"):
        export_csv(log_dir, out)

    assert out.getvalue() == ""


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "1970-01-01T00:00:00.000000Z"),
        (999, "1970-01-01T00:00:00.000000Z"),
        (1_000, "1970-01-01T00:00:00.000001Z"),
        (1_723_123_859_912_345_678, "2024-08-08T13:30:59.912345Z"),
        (1_723_123_859_999_999_999, "2024-08-08T13:30:59.999999Z"),
    ],
)
def test_microsecond_timestamps_truncate_nanoseconds(nanos, text):
    assert format_utc_micros(nanos) == text
    assert _micros_reference(nanos) == text


def test_an_order_sized_at_the_fill_has_a_resize_row_and_its_new_quantity_afterwards():
    submit, approved = example_for(SubmitOrder), example_for(OrderApproved)
    accepted, filled = example_for(OrderAccepted), example_for(OrderFilled)
    resized = example_for(OrderResized).model_copy(
        update={
            "client_order_id": submit.client_order_id,
            "instrument_id": submit.instrument_id,
            "venue_order_id": accepted.venue_order_id,
            "quantity": 0.045,
            "previous_quantity": approved.quantity,
        }
    )
    exporter = OrderRecordExporter()

    rows = [
        exporter.row(seq, e)
        for seq, e in enumerate((submit, approved, accepted, resized, filled), 1)
    ]

    row = rows[3]
    assert row is not None
    assert rows[4] is not None
    assert (row["order_event"], row["status"]) == ("REME", "RESIZED")
    assert (row["order_quantity"], row["leaves_quantity"]) == ("0.045", "0.045")
    assert row["cumulative_quantity"] == "0.0"
    assert rows[4]["order_quantity"] == "0.045"  # the fill of the resized order
