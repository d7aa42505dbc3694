"""JSON Schema snapshots and the backward-compatibility checker that guards them.

The committed snapshots in ``schemas/v1`` must equal the export; when they differ, the failure
says whether the change is breaking (a new major version is needed) or additive (rerun
``make schemas``). ``breaking_changes`` is tested rule by rule on small hand-written schemas,
then on the real exported ones.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jules_contracts import ALL_TOPICS, EVENT_TYPES
from jules_contracts.schema import (
    breaking_changes,
    compare_snapshots,
    export_index,
    export_schemas,
    main,
    write_schemas,
)

SNAPSHOTS = Path(__file__).parents[1] / "schemas" / "v1"

Schema = dict[str, Any]


def test_exported_schemas_equal_the_committed_snapshots() -> None:
    diff = compare_snapshots(SNAPSHOTS)

    assert diff.up_to_date, diff.message()


def test_export_has_one_schema_per_event_type_and_is_reproducible() -> None:
    first, second = export_schemas(), export_schemas()

    assert list(first) == [cls.EVENT_TYPE for cls in EVENT_TYPES]
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert all(
        schema["properties"]["event_type"]["const"] == name for name, schema in first.items()
    )


def test_snapshot_files_are_sorted_two_space_json_ending_with_a_newline() -> None:
    text = (SNAPSHOTS / "md.trade.json").read_text(encoding="utf-8")
    document = json.loads(text)

    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_index_lists_every_topic_with_its_key_dead_letter_topic_and_event_types() -> None:
    index = json.loads((SNAPSHOTS / "index.json").read_text(encoding="utf-8"))

    assert index == export_index()
    assert [topic["name"] for topic in index["topics"]] == [t.name for t in ALL_TOPICS]
    trades = index["topics"][0]
    assert trades == {
        "name": "md.trades.v1",
        "key_field": "instrument_id",
        "default_key": "",
        "dlq": "md.trades.v1.dlq",
        "event_types": ["md.trade", "system.watermark"],  # watermarks: topic replays
        "description": "Trades printed by venues.",
    }


def test_timestamps_are_exported_as_int64_nanoseconds() -> None:
    event_time = export_schemas()["md.trade"]["properties"]["event_time"]

    assert event_time["type"] == "integer"
    assert (event_time["minimum"], event_time["maximum"]) == (0, 2**63 - 1)


# --- breaking_changes, rule by rule ----------------------------------------------------------

BASE: Schema = {
    "$defs": {
        "Side": {"enum": ["BUY", "SELL"], "type": "string"},
        "Order": {
            "properties": {
                "quantity": {"exclusiveMinimum": 0, "type": "number"},
                "tag": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            "required": ["quantity"],
            "type": "object",
        },
    },
    "properties": {
        "event_type": {"const": "demo.event", "default": "demo.event", "type": "string"},
        "price": {"exclusiveMinimum": 0, "type": "number"},
        "weight": {"maximum": 1, "minimum": -1, "type": "number"},
        "count": {"minimum": 0, "type": "integer"},
        "side": {"$ref": "#/$defs/Side"},
        "venue": {"maxLength": 64, "minLength": 1, "pattern": "^[A-Z]+$", "type": "string"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "order": {"$ref": "#/$defs/Order"},
        "levels": {"items": {"$ref": "#/$defs/Order"}, "type": "array"},
        "metrics": {"additionalProperties": {"type": "number"}, "type": "object"},
    },
    "required": ["event_type", "price", "side", "order"],
    "title": "Demo",
    "type": "object",
}


def _changed(mutate: Callable[[Schema], object]) -> Schema:
    schema = copy.deepcopy(BASE)
    mutate(schema)
    return schema


def _props(schema: Schema) -> Schema:
    props: Schema = schema["properties"]
    return props


BREAKING = [
    pytest.param(lambda s: _props(s).pop("note"), "note: property removed", id="removed-property"),
    pytest.param(
        lambda s: s["required"].append("note"),
        "note: property is newly required",
        id="optional-made-required",
    ),
    pytest.param(
        lambda s: (_props(s).update(broker={"type": "string"}), s["required"].append("broker")),
        "broker: property is newly required",
        id="new-required-property",
    ),
    pytest.param(
        lambda s: s["$defs"]["Side"].update(enum=["BUY"]),
        "side: value ['SELL'] no longer allowed (now ['BUY'])",
        id="enum-value-removed",
    ),
    pytest.param(
        lambda s: _props(s)["event_type"].update(const="demo.event2"),
        "event_type: value ['demo.event'] no longer allowed (now ['demo.event2'])",
        id="literal-const-changed",
    ),
    pytest.param(
        lambda s: _props(s)["price"].update(type="string"),
        "price: type changed from number to string",
        id="type-changed",
    ),
    pytest.param(
        lambda s: _props(s)["price"].update(type="integer"),
        "price: type changed from number to integer",
        id="number-narrowed-to-integer",
    ),
    pytest.param(
        lambda s: _props(s).update(note={"type": "string"}),
        "note: type changed from null|string to string",
        id="no-longer-nullable",
    ),
    pytest.param(
        lambda s: _props(s)["price"].update(exclusiveMinimum=1),
        "price: lower bound tightened from exclusiveMinimum 0 to exclusiveMinimum 1",
        id="tighter-exclusive-minimum",
    ),
    pytest.param(
        lambda s: _props(s)["count"].update(exclusiveMinimum=0),
        "count: lower bound tightened from minimum 0 to minimum 0 and exclusiveMinimum 0",
        id="minimum-made-exclusive",
    ),
    pytest.param(
        lambda s: _props(s)["weight"].update(maximum=0.5),
        "weight: upper bound tightened from maximum 1 to maximum 0.5",
        id="tighter-maximum",
    ),
    pytest.param(
        lambda s: _props(s)["count"].update(maximum=100),
        "count: upper bound tightened from none to maximum 100",
        id="maximum-added",
    ),
    pytest.param(
        lambda s: _props(s)["venue"].update(maxLength=8),
        "venue: maxLength tightened from 64 to 8",
        id="tighter-max-length",
    ),
    pytest.param(
        lambda s: _props(s)["venue"].update(minLength=3),
        "venue: minLength tightened from 1 to 3",
        id="tighter-min-length",
    ),
    pytest.param(
        lambda s: _props(s)["venue"].update(pattern="^[A-Z]{3,}$"),
        "venue: pattern changed from '^[A-Z]+$' to '^[A-Z]{3,}$'",
        id="pattern-changed",
    ),
    pytest.param(
        lambda s: _props(s)["note"]["anyOf"][0].update(pattern="^[a-z]*$"),
        "note: pattern changed from None to '^[a-z]*$'",
        id="pattern-added-inside-optional",
    ),
    pytest.param(
        lambda s: s["$defs"]["Order"]["properties"]["quantity"].update(exclusiveMinimum=10),
        "order.quantity: lower bound tightened from exclusiveMinimum 0 to exclusiveMinimum 10",
        id="nested-ref-constraint",
    ),
    pytest.param(
        lambda s: s["$defs"]["Order"]["properties"].pop("tag"),
        "order.tag: property removed",
        id="nested-ref-property-removed",
    ),
    pytest.param(
        lambda s: s["$defs"]["Order"]["required"].append("tag"),
        "levels[].tag: property is newly required",
        id="array-item-newly-required",
    ),
    pytest.param(
        lambda s: _props(s)["metrics"]["additionalProperties"].update(type="integer"),
        "metrics.*: type changed from number to integer",
        id="map-value-narrowed",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), BREAKING)
def test_breaking_change_is_reported_with_its_path(
    mutate: Callable[[Schema], object], expected: str
) -> None:
    changes = breaking_changes(BASE, _changed(mutate))

    assert expected in changes


def test_a_nested_model_change_is_reported_at_every_field_holding_it() -> None:
    changes = breaking_changes(
        BASE, _changed(lambda s: s["$defs"]["Order"]["properties"].pop("tag"))
    )

    assert changes == ["order.tag: property removed", "levels[].tag: property removed"]


COMPATIBLE = [
    pytest.param(lambda s: None, id="identical"),
    pytest.param(lambda s: _props(s).update(broker={"type": "string"}), id="new-optional-property"),
    pytest.param(
        lambda s: s["$defs"]["Side"].update(enum=["BUY", "SELL", "SHORT"]), id="enum-value-added"
    ),
    pytest.param(lambda s: s["required"].remove("side"), id="required-made-optional"),
    pytest.param(
        lambda s: _props(s)["count"].update(type="number"), id="integer-widened-to-number"
    ),
    pytest.param(
        lambda s: _props(s).update(
            price={"anyOf": [BASE["properties"]["price"], {"type": "null"}]}
        ),
        id="made-nullable",
    ),
    pytest.param(lambda s: _props(s)["price"].update(exclusiveMinimum=-1), id="looser-minimum"),
    pytest.param(
        lambda s: (
            _props(s)["price"].pop("exclusiveMinimum") and _props(s)["price"].update(minimum=0)
        ),
        id="exclusive-minimum-made-inclusive",
    ),
    pytest.param(lambda s: _props(s)["weight"].pop("maximum"), id="maximum-removed"),
    pytest.param(
        lambda s: _props(s)["venue"].update(maxLength=128, minLength=0), id="looser-lengths"
    ),
    pytest.param(lambda s: _props(s)["venue"].pop("pattern"), id="pattern-removed"),
    pytest.param(
        lambda s: s.update(title="Renamed", description="Docs changed."), id="title-and-description"
    ),
    pytest.param(
        lambda s: s["$defs"]["Order"]["properties"].update(venue={"type": "string"}),
        id="nested-new-optional-property",
    ),
]


@pytest.mark.parametrize("mutate", COMPATIBLE)
def test_compatible_change_is_not_breaking(mutate: Callable[[Schema], object]) -> None:
    assert breaking_changes(BASE, _changed(mutate)) == []


def test_schema_changed_in_place_of_a_ref_is_compared_through_the_ref() -> None:
    inlined = _changed(lambda s: _props(s).update(side={"enum": ["BUY"], "type": "string"}))

    assert breaking_changes(BASE, inlined) == [
        "side: value ['SELL'] no longer allowed (now ['BUY'])"
    ]


def test_a_self_referencing_model_does_not_loop_forever() -> None:
    tree: Schema = {
        "$defs": {
            "Node": {
                "properties": {"children": {"items": {"$ref": "#/$defs/Node"}, "type": "array"}},
                "type": "object",
            }
        },
        "$ref": "#/$defs/Node",
    }

    assert breaking_changes(tree, copy.deepcopy(tree)) == []


# --- the real schemas ----------------------------------------------------------------------


@pytest.mark.parametrize("event_type", list(export_schemas()))
def test_every_exported_schema_is_compatible_with_itself(event_type: str) -> None:
    schema = export_schemas()[event_type]

    assert breaking_changes(schema, copy.deepcopy(schema)) == []


def test_dropping_a_property_from_a_real_schema_is_reported() -> None:
    old = export_schemas()["md.trade"]
    new = copy.deepcopy(old)
    del new["properties"]["price"]
    new["required"].remove("price")

    assert breaking_changes(old, new) == ["price: property removed"]


def test_dropping_a_property_of_the_nested_order_of_a_real_decision_is_reported() -> None:
    old = export_schemas()["risk.order_approved"]
    new = copy.deepcopy(old)
    del new["$defs"]["SubmitOrder"]["properties"]["limit_price"]

    assert breaking_changes(old, new) == ["order.limit_price: property removed"]


def test_an_older_snapshot_with_a_stricter_timestamp_is_not_broken_by_the_export() -> None:
    old = copy.deepcopy(export_schemas()["order.submit"])
    old["properties"]["expire_time"]["anyOf"][0]["maximum"] = 10**18

    assert breaking_changes(old, export_schemas()["order.submit"]) == []


# --- the command line ----------------------------------------------------------------------


def test_write_then_check_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["write", str(tmp_path)]) == 0
    assert main(["check", str(tmp_path)]) == 0

    assert "match the contracts" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{name}.json" for name in export_schemas()] + ["index.json"]
    )


def test_check_of_a_missing_directory_fails_asking_for_make_schemas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nowhere")]) == 1

    assert "rerun `make schemas`" in capsys.readouterr().err


def test_check_of_a_snapshot_behind_an_additive_change_says_it_is_additive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_schemas(tmp_path)
    _edit(tmp_path / "md.trade.json", lambda s: s["properties"].pop("trade_id"))

    assert main(["check", str(tmp_path)]) == 1

    err = capsys.readouterr().err
    assert "md.trade.json" in err
    assert "additive" in err
    assert "make schemas" in err


def test_check_of_a_breaking_change_says_it_needs_a_new_major_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_schemas(tmp_path)
    _edit(tmp_path / "md.trade.json", _add_legacy_field)

    assert main(["check", str(tmp_path)]) == 1

    err = capsys.readouterr().err
    assert "BREAKING" in err
    assert "md.trade: legacy_venue: property removed" in err
    assert ".v2" in err


def test_write_refuses_a_breaking_change_and_leaves_the_snapshots_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_schemas(tmp_path)
    _edit(tmp_path / "md.trade.json", _add_legacy_field)
    before = (tmp_path / "md.trade.json").read_text(encoding="utf-8")

    assert main(["write", str(tmp_path)]) == 1

    assert (tmp_path / "md.trade.json").read_text(encoding="utf-8") == before
    assert "--allow-breaking" in capsys.readouterr().err


def test_write_with_allow_breaking_overwrites_and_then_check_passes(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    _edit(tmp_path / "md.trade.json", _add_legacy_field)

    assert main(["write", "--allow-breaking", str(tmp_path)]) == 0
    assert main(["check", str(tmp_path)]) == 0


def test_removed_event_type_is_breaking_and_its_stale_file_is_deleted_by_write(
    tmp_path: Path,
) -> None:
    write_schemas(tmp_path)
    stale = export_schemas()["md.trade"] | {"title": "Tick"}
    (tmp_path / "md.tick.json").write_text(json.dumps(stale), encoding="utf-8")
    (tmp_path / "notes.json").write_text('{"keep": true}', encoding="utf-8")

    diff = compare_snapshots(tmp_path)
    write_schemas(tmp_path)

    assert "md.tick: event type removed" in diff.breaking
    assert "md.tick.json" in diff.changed
    assert not (tmp_path / "md.tick.json").exists()
    assert (tmp_path / "notes.json").exists()


def test_removed_topic_in_the_index_is_breaking(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    _edit(
        tmp_path / "index.json",
        lambda index: index["topics"].append({**index["topics"][0], "name": "md.ticks.v1"}),
    )

    assert "topic md.ticks.v1 removed" in compare_snapshots(tmp_path).breaking


def test_the_module_runs_as_a_command_checking_the_committed_snapshots() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jules_contracts.schema", "check", str(SNAPSHOTS)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "match the contracts" in result.stdout


def _edit(path: Path, change: Callable[[Any], object]) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _add_legacy_field(schema: Schema) -> None:
    """Pretend the committed v1 had a field the code no longer has."""
    schema["properties"]["legacy_venue"] = {"type": "string"}
