"""The ``jules`` command imports only what the command that runs uses.

Building the command (``import jules.cli``, all that ``jules --help`` needs) imports none of
the heavy libraries, an embedded backtest never imports a Kafka client, and one of a rule
strategy (the demo's) does not import onnxruntime either. Each check runs in
a fresh interpreter, so the modules this test session has imported do not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

HEAVY = (
    "aiokafka",
    "faststream",
    "onnxruntime",
    "talib",
    "pandas",
    "polars",
    "pyarrow",
    "numpy",
    "plotly",
    "torch",
    "pydantic",
    "yaml",
    "jules_contracts",
    "jules_backtest",
    "jules_trainer",
)
"""Libraries (and the project's packages) that building the command must not import."""

KAFKA_CLIENTS = ("aiokafka", "faststream")
"""Libraries an embedded backtest must not import."""

RULE_STRATEGY_UNUSED = (*KAFKA_CLIENTS, "onnxruntime", "torch")
"""Libraries an embedded backtest of a rule strategy must not import."""


def _imported(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The top-level packages among ``prefixes`` in ``sys.modules`` after running ``code``."""
    script = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(prefixes)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    imported: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return imported


def test_building_the_command_imports_no_heavy_library() -> None:
    assert _imported("import jules.cli", HEAVY) == []


def test_an_embedded_rule_strategy_backtest_imports_no_kafka_client_nor_onnxruntime(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    code = (
        "from jules.cli import app\n"
        "app(['backtest', '-c', 'examples/demo.yaml', '--output-dir', "
        f"{str(out)!r}, '--no-progress'], standalone_mode=False)"
    )
    assert _imported(code, RULE_STRATEGY_UNUSED) == []
    assert (out / "report.html").is_file()
