"""Gates as pure functions: parsing, pass, fail, missing metric; the real gates file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evals.gates import Gate, check_gates, load_gates, parse_gates, verdict_table
from evals.summary import HEADLINE_METRICS
from ingest.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent

GATES = {
    "extractive": [
        Gate("accuracy", "min", 0.5),
        Gate("wrongly_refused", "max", 0.1),
    ]
}


def verdicts(**figures: float | None) -> dict[str, bool]:
    checked = check_gates({"extractive": figures}, GATES)
    return {v.gate.metric: v.passed for v in checked}


def test_pass() -> None:
    assert verdicts(accuracy=0.6, wrongly_refused=0.05) == {
        "accuracy": True,
        "wrongly_refused": True,
    }


def test_bounds_are_inclusive() -> None:
    assert verdicts(accuracy=0.5, wrongly_refused=0.1) == {
        "accuracy": True,
        "wrongly_refused": True,
    }


def test_fail_below_min_and_above_max() -> None:
    assert verdicts(accuracy=0.49, wrongly_refused=0.11) == {
        "accuracy": False,
        "wrongly_refused": False,
    }


def test_missing_or_unmeasured_metric_fails() -> None:
    assert verdicts(wrongly_refused=0.0) == {"accuracy": False, "wrongly_refused": True}
    assert verdicts(accuracy=None, wrongly_refused=0.0)["accuracy"] is False
    assert verdicts(accuracy=math.nan, wrongly_refused=0.0)["accuracy"] is False


def test_only_backends_in_the_run_are_checked() -> None:
    gates = {**GATES, "local": [Gate("accuracy", "min", 0.9)]}
    checked = check_gates({"extractive": {"accuracy": 0.6, "wrongly_refused": 0.0}}, gates)
    assert {v.backend for v in checked} == {"extractive"}
    assert check_gates({"openai": {"accuracy": 0.1}}, gates) == []


def test_verdict_table() -> None:
    table = verdict_table(check_gates({"extractive": {"accuracy": 0.7}}, GATES))
    assert "| extractive | accuracy | 0.700 | ≥ 0.500 | PASS |" in table
    assert "| extractive | wrongly_refused | missing | ≤ 0.100 | FAIL |" in table


def test_parse_gates() -> None:
    parsed = parse_gates(
        {"local": {"margin": 0.03, "accuracy": {"min": 0.5}, "language_ok": {"min": 1, "max": 1}}}
    )
    assert parsed == {
        "local": [
            Gate("accuracy", "min", 0.5),
            Gate("language_ok", "min", 1.0),
            Gate("language_ok", "max", 1.0),
        ]
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"local": {"acuracy": {"min": 0.5}}}, "unknown metric"),
        ({"local": {"accuracy": 0.5}}, "min = 0.5"),
        ({"local": {"accuracy": {}}}, "min = 0.5"),
        ({"local": {"accuracy": {"least": 0.5}}}, "min = 0.5"),
        ({"local": {"accuracy": {"min": "0.5"}}}, "must be a number"),
        ({"local": {"accuracy": {"min": True}}}, "must be a number"),
        ({"local": 3}, "must be a table"),
    ],
)
def test_bad_gates_are_bad_input(data: dict[str, object], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_gates(data)


def test_unreadable_gates_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not found"):
        load_gates(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[extractive\naccuracy = ", encoding="utf-8")
    with pytest.raises(BadInput, match="not valid TOML"):
        load_gates(bad)


def test_the_project_gates_file() -> None:
    gates = load_gates(ROOT / "evals" / "gates.toml")
    assert set(gates) == {"extractive", "local"}
    for backend, rules in gates.items():
        names = {g.metric for g in rules}
        must = {"accuracy", "accuracy_zh", "accuracy_en", "refusal_recall", "wrongly_refused"}
        must |= {"citation_validity", "language_ok", "retrieval_recall_at_5"}
        assert must <= names <= set(HEADLINE_METRICS), backend
        assert all(0.0 <= g.limit <= 1.0 for g in rules)
        assert [g.bound for g in rules if g.metric == "wrongly_refused"] == ["max"]
