"""The market-data service.

Normalises and validates venue and recorded market data onto the md.* topics.
"""
