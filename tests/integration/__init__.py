"""Tests against a real Apache Kafka broker (marked ``integration``)."""
