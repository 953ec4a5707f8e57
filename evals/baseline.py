"""`xinda eval --baseline old/report.json`: which questions flipped between two runs, and
how the headline figures moved."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import BadInput

SNIPPET_CHARS = 80


@dataclass(frozen=True)
class Flip:
    """One question right in one run and wrong in the other."""

    backend: str
    id: str
    lang: str
    question: str
    old_answer: str
    new_answer: str
    now_right: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready flip."""
        return {
            "id": self.id,
            "lang": self.lang,
            "question": self.question,
            "old_answer": self.old_answer,
            "new_answer": self.new_answer,
        }


@dataclass(frozen=True)
class Comparison:
    """A run against its baseline, per backend both ran."""

    baseline: str
    flips: dict[str, list[Flip]] = field(default_factory=dict)
    only_old: dict[str, int] = field(default_factory=dict)  # ids the new run did not ask
    only_new: dict[str, int] = field(default_factory=dict)
    headline: dict[str, dict[str, tuple[float | None, float | None]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready comparison (report.json `baseline`)."""
        return {
            "path": self.baseline,
            "backends": {
                backend: {
                    "right_to_wrong": [f.to_dict() for f in flips if not f.now_right],
                    "wrong_to_right": [f.to_dict() for f in flips if f.now_right],
                    "only_in_baseline": self.only_old.get(backend, 0),
                    "only_in_this_run": self.only_new.get(backend, 0),
                    "headline": {
                        m: {"baseline": old, "now": new}
                        for m, (old, new) in self.headline.get(backend, {}).items()
                    },
                }
                for backend, flips in self.flips.items()
            },
        }


def load_report(path: Path) -> dict[str, Any]:
    """A report.json written by `xinda eval`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"baseline report not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"baseline {path} is not a JSON report: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items", {}), dict):
        raise BadInput(f"baseline {path} is not a report.json of `xinda eval`")
    return data


def was_right(record: Mapping[str, Any], kind: str | None) -> bool:
    """A record's correctness; reports older than the `right` field only had `correct`
    (always false for unanswerable items, where a refusal is the right answer)."""
    if "right" in record:
        return bool(record["right"])
    return bool(record.get("correct")) or (kind == "unanswerable" and bool(record.get("refused")))


def _snippet(text: object) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def diff_items(
    backend: str, old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[Flip]:
    """Questions of both runs whose correctness differs, in the new run's order."""
    flips = []
    for item_id, now in new.items():
        before = old.get(item_id)
        if before is None:
            continue
        kind = now.get("type") or before.get("type")
        right_now, right_before = was_right(now, kind), was_right(before, kind)
        if right_now != right_before:
            flips.append(
                Flip(
                    backend=backend,
                    id=item_id,
                    lang=str(now.get("lang") or before.get("lang") or ""),
                    question=str(now.get("question") or before.get("question") or ""),
                    old_answer=_snippet(before.get("answer")),
                    new_answer=_snippet(now.get("answer")),
                    now_right=right_now,
                )
            )
    return flips


def compare(old: Mapping[str, Any], new: Mapping[str, Any], baseline: str) -> Comparison:
    """Flips and headline moves for every backend answered in both reports."""
    comparison = Comparison(baseline)
    old_items, new_items = old.get("items", {}), new.get("items", {})
    for backend in new_items:
        if backend not in old_items:
            continue
        before, now = old_items[backend], new_items[backend]
        comparison.flips[backend] = diff_items(backend, before, now)
        comparison.only_old[backend] = len(set(before) - set(now))
        comparison.only_new[backend] = len(set(now) - set(before))
        old_head = old.get("headline", {}).get(backend, {})
        new_head = new.get("headline", {}).get(backend, {})
        comparison.headline[backend] = {
            m: (old_head.get(m), new_head.get(m)) for m in new_head if m in old_head
        }
    return comparison


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def comparison_markdown(comparison: Comparison, backends: Sequence[str]) -> str:
    """Headline moves and flipped questions as markdown, for report.md and the terminal."""
    parts = [f"Baseline: `{comparison.baseline}`"]
    for backend in backends:
        if backend not in comparison.flips:
            parts.append(f"\n{backend}: not answered in the baseline, nothing to compare.")
            continue
        moves = comparison.headline.get(backend, {})
        if moves:
            rows = ["| metric | baseline | now | change |", "|---|---|---|---|"]
            for metric, (old, new) in moves.items():
                change = "" if old is None or new is None else f"{new - old:+.3f}"
                rows.append(f"| {metric} | {_num(old)} | {_num(new)} | {change} |")
            parts.append(f"\n### {backend}: headline\n\n" + "\n".join(rows))
        flips = comparison.flips[backend]
        for label, now_right in (("right → wrong", False), ("wrong → right", True)):
            chosen = [f for f in flips if f.now_right == now_right]
            parts.append(f"\n### {backend}: {label} ({len(chosen)})\n")
            if chosen:
                rows = ["| id | lang | question | baseline answer | new answer |"]
                rows.append("|---|---|---|---|---|")
                for f in chosen:
                    rows.append(
                        f"| {f.id} | {f.lang} | {_cell(f.question)} | {_cell(f.old_answer)} | "
                        f"{_cell(f.new_answer)} |"
                    )
                parts.append("\n".join(rows))
        only_old, only_new = (
            comparison.only_old.get(backend, 0),
            comparison.only_new.get(backend, 0),
        )
        if only_old or only_new:
            parts.append(
                f"\n{only_old} question(s) only in the baseline, {only_new} only in this run "
                "(not compared)."
            )
    return "\n".join(parts)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
