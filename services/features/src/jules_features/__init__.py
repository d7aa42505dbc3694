"""The features service.

Computes streaming indicators and publishes feature vectors.
"""
