"""JSON Schemas of the v1 events: export, snapshot files and a backward-compatibility check.

Schemas are pydantic's *validation* mode: they describe what a consumer accepts, which is the
contract every producer must meet. (For these models the serialization mode gives the same
schemas: no computed fields, and every field is written as it was validated.) Files are
written with sorted keys, so an export is byte-for-byte reproducible.

``breaking_changes`` judges a new schema of an event against the old one. A change is breaking
when a message valid under the old schema may be refused under the new one (a type changed, a
property became required, an enum value or ``Literal`` const went away, a constraint became
stricter), or when a property old consumers read is removed. Adding an optional property, an
enum value or loosening a constraint is not. A breaking change needs a new major version: a
``.v2`` event and topic beside v1.

Usage::

    python -m jules_contracts.schema write libs/contracts/schemas/v1 [--allow-breaking]
    python -m jules_contracts.schema check libs/contracts/schemas/v1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jules_contracts.codec import EVENT_TYPES
from jules_contracts.dead_letter import DeadLetterRecord
from jules_contracts.topics import ALL_TOPICS

__all__ = [
    "SnapshotDiff",
    "breaking_changes",
    "compare_snapshots",
    "export_index",
    "export_schemas",
    "main",
    "write_schemas",
]

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
INDEX_FILE: Final = "index.json"
_JSON_TYPES: Final = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))
_LENGTHS: Final = (
    ("minLength", "minItems", "minProperties"),
    ("maxLength", "maxItems", "maxProperties"),
)
Schema = Mapping[str, Any]


def export_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of every v1 event, by ``event_type``."""
    return {
        cls.EVENT_TYPE: {"$schema": JSON_SCHEMA_DIALECT, **cls.model_json_schema()}
        for cls in EVENT_TYPES
    }


def export_index() -> dict[str, Any]:
    """Return the topic index: every topic's name, key, dead-letter topic and event types."""
    topics = [
        {
            "name": topic.name,
            "key_field": topic.key_field,
            "default_key": topic.default_key,
            "dlq": topic.dlq,
            "event_types": [cls.EVENT_TYPE for cls in topic.event_types],
            "description": topic.description,
        }
        for topic in ALL_TOPICS
    ]
    return {"dead_letter_event_type": DeadLetterRecord.EVENT_TYPE, "topics": topics}


def _render(document: object) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _rendered_files() -> dict[str, str]:
    files = {f"{name}.json": _render(schema) for name, schema in export_schemas().items()}
    files[INDEX_FILE] = _render(export_index())
    return files


def _managed_files(directory: Path) -> dict[str, Any]:
    """Read the index and the event schemas in ``directory`` (never any other file)."""
    found: dict[str, Any] = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        with contextlib.suppress(ValueError):  # not JSON: not one of ours
            document = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(document, dict) and (
                path.name == INDEX_FILE or document.get("$schema") == JSON_SCHEMA_DIALECT
            ):
                found[path.name] = document
    return found


