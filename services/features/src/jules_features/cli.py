"""The ``jules-features`` command.

The service uses TA-Lib's numpy functions only. TA-Lib wraps its functions for pandas and
polars when either can be imported, which loads them (about 70 MiB of resident memory, half of
the service's), so the command keeps both out of the service's process before it imports
TA-Lib. Importing this module changes nothing; running ``main`` does.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_NOT_NEEDED = ("pandas", "polars")


def main() -> None:
    """Entry point of ``jules-features``."""
    for name in _NOT_NEEDED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # "import name" now fails
    from jules_runtime.cli import service_cli

    from jules_features.app import create_app
    from jules_features.config import FeaturesSettings

    service_cli(
        FeaturesSettings,
        create_app=create_app,
        summary="Computes streaming indicators and publishes feature vectors.",
    )()
