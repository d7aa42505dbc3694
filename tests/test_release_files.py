"""The licence and the changelog: the LICENSE file is the licence every package declares, every
package has the same version, and the changelog says what that version changed."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(
    path
    for folder in ("libs", "services", "apps")
    for path in (REPO_ROOT / folder).glob("*/pyproject.toml")
)


def projects() -> dict[str, dict[str, object]]:
    return {
        str(path.relative_to(REPO_ROOT)): tomllib.loads(path.read_text())["project"]
        for path in PACKAGES
    }


def test_every_package_declares_the_licence_of_the_license_file() -> None:
    text = (REPO_ROOT / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert len(PACKAGES) >= 11
    assert {name: p.get("license") for name, p in projects().items()} == dict.fromkeys(
        projects(), "Apache-2.0"
    )


def test_the_changelog_says_what_the_packages_version_changed() -> None:
    versions = {p["version"] for p in projects().values()}
    assert len(versions) == 1, versions  # one version for the workspace
    [version] = versions
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    sections = changelog.split("\n## ")[1:]
    current = next(s for s in sections if s.startswith(f"{version} "))
    assert "### Added" in current or "### Changed" in current
    assert sections[0].startswith(f"{version} ")  # the newest entry is the current version
