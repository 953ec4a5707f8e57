"""Per-question answer records and what they add up to: metric blocks overall, by language,
by type and by language × type, and the headline figures the CI gates check."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from evals.dataset import EvalItem
from evals.metrics import percentile, share

# Stages in the order a question passes them; an extractive answer has no `generate`
# (its text is the `extract` step), a generating backend has all of them.
STAGES: Final[tuple[str, ...]] = ("retrieve", "extract", "first_token", "generate", "total")

# The figures `evals/gates.toml` may name, and what each means.
HEADLINE_METRICS: Final[dict[str, str]] = {
    "accuracy": "answerable questions answered right (gold string in the answer)",
    "accuracy_zh": "accuracy on Chinese questions",
    "accuracy_en": "accuracy on English questions",
    "refusal_recall": "unanswerable questions refused",
    "refusal_precision": "refusals that were of unanswerable questions",
    "wrongly_refused": "answerable questions refused (lower is better)",
    "citation_validity": "answers whose every citation's lines hold the cited text",
    "citation_support": "answered answerable questions with a cited passage holding the evidence",
    "language_ok": "answers (refusals too) written in the question's language",
    "retrieval_recall_at_5": "answerable questions with the evidence in the top 5 passages",
}


@dataclass(frozen=True)
class AnswerRecord:
    """One eval item as answered by one backend, with every check made on the answer."""

    item: EvalItem
    answer: str
    refused: bool
    correct: bool
    language_ok: bool
    citations_valid: bool
    citation_supports: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the backend failed (timeout, overload): counted as wrong

    @property
    def right(self) -> bool:
        """Right answer for an answerable item, a refusal for an unanswerable one."""
        return self.correct if self.item.answerable else self.refused

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (report.json `items`; `--baseline` reads it back)."""
        return {
            "lang": self.item.lang,
            "type": self.item.type,
            "question": self.item.question,
            "answer": self.answer,
            "refused": self.refused,
            "correct": self.correct,
            "right": self.right,
            "language_ok": self.language_ok,
            "citations_valid": self.citations_valid,
            "citation_supports": self.citation_supports,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "error": self.error,
        }


def stage_latency(records: Sequence[AnswerRecord]) -> dict[str, dict[str, float | None]]:
    """p50/p95 milliseconds of every stage that any record timed."""
    out: dict[str, dict[str, float | None]] = {}
    for stage in STAGES:
        values = [r.timings_ms[stage] for r in records if stage in r.timings_ms]
        if values:
            out[stage] = {"p50": percentile(values, 50), "p95": percentile(values, 95)}
    return out


def answer_block(records: Sequence[AnswerRecord]) -> dict[str, Any]:
    """The answer metrics of a group of records. A metric with nothing to measure (say,
    refusal recall in a group without unanswerable items) is None, not 0."""
    answerable = [r for r in records if r.item.answerable]
    unanswerable = [r for r in records if not r.item.answerable]
    refused = [r for r in records if r.refused]
    answered = [r for r in records if not r.refused]
    return {
        "n": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "accuracy": share(r.correct for r in answerable),
        "refusal_recall": share(r.refused for r in unanswerable),
        "refusal_precision": share(not r.item.answerable for r in refused),
        "wrongly_refused": share(r.refused for r in answerable),
        "citation_validity": share(r.citations_valid for r in answered),
        "citation_support": share(r.citation_supports for r in answered if r.item.answerable),
        "language_ok": share(r.language_ok for r in records),
        "errors": sum(r.error is not None for r in records),
        "latency_ms": stage_latency(records),
    }


def _by(
    records: Sequence[AnswerRecord], key: Callable[[AnswerRecord], str]
) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[AnswerRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {name: answer_block(rs) for name, rs in sorted(groups.items())}


def answer_summary(records: Sequence[AnswerRecord]) -> dict[str, Any]:
    """Answer metrics overall, by language, by type and by language × type ("zh/number")."""
    return {
        "all": answer_block(records),
        "by_language": _by(records, lambda r: r.item.lang),
        "by_type": _by(records, lambda r: r.item.type),
        "by_language_type": _by(records, lambda r: f"{r.item.lang}/{r.item.type}"),
    }


def headline(summary: Mapping[str, Any], retrieval_recall_at_5: float | None) -> dict[str, Any]:
    """The figures named in HEADLINE_METRICS, from an answer summary and the recall@5 of
    the retrieval the backend answers from."""
    overall = summary["all"]
    by_language = summary.get("by_language", {})
    figures = {
        "accuracy": overall["accuracy"],
        "accuracy_zh": by_language.get("zh", {}).get("accuracy"),
        "accuracy_en": by_language.get("en", {}).get("accuracy"),
        "retrieval_recall_at_5": retrieval_recall_at_5,
    }
    for name in HEADLINE_METRICS:
        figures.setdefault(name, overall.get(name))
    return {name: figures[name] for name in HEADLINE_METRICS}
