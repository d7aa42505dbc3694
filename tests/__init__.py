"""Tests that span packages; see tests/integration."""
