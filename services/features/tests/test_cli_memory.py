"""``jules-features`` keeps pandas and polars out of the service (TA-Lib would load them)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
sys.argv = ["jules-features", "--help"]
from jules_features import cli
try:
    cli.main()
except SystemExit:
    pass
print("talib", "talib" in sys.modules)
print("pandas", sys.modules.get("pandas") is not None)
print("polars", sys.modules.get("polars") is not None)
"""


def test_the_service_command_loads_talib_without_pandas_or_polars() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )

    lines = done.stdout.splitlines()[-3:]
    assert lines == ["talib True", "pandas False", "polars False"]


def test_importing_the_module_changes_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, jules_features.cli; print('pandas' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert done.stdout.strip() == "False"
