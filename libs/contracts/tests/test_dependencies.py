"""The contracts package depends on pydantic and the standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import jules_contracts

ALLOWED = {"pydantic", "pydantic_core", "annotated_types", "typing_extensions", "jules_contracts"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_contracts_import_only_pydantic_and_the_standard_library():
    package = Path(jules_contracts.__file__).parent
    offenders = {
        f"{path.name}: {root}"
        for path in sorted(package.rglob("*.py"))
        for root in imported_roots(path)
        if root not in ALLOWED and root not in sys.stdlib_module_names
    }
    assert offenders == set()


def test_the_checker_sees_a_third_party_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("import numpy\nfrom loguru import logger\n")
    assert imported_roots(module) - set(sys.stdlib_module_names) == {"numpy", "loguru"}
