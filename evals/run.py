"""`xinda eval`: run an eval set against the system and report its metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.dataset import EvalItem
from evals.metrics import (
    RetrievalScores,
    answer_correct,
    citation_lines_hold_text,
    first_relevant_rank,
    grouped,
    holds_evidence,
    retrieval_scores,
)
from index.progress import NoProgress, Progress
from index.retriever import HybridRetriever, Mode
from service.answer import AnswerPipeline
from service.language import answer_language_ok

SEARCH_DEPTH = 10


@dataclass(frozen=True)
class RetrievalReport:
    """Retrieval figures of one run: overall, by language, by type, per question."""

    mode: str
    overall: RetrievalScores
    by_language: dict[str, RetrievalScores]
    by_type: dict[str, RetrievalScores]
    ranks: dict[str, int | None]
    latency_ms: list[float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        lat = sorted(self.latency_ms)
        return {
            "mode": self.mode,
            "overall": self.overall.to_dict(),
            "by_language": {k: v.to_dict() for k, v in self.by_language.items()},
            "by_type": {k: v.to_dict() for k, v in self.by_type.items()},
            "latency_ms": {
                "p50": lat[len(lat) // 2] if lat else 0.0,
                "p95": lat[int(len(lat) * 0.95)] if lat else 0.0,
            },
            "ranks": self.ranks,
        }


def run_retrieval(
    items: Sequence[EvalItem],
    retriever: HybridRetriever,
    mode: Mode = "hybrid",
    progress: Progress | None = None,
    translate_with: tuple[AnswerPipeline, str] | None = None,
) -> RetrievalReport:
    """Search every answerable item and score where its evidence was ranked.

    With `translate_with=(pipeline, backend)` the search is the answering pipeline's own:
    English questions are also translated by that LLM and both hit lists fused.
    """
    progress = progress or NoProgress()
    answerable = [i for i in items if i.answerable]
    label = mode if translate_with is None else f"{mode}+{translate_with[1]} translation"
    progress.start(f"retrieval ({label})", len(answerable))
    ranks: list[int | None] = []
    latency: list[float] = []
    for item in answerable:
        started = time.perf_counter()
        if translate_with is None:
            found = retriever.search(item.question, k=SEARCH_DEPTH, mode=mode).hits
        else:
            pipeline, backend = translate_with
            found = pipeline.prepare(item.question, k=SEARCH_DEPTH, backend=backend).hits
        latency.append((time.perf_counter() - started) * 1000)
        hits = [(h.chunk.source, h.chunk.text) for h in found]
        ranks.append(first_relevant_rank(item, hits))
        progress.advance()
    return RetrievalReport(
        mode=label,
        overall=retrieval_scores(ranks),
        by_language=grouped(answerable, ranks, lambda i: i.lang),
        by_type=grouped(answerable, ranks, lambda i: i.type),
        ranks={i.id: r for i, r in zip(answerable, ranks, strict=True)},
        latency_ms=latency,
    )


def retrieval_table(reports: Sequence[RetrievalReport]) -> str:
    """A markdown table: recall@1/5/10 and MRR per mode and language."""
    lines = [
        "| mode | language | n | recall@1 | recall@5 | recall@10 | MRR |",
        "|---|---|---|---|---|---|---|",
    ]
    for report in reports:
        rows = [("all", report.overall), *report.by_language.items()]
        for lang, s in rows:
            lines.append(
                f"| {report.mode} | {lang} | {s.n} | {s.recall[1]:.3f} | {s.recall[5]:.3f} | "
                f"{s.recall[10]:.3f} | {s.mrr:.3f} |"
            )
    return "\n".join(lines)


def write_reports(
    out: Path,
    reports: Sequence[RetrievalReport],
    header: str,
    answers: Mapping[str, dict[str, Any]] | None = None,
    records: Mapping[str, Sequence[AnswerRecord]] | None = None,
) -> None:
    """Write report.json and report.md into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"retrieval": [r.to_dict() for r in reports]}
    md = f"# XinDa eval\n\n{header}\n\n## Retrieval\n\n{retrieval_table(reports)}\n"
    for backend, summary in (answers or {}).items():
        data.setdefault("answers", {})[backend] = summary
        md += f"\n## Answers ({backend})\n\n{answer_table(backend, summary)}\n"
    for backend, rows in (records or {}).items():
        data.setdefault("items", {})[backend] = {
            r.item.id: {"correct": r.correct, "refused": r.refused, "answer": r.answer}
            for r in rows
        }
    (out / "report.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (out / "report.md").write_text(md, encoding="utf-8")


@dataclass(frozen=True)
class AnswerRecord:
    """One answered eval item."""

    item: EvalItem
    answer: str
    refused: bool
    correct: bool
    language_ok: bool
    citations_valid: bool
    citation_supports: bool
    ms: float


def run_answers(
    items: Sequence[EvalItem],
    pipeline: AnswerPipeline,
    backend: str,
    corpus_dir: Path,
    progress: Progress | None = None,
) -> list[AnswerRecord]:
    """Answer every item with `backend` and check answer, refusal, citations, language."""
    progress = progress or NoProgress()
    progress.start(f"answers ({backend})", len(items))
    lines_cache: dict[str, list[str]] = {}
    records = []
    for item in items:
        started = time.perf_counter()
        answer = pipeline.answer(item.question, backend=backend)
        ms = (time.perf_counter() - started) * 1000
        markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.answer)}
        numbers = {c.n for c in answer.citations}
        valid = markers <= numbers
        supports = False
        for c in answer.citations:
            chunk = c.hit.chunk
            path = corpus_dir / chunk.source
            if chunk.source not in lines_cache:
                raw = path.read_bytes().decode("utf-8-sig") if path.is_file() else ""
                lines_cache[chunk.source] = re.split(r"\r\n|\r|\n", raw)
            lines = lines_cache[chunk.source]
            valid = valid and citation_lines_hold_text(
                chunk.text, lines, chunk.line_start, chunk.line_end
            )
            supports = supports or holds_evidence(item, chunk.source, chunk.text)
        records.append(
            AnswerRecord(
                item=item,
                answer=answer.answer,
                refused=answer.refused,
                correct=answer_correct(item, answer.answer, answer.refused),
                language_ok=answer_language_ok(answer.answer, item.lang),  # type: ignore[arg-type]
                citations_valid=valid,
                citation_supports=supports,
                ms=ms,
            )
        )
        progress.advance()
    return records


