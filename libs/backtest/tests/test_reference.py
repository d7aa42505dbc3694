"""The configuration reference and JSON Schema in the docs are those the models generate, and
every key has a meaning."""

from __future__ import annotations

import json

from jules_backtest.reference import MARKDOWN_FILE, SCHEMA_FILE, json_schema, reference_markdown

from .sample_data import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def test_the_docs_hold_the_generated_reference_and_schema() -> None:
    hint = "regenerate: python -m jules_backtest.reference write docs"
    assert (DOCS / MARKDOWN_FILE).read_text() == reference_markdown(), hint
    assert json.loads((DOCS / SCHEMA_FILE).read_text()) == json_schema(), hint


def test_every_key_of_every_section_says_what_it_means() -> None:
    rows = [line for line in reference_markdown().splitlines() if line.startswith("| `")]
    assert len(rows) >= 100
    empty = [row for row in rows if row.rstrip().endswith("|  |")]
    assert empty == []
    sections = {line[3:] for line in reference_markdown().splitlines() if line.startswith("## ")}
    assert {"BacktestConfig", "DataSource", "RiskControls", "VenueConfig"} <= sections


def test_the_schema_lists_the_canonical_choices_and_the_intro_says_any_case() -> None:
    defs = json_schema()["$defs"]
    fill_model = defs["VenueConfig"]["properties"]["fill_model"]
    assert sorted(fill_model["discriminator"]["mapping"]) == [
        "bar_close_slippage",
        "kyle_lambda",
        "l1_quote",
        "l2_book",
        "next_bar_open",
    ]
    assert defs["PriceType"]["enum"] == ["TRADE", "BID", "ASK", "MID"]
    assert defs["SizingConfig"]["properties"]["kind"]["enum"][0] == "fixed_fraction"
    assert "are read in\nany case" in reference_markdown()
