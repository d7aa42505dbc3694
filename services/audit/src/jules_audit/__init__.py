"""The audit service.

Keeps the hash-chained audit record of every event and exports it.
"""
