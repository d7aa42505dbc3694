"""Every error the project defines derives from ``JulesError`` (``jules_contracts.errors``).

The test imports every module of every package under ``libs/*/src``, ``services/*/src`` and
``apps/*/src`` and collects the exception classes each defines (private ``_`` ones aside: they
are internal control flow and never reach a caller), so a new error that forgets the base fails
here. An interruption (a ``BaseException`` that is not an ``Exception``, like the command's
``Interrupted`` on SIGTERM) is no error: it must not be caught as one, so it has no such base.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from jules_contracts import JulesError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(
    path.name
    for pattern in ("libs/*/src/*", "services/*/src/*", "apps/*/src/*")
    for path in ROOT.glob(pattern)
    if (path / "__init__.py").is_file()
)


def defined_errors(package: str) -> list[type[Exception]]:
    """The public error classes (``Exception``) defined in ``package`` and its modules."""
    root = importlib.import_module(package)
    modules = [root] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
        if info.name.rpartition(".")[2] != "__main__"
    ]
    found = {
        cls
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Exception)
        and cls.__module__.partition(".")[0] == package
        and not cls.__name__.startswith("_")
    }
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def test_every_package_is_walked():
    assert {
        "jules_contracts",
        "jules_runtime",
        "jules_backtest",
        "jules_market_data",
        "jules_features",
        "jules_signal",
        "jules_risk",
        "jules_order_router",
        "jules_audit",
        "jules",
        "jules_trainer",
    } <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_error_of_the_package_is_a_jules_error(package):
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in defined_errors(package)
        if not issubclass(cls, JulesError)
    ]
    assert outside == []


def test_the_walk_finds_the_errors_it_checks():
    names = {cls.__qualname__ for cls in defined_errors("jules_signal")}
    assert {"ModelLoadError", "ModelRefusedError", "ModelStoreError"} <= names
