"""The signal service.

Turns feature vectors into signals with rule strategies or ONNX policies.
"""
