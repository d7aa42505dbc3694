# mypy: allow-untyped-defs, allow-incomplete-defs, allow-untyped-calls
"""The engine package stays pure: no I/O, clock, environment, logging or async imports."""

from __future__ import annotations

import ast
from pathlib import Path

import jules_market_data.engine as engine

FORBIDDEN_MODULES = {
    "asyncio",
    "faststream",
    "aiokafka",
    "io",
    "os",
    "pathlib",
    "zipfile",
    "gzip",
    "json",
    "csv",
    "logging",
    "loguru",
    "time",
    "random",
    "socket",
    "pyarrow",
    "jules_runtime",
    "jules_market_data.loaders",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "getenv", "time_ns", "perf_counter"}


def _engine_files():
    return sorted(Path(engine.__file__).parent.glob("*.py"))


def test_engine_modules_import_no_io_clock_or_environment():
    offenders = []
    for path in _engine_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name in FORBIDDEN_MODULES or name.split(".")[0] in FORBIDDEN_MODULES:
                    offenders.append(f"{path.name}: import {name}")
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in FORBIDDEN_CALLS:
                    offenders.append(f"{path.name}:{node.lineno}: {called}()")

    assert len(_engine_files()) >= 8
    assert offenders == []
