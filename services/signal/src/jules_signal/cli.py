"""The ``jules-signal`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_signal.config import SignalSettings

app = service_cli(
    SignalSettings, "Turns feature vectors into signals with rule strategies or ONNX policies."
)
main = app
