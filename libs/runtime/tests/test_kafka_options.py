"""Kafka client options: the connection options are built once, from the settings."""

from __future__ import annotations

from jules_runtime.bus.kafka import consumer_options, producer_options
from jules_runtime.settings import KafkaSettings

KAFKA = KafkaSettings(
    bootstrap_servers="kafka-0:9093,kafka-1:9093",
    request_timeout_ms=12_000,
    retry_backoff_ms=250,
    metadata_max_age_ms=60_000,
    connections_max_idle_ms=90_000,
)


def test_connection_options_carry_the_settings_and_the_client_id() -> None:
    assert KAFKA.connection("jules-risk-restore") == {
        "bootstrap_servers": "kafka-0:9093,kafka-1:9093",
        "client_id": "jules-risk-restore",
        "request_timeout_ms": 12_000,
        "retry_backoff_ms": 250,
        "metadata_max_age_ms": 60_000,
        "connections_max_idle_ms": 90_000,
    }


def test_the_producer_gets_the_connection_options_and_acks_all_with_idempotence() -> None:
    options = producer_options(KAFKA, "jules-risk")

    assert options.items() >= KAFKA.connection("jules-risk").items()
    assert (options["acks"], options["enable_idempotence"]) == ("all", True)


def test_every_consumer_fetches_with_the_same_settings() -> None:
    kafka = KafkaSettings(fetch_min_bytes=10, fetch_max_wait_ms=7, isolation_level="read_committed")
    fetching = kafka.fetching()

    assert fetching == {
        "isolation_level": "read_committed",
        "fetch_min_bytes": 10,
        "fetch_max_wait_ms": 7,
        "fetch_max_bytes": kafka.fetch_max_bytes,
        "max_partition_fetch_bytes": kafka.max_partition_fetch_bytes,
        "check_crcs": True,
    }
    assert consumer_options(kafka, "jules-risk").items() >= fetching.items()
