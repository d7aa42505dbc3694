"""Venues: ccxt adapters for live market data and instruments, and the local fake exchange."""
