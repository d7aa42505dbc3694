"""Engines take time from events and touch no file, clock or environment (DESIGN §2).

import-linter forbids I/O packages in engines; this test catches what imports cannot show:
calls of the wall clock, the environment, files and the global random generator.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINES = sorted(ROOT.glob("services/*/src/jules_*/engine"))
FORBIDDEN_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("os", "getenv"),
    ("random", "random"),
    ("random", "randint"),
    ("random", "choice"),
}
FORBIDDEN_NAMES = {"open", "print", "input"}
FORBIDDEN_ATTRIBUTES = {("os", "environ")}


def violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"{func.id}() line {node.lineno}")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in FORBIDDEN_CALLS
            ):
                found.append(f"{func.value.id}.{func.attr}() line {node.lineno}")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES
        ):
            found.append(f"{node.value.id}.{node.attr} line {node.lineno}")
    return found


def test_there_are_six_engines():
    assert len(ENGINES) == 6


@pytest.mark.parametrize("engine", ENGINES, ids=lambda p: p.parts[-3])
def test_engine_uses_no_wall_clock_environment_or_files(engine):
    problems = {
        str(path.relative_to(ROOT)): found
        for path in sorted(engine.rglob("*.py"))
        if (found := violations(path.read_text()))
    }
    assert problems == {}


def test_the_checker_finds_each_kind_of_violation():
    source = (
        "import time, os\nfrom datetime import datetime\n"
        "a = time.time()\nb = datetime.now()\nc = os.environ['X']\nd = open('f')\n"
    )
    assert len(violations(source)) == 4