def answer_summary(records: Sequence[AnswerRecord]) -> dict[str, Any]:
    """Headline answer metrics, overall and by language."""

    def block(rs: Sequence[AnswerRecord]) -> dict[str, Any]:
        ans = [r for r in rs if r.item.answerable]
        unans = [r for r in rs if not r.item.answerable]
        refused = [r for r in rs if r.refused]
        answered = [r for r in rs if not r.refused]
        lat = sorted(r.ms for r in rs)
        return {
            "n": len(rs),
            "accuracy": _share(r.correct for r in ans),
            "unanswerable_refused": _share(r.refused for r in unans),
            "answerable_refused": _share(r.refused for r in ans),
            "refusal_precision": _share(not r.item.answerable for r in refused),
            "citations_valid": _share(r.citations_valid for r in rs),
            "citation_support": _share(r.citation_supports for r in answered if r.item.answerable),
            "language_ok": _share(r.language_ok for r in rs),
            "latency_p50_ms": lat[len(lat) // 2] if lat else 0.0,
            "latency_p95_ms": lat[int(len(lat) * 0.95)] if lat else 0.0,
        }

    summary = {"all": block(records)}
    for lang in sorted({r.item.lang for r in records}):
        summary[lang] = block([r for r in records if r.item.lang == lang])
    by_type: dict[str, Any] = {}
    for kind in sorted({r.item.type for r in records}):
        rs = [r for r in records if r.item.type == kind]
        by_type[kind] = _share(r.correct or (kind == "unanswerable" and r.refused) for r in rs)
    summary["by_type_correct"] = by_type
    return summary


def answer_table(backend: str, summary: dict[str, Any]) -> str:
    """A markdown table of the headline answer metrics by language."""
    keys = ["accuracy", "unanswerable_refused", "answerable_refused", "refusal_precision",
            "citations_valid", "citation_support", "language_ok", "latency_p50_ms"]  # fmt: skip
    lines = ["| backend | language | n | " + " | ".join(keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]  # fmt: skip
    for lang in ("all", "zh", "en"):
        if lang in summary:
            row = summary[lang]
            cells = [f"{row[k]:.3f}" if k != "latency_p50_ms" else f"{row[k]:.0f}" for k in keys]
            lines.append(f"| {backend} | {lang} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0
