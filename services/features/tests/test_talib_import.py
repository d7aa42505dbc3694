"""The engine imports TA-Lib without its pandas and polars wrappers, and leaves them importable."""

from __future__ import annotations

import json
import subprocess
import sys


def _run(code: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_the_features_engine_does_not_import_pandas_and_its_indicators_work() -> None:
    loaded = _run(
        "import json, sys\n"
        "from jules_features.engine import FeatureSchema\n"
        "from jules_features.engine.streams import talib\n"
        "import numpy as np\n"
        "closes = np.arange(1.0, 31.0)\n"
        "sma = float(talib.SMA(closes, timeperiod=5)[-1])\n"
        "print(json.dumps({'pandas': 'pandas' in sys.modules, 'polars': 'polars' in sys.modules,"
        " 'sma': sma, 'schema': FeatureSchema.from_names(['rsi_14']).names[0]}))"
    )
    assert loaded == {"pandas": False, "polars": False, "sma": 28.0, "schema": "rsi_14"}


def test_pandas_imported_first_keeps_talib_s_pandas_wrappers_and_later_imports_work() -> None:
    loaded = _run(
        "import json, sys\n"
        "import pandas\n"
        "from jules_features.engine.streams import talib\n"
        "value = talib.SMA(pandas.Series([1.0, 2.0, 3.0]), timeperiod=2)\n"
        "print(json.dumps({'series': type(value).__name__}))"
    )
    assert loaded == {"series": "Series"}  # TA-Lib wrapped its functions for pandas
    after = _run(
        "import json, sys\n"
        "import jules_features.engine\n"
        "import pandas\n"
        "print(json.dumps({'pandas': 'pandas' in sys.modules, 'series': pandas.Series.__name__}))"
    )
    assert after == {"pandas": True, "series": "Series"}