def write_schemas(directory: str | Path) -> list[Path]:
    """Write ``<event_type>.json`` for every event and ``index.json`` into ``directory``.

    Event schemas left from events that no longer exist are deleted; other files are kept.

    Args:
        directory: Where to write; created if missing.

    Returns:
        The files written, sorted.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    files = _rendered_files()
    for stale in _managed_files(target).keys() - files.keys():
        (target / stale).unlink()
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    return sorted(target / name for name in files)


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    """How the snapshot files in a directory differ from the current export.

    Attributes:
        directory: The snapshot directory.
        changed: Files that differ, are missing or are left over.
        breaking: The breaking changes among them (empty for an additive change).
    """

    directory: Path
    changed: tuple[str, ...]
    breaking: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        """Whether the snapshot files equal the export."""
        return not self.changed

    def message(self) -> str:
        """Explain the difference and what to do about it."""
        if self.up_to_date:
            return f"schemas in {self.directory} match the contracts"
        if self.breaking:
            lines = "\n".join(f"  - {change}" for change in self.breaking)
            return (
                f"BREAKING change to the contracts (against {self.directory}):\n{lines}\n"
                "A breaking change needs a new major version: add a `.v2` event and topic "
                "beside v1 instead of changing v1. (Only if nothing reads v1 yet: "
                f"`python -m jules_contracts.schema write --allow-breaking {self.directory}`.)"
            )
        return (
            f"the schemas in {self.directory} are out of date ({', '.join(self.changed)} "
            "differ); the change is additive, not breaking: rerun `make schemas` and commit."
        )


def compare_snapshots(directory: str | Path) -> SnapshotDiff:
    """Compare the snapshot files in ``directory`` with the current export."""
    target = Path(directory)
    files, on_disk = _rendered_files(), _managed_files(target)
    changed = sorted(
        name
        for name in files.keys() | on_disk.keys()
        if name not in files.keys() & on_disk.keys()
        or (target / name).read_text(encoding="utf-8") != files[name]
    )
    breaking: list[str] = []
    schemas = export_schemas()
    for name, old in on_disk.items():
        if name == INDEX_FILE:
            breaking += _index_breaking_changes(old, export_index())
            continue
        event_type = name.removesuffix(".json")
        if event_type not in schemas:
            breaking.append(f"{event_type}: event type removed")
        else:
            breaking += (f"{event_type}: {c}" for c in breaking_changes(old, schemas[event_type]))
    return SnapshotDiff(target, tuple(changed), tuple(breaking))


def _index_breaking_changes(old: Schema, new: Schema) -> list[str]:
    new_topics = {topic["name"]: topic for topic in new["topics"]}
    problems = []
    for topic in old.get("topics", []):
        now = new_topics.get(topic["name"])
        if now is None:
            problems.append(f"topic {topic['name']} removed")
            continue
        if now["key_field"] != topic["key_field"]:
            problems.append(f"topic {topic['name']}: key changed to {now['key_field']}")
        for event_type in sorted(set(topic["event_types"]) - set(now["event_types"])):
            problems.append(f"topic {topic['name']}: no longer carries {event_type}")
    return problems


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """List the breaking changes from ``old`` to ``new``, two JSON Schemas of one event.

    ``$ref`` is resolved into each schema's own ``$defs``, so a change inside a nested model
    is reported at the path of the field that holds it (``order.quantity``; ``positions[]``
    for array items, ``metrics.*`` for map values).

    Args:
        old: The schema consumers and stored messages rely on.
        new: The proposed schema.

    Returns:
        One ``"<path>: <what>"`` line per breaking change; empty when ``new`` is compatible.
    """
    checker = _Checker(old, new)
    checker.compare(old, new, "")
    return checker.problems


class _Checker:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.roots = (old_root, new_root)
        self.problems: list[str] = []
        self._active: set[tuple[str, str]] = set()  # $ref pairs being compared: no cycles

    def report(self, path: str, what: str) -> None:
        self.problems.append(f"{path or '(root)'}: {what}")

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old, old_ref = _resolve(old, self.roots[0])
        new, new_ref = _resolve(new, self.roots[1])
        pair = (old_ref or "", new_ref or "")
        if old_ref and new_ref:
            if pair in self._active:
                return
            self._active.add(pair)
        self._compare_resolved(old, new, path)
        self._active.discard(pair)

    def _compare_resolved(self, old: Schema, new: Schema, path: str) -> None:
        old_alts, new_alts = _alternatives(old, self.roots[0]), _alternatives(new, self.roots[1])
        old_types, new_types = _types(old_alts), _types(new_alts)
        lost = sorted(t for t in old_types if not _accepts(new_types, t))
        if lost:
            old_names, new_names = "|".join(sorted(old_types)), "|".join(sorted(new_types))
            self.report(path, f"type changed from {old_names} to {new_names}")
            return
        if len(old_alts) > 1 or len(new_alts) > 1:
            for alt in old_alts:
                match = next((n for n in new_alts if _types([alt]) <= _types([n])), None)
                match = match or next(n for n in new_alts if _overlaps(_types([alt]), n))
                self.compare(alt, match, path)
            return
        self._compare_values(old, new, path)
        self._compare_bounds(old, new, path)
        self._compare_object(old, new, path)
        for key, suffix in (("items", "[]"), ("propertyNames", ".<key>")):
            if key in old or key in new:
                self.compare(old.get(key, {}), new.get(key, {}), path + suffix)

    def _compare_values(self, old: Schema, new: Schema, path: str) -> None:
        old_values, new_values = _values(old), _values(new)
        if new_values is None:
            return
        if old_values is None:
            self.report(path, f"now restricted to the values {new_values!r}")
        elif removed := [value for value in old_values if value not in new_values]:
            self.report(path, f"value {removed!r} no longer allowed (now {new_values!r})")

    def _compare_bounds(self, old: Schema, new: Schema, path: str) -> None:
        for name, keys, sign in (
            ("lower bound", ("minimum", "exclusiveMinimum"), 1),
            ("upper bound", ("maximum", "exclusiveMaximum"), -1),
        ):
            old_bound, new_bound = _bound(old, keys, sign), _bound(new, keys, sign)
            if new_bound is not None and (old_bound is None or new_bound > old_bound):
                self.report(path, f"{name} tightened from {_show(old, keys)} to {_show(new, keys)}")
        for key, sign in [(key, 1) for key in _LENGTHS[0]] + [(key, -1) for key in _LENGTHS[1]]:
            if key in new and (key not in old or sign * new[key] > sign * old[key]):
                self.report(path, f"{key} tightened from {old.get(key)} to {new[key]}")
        for key in ("pattern", "format"):
            if key in new and new[key] != old.get(key):
                self.report(path, f"{key} changed from {old.get(key)!r} to {new[key]!r}")

    def _compare_object(self, old: Schema, new: Schema, path: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        for name, schema in old_props.items():
            if name not in new_props:
                self.report(_join(path, name), "property removed")
            else:
                self.compare(schema, new_props[name], _join(path, name))
        for name in new.get("required", []):
            if name not in old.get("required", []):
                self.report(_join(path, name), "property is newly required")
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.compare(old_extra, new_extra, _join(path, "*"))
        elif new_extra is False and old_extra is not False:
            self.report(path, "additional properties no longer allowed")
        new_patterns = new.get("patternProperties", {})
        for pattern, schema in old.get("patternProperties", {}).items():
            if pattern in new_patterns:
                self.compare(schema, new_patterns[pattern], _join(path, "*"))
            else:
                self.report(path, f"keys matching {pattern!r} no longer allowed")


def _resolve(node: Schema, root: Schema) -> tuple[Schema, str | None]:
    ref = None
    for _ in range(32):  # a chain of $refs, never a cycle
        if "$ref" in node:
            ref = node["$ref"]
            target: Any = root
            for part in str(ref).removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        elif len(node.get("allOf", ())) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        else:
            break
    return node, ref


def _alternatives(node: Schema, root: Schema) -> list[Schema]:
    alts = node.get("anyOf") or node.get("oneOf")
    return [_resolve(alt, root)[0] for alt in alts] if alts else [node]


def _types(alternatives: Sequence[Schema]) -> set[str]:
    found: set[str] = set()
    for node in alternatives:
        if "type" in node:
            found |= set(node["type"]) if isinstance(node["type"], list) else {node["type"]}
        elif "const" in node or "enum" in node:
            found |= {_json_type(value) for value in _values(node) or ()}
        elif {"properties", "additionalProperties", "patternProperties"} & node.keys():
            found.add("object")
        elif "items" in node or "prefixItems" in node:
            found.add("array")
        else:
            found.add("any")
    return found


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "object")


def _accepts(types: set[str], kind: str) -> bool:
    return "any" in types or kind in types or (kind == "integer" and "number" in types)


def _overlaps(kinds: set[str], node: Schema) -> bool:
    return any(_accepts(_types([node]), kind) for kind in kinds)


def _values(node: Schema) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    return list(node["enum"]) if "enum" in node else None


def _bound(node: Schema, keys: tuple[str, str], sign: int) -> tuple[float, bool] | None:
    """The strictest bound of ``keys`` (inclusive, exclusive), larger meaning stricter."""
    found = [(sign * node[key], key == keys[1]) for key in keys if key in node]
    return max(found) if found else None


def _show(node: Schema, keys: tuple[str, str]) -> str:
    shown = [f"{key} {node[key]}" for key in keys if key in node]
    return " and ".join(shown) or "none"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``write`` or ``check`` command; return the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m jules_contracts.schema")
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write the schema snapshots into DIR")
    write.add_argument("directory", type=Path, metavar="DIR")
    write.add_argument("--allow-breaking", action="store_true", help="write even if breaking")
    check = commands.add_parser("check", help="fail if DIR differs from the export")
    check.add_argument("directory", type=Path, metavar="DIR")
    args = parser.parse_args(argv)

    diff = compare_snapshots(args.directory)
    if args.command == "check":
        print(diff.message(), file=sys.stdout if diff.up_to_date else sys.stderr)
        return 0 if diff.up_to_date else 1
    if diff.breaking and not args.allow_breaking:
        print(f"{diff.message()}\nNothing written.", file=sys.stderr)
        return 1
    written = write_schemas(args.directory)
    print(f"wrote {len(written)} files to {args.directory} ({len(diff.changed)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
