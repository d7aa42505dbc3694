"""The order-router service.

Routes approved orders, simulates venues, books fills and reconciles.
"""
