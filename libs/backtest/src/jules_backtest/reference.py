"""The backtest configuration's reference, generated from its models.

``reference_markdown()`` renders every section of ``BacktestConfig`` (and the models it
nests: strategies, risk, execution, data sources ...) as tables of key, type, default and
meaning; ``json_schema()`` is the JSON Schema editors validate a config file with.
``python -m jules_backtest.reference write docs`` writes both into the docs
(``docs/backtest-config.md``, ``docs/backtest-config.schema.json``); a test checks they are
up to date.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

from jules_backtest.config import BacktestConfig

__all__ = ["MARKDOWN_FILE", "SCHEMA_FILE", "json_schema", "reference_markdown", "write"]

MARKDOWN_FILE = "backtest-config.md"
SCHEMA_FILE = "backtest-config.schema.json"
_ATTRIBUTE = re.compile(r"^\s{4}(\w+): (.*)$")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a backtest configuration file."""
    schema = BacktestConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "IntradayJules backtest configuration"
    return schema


def reference_markdown() -> str:
    """The configuration reference: one table per model, the top level first."""
    schema = BacktestConfig.model_json_schema()
    defs: dict[str, dict[str, Any]] = schema.get("$defs", {})
    lines = [
        "# Backtest configuration reference",
        "",
        "Generated from the models (`python -m jules_backtest.reference write docs`); do not",
        "edit by hand. `jules backtest --print-config -c FILE` prints a file's configuration",
        "with every default filled in; `backtest-config.schema.json` is its JSON Schema, for",
        "editors (`# yaml-language-server: $schema=../docs/backtest-config.schema.json`).",
        "",
        "Choices (a `kind`, `mode`, `price_type`, `format`, `events`, `level` ...) are read in",
        "any case and kept in the spelling listed here: `kind: SMA_Cross` is `sma_cross`,",
        "`price_type: mid` is `MID`. An unknown value fails with the list of the valid ones.",
        "",
    ]
    inherited: dict[str, str] = {}  # the top level's fields declared by its bases
    for cls in reversed(BacktestConfig.__mro__):
        inherited |= _docstring(inspect.cleandoc(cls.__doc__ or ""))[1]
    for name, model in [("BacktestConfig", schema), *sorted(defs.items())]:
        lines += _section(name, model, inherited if name == "BacktestConfig" else {})
    return "\n".join(lines).rstrip() + "\n"


def _section(name: str, model: dict[str, Any], inherited: dict[str, str]) -> list[str]:
    summary, attributes = _docstring(model.get("description", ""))
    attributes = {**inherited, **attributes}
    lines = [f"## {name}", ""]
    if summary:
        lines += [summary, ""]
    if "enum" in model:
        return [*lines, "One of: " + ", ".join(f"`{v}`" for v in model["enum"]) + ".", ""]
    properties: dict[str, dict[str, Any]] = model.get("properties", {})
    if not properties:
        return lines
    required = set(model.get("required", ()))
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, prop in properties.items():
        default = "required" if key in required else _default(prop.get("default"))
        meaning = prop.get("description") or attributes.get(key, "")
        if key == "kind" and not meaning:
            meaning = "Selects this section's kind."
        cells = [f"`{key}`", _type(prop), default, " ".join(meaning.split())]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return [*lines, ""]


def _docstring(text: str) -> tuple[str, dict[str, str]]:
    """A model's summary and its ``Attributes:`` entries (Google style), by name."""
    summary = text.split("\n\n", 1)[0].strip()
    attributes: dict[str, str] = {}
    if "Attributes:" in text:
        current = None
        for line in text.split("Attributes:", 1)[1].splitlines():
            match = _ATTRIBUTE.match(line)
            if match:
                current = match[1]
                attributes[current] = match[2]
            elif current and line.startswith(" " * 8):
                attributes[current] += " " + line.strip()
            elif line.strip():
                current = None
    return " ".join(summary.split()), attributes


def _type(prop: dict[str, Any]) -> str:
    if not prop:
        return "any"
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for union in ("anyOf", "oneOf"):
        if union in prop:
            kinds = [_type(p) for p in prop[union]]
            return " or ".join(dict.fromkeys(kinds))
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " | ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    values = prop.get("additionalProperties")
    if kind == "object" and isinstance(values, dict):
        return f"mapping to {_type(values)}"
    return {"null": "none", "string": "text", "integer": "integer", "number": "number"}.get(
        kind, str(kind)
    )


def _default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict | list) and len(json.dumps(value)) > 40:
        return "(see the section)"
    return f"`{json.dumps(value)}`"


def write(folder: Path) -> list[Path]:
    """Write the reference and the schema into ``folder``; return the files written."""
    markdown, schema = folder / MARKDOWN_FILE, folder / SCHEMA_FILE
    markdown.write_text(reference_markdown())
    schema.write_text(json.dumps(json_schema(), indent=2) + "\n")
    return [markdown, schema]


if __name__ == "__main__":  # python -m jules_backtest.reference write docs
    if len(sys.argv) != 3 or sys.argv[1] != "write":
        sys.exit("usage: python -m jules_backtest.reference write FOLDER")
    for path in write(Path(sys.argv[2])):
        print(f"wrote {path}")
