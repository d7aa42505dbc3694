"""The signal service.

Turns feature vectors into signals with users' strategies, rule strategies or ONNX policies.
"""
