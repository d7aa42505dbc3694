"""The risk service.

Pre-trade controls, sizing, stops, kill switch and portfolio risk.
"""
