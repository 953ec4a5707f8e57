"""The baseline diff: flipped questions and headline moves between two report.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.baseline import compare, comparison_markdown, diff_items, load_report, was_right
from ingest.errors import BadInput


def rec(right: bool, answer: str = "答", kind: str = "number", **extra: Any) -> dict[str, Any]:
    return {"lang": "zh", "type": kind, "question": f"问{answer}", "answer": answer,
            "right": right, **extra}  # fmt: skip


def test_flips_both_ways_in_the_new_order() -> None:
    old = {"a": rec(True, "旧a"), "b": rec(False, "旧b"), "c": rec(True), "gone": rec(True)}
    new = {"b": rec(True, "新b"), "a": rec(False, "新a"), "c": rec(True), "added": rec(False)}
    flips = diff_items("extractive", old, new)
    assert [(f.id, f.now_right, f.old_answer, f.new_answer) for f in flips] == [
        ("b", True, "旧b", "新b"),
        ("a", False, "旧a", "新a"),
    ]


def test_old_reports_without_right_field() -> None:
    # Reports before `right` held `correct`, false for unanswerable items even when refused.
    assert was_right({"correct": False, "refused": True}, "unanswerable")
    assert not was_right({"correct": False, "refused": True}, "number")
    assert was_right({"correct": True, "refused": False}, "number")
    old = {"na": {"correct": False, "refused": True, "answer": "资料中没有"}}
    new = {"na": rec(False, "瞎答", kind="unanswerable")}
    (flip,) = diff_items("extractive", old, new)
    assert flip.id == "na" and not flip.now_right


def test_long_answers_are_cut_and_flattened() -> None:
    old = {"a": rec(True, "第一行\n" + "长" * 200)}
    (flip,) = diff_items("x", old, {"a": rec(False)})
    assert "\n" not in flip.old_answer and len(flip.old_answer) == 80
    assert flip.old_answer.endswith("…")


def report(items: dict[str, dict[str, Any]], accuracy: float) -> dict[str, Any]:
    return {"items": {"extractive": items}, "headline": {"extractive": {"accuracy": accuracy}}}


def test_compare_and_markdown() -> None:
    old = report({"a": rec(True, "A|B"), "b": rec(False), "x": rec(True)}, 0.6)
    new = report({"a": rec(False, "新"), "b": rec(True), "y": rec(True)}, 0.5)
    comparison = compare(old, new, "old/report.json")
    data = comparison.to_dict()["backends"]["extractive"]
    assert [f["id"] for f in data["right_to_wrong"]] == ["a"]
    assert [f["id"] for f in data["wrong_to_right"]] == ["b"]
    assert (data["only_in_baseline"], data["only_in_this_run"]) == (1, 1)
    assert data["headline"] == {"accuracy": {"baseline": 0.6, "now": 0.5}}
    md = comparison_markdown(comparison, ["extractive", "local"])
    assert "right → wrong (1)" in md and "wrong → right (1)" in md
    assert "| a | zh | 问新 | A\\|B | 新 |" in md  # pipes escaped in table cells
    assert "| accuracy | 0.600 | 0.500 | -0.100 |" in md
    assert "local: not answered in the baseline" in md


def test_backends_missing_from_the_baseline_are_skipped() -> None:
    comparison = compare({"items": {}}, report({"a": rec(True)}, 1.0), "b.json")
    assert comparison.flips == {}


def test_load_report(tmp_path: Path) -> None:
    good = tmp_path / "report.json"
    good.write_text(json.dumps(report({"a": rec(True)}, 1.0)), encoding="utf-8")
    assert load_report(good)["items"]["extractive"]["a"]["right"] is True
    with pytest.raises(BadInput, match="not found"):
        load_report(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(BadInput, match="not a JSON report"):
        load_report(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1]", encoding="utf-8")
    with pytest.raises(BadInput, match="not a report.json"):
        load_report(tmp_path / "list.json")
