"""`xinda eval`: run an eval set against the system — retrieval by mode, answers by backend —
and check every answer. Reports are written by `evals.report`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
    percentile,
    retrieval_scores,
)
from evals.summary import STAGES, AnswerRecord
from index.progress import NoProgress, Progress
from index.retriever import HybridRetriever, Mode
from ingest.errors import BackendTimeout, BackendUnavailable, Overloaded
from service.answer import AnswerPipeline
from service.language import answer_language_ok
from service.results import Answer, Language

SEARCH_DEPTH = 10
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class RetrievalReport:
    """Retrieval figures of one run: overall, by language, by type, per question."""

    mode: str
    overall: RetrievalScores
    by_language: dict[str, RetrievalScores]
    by_type: dict[str, RetrievalScores]
    by_language_type: dict[str, RetrievalScores]
    ranks: dict[str, int | None]
    latency_ms: list[float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "mode": self.mode,
            "overall": self.overall.to_dict(),
            "by_language": {k: v.to_dict() for k, v in self.by_language.items()},
            "by_type": {k: v.to_dict() for k, v in self.by_type.items()},
            "by_language_type": {k: v.to_dict() for k, v in self.by_language_type.items()},
            "latency_ms": {
                "p50": percentile(self.latency_ms, 50),
                "p95": percentile(self.latency_ms, 95),
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
            found = pipeline.search(item.question, k=SEARCH_DEPTH, backend=backend).result.hits
        latency.append((time.perf_counter() - started) * 1000)
        hits = [(h.chunk.source, h.chunk.text) for h in found]
        ranks.append(first_relevant_rank(item, hits))
        progress.advance()
    return RetrievalReport(
        mode=label,
        overall=retrieval_scores(ranks),
        by_language=grouped(answerable, ranks, lambda i: i.lang),
        by_type=grouped(answerable, ranks, lambda i: i.type),
        by_language_type=grouped(answerable, ranks, lambda i: f"{i.lang}/{i.type}"),
        ranks={i.id: r for i, r in zip(answerable, ranks, strict=True)},
        latency_ms=latency,
    )


def score_answer(
    item: EvalItem, answer: Answer, lines_of: Callable[[str], Sequence[str]]
) -> AnswerRecord:
    """Check one answer: correct, language, citations valid and supporting.

    Citations are valid when every `[n]` in the text has a citation and every citation's
    lines in its source file (`lines_of(source)`) hold the cited passage and its quotes.
    Support: one cited passage holds the item's evidence.
    """
    markers = {int(m) for m in _MARKER.findall(answer.answer)}
    valid = markers <= {c.n for c in answer.citations}
    supports = False
    for c in answer.citations:
        chunk = c.hit.chunk
        lines = lines_of(chunk.source)
        for text in (chunk.text, *c.quotes):
            valid = valid and citation_lines_hold_text(
                text, lines, chunk.line_start, chunk.line_end
            )
        supports = supports or holds_evidence(item, chunk.source, chunk.text)
    lang: Language = "zh" if item.lang == "zh" else "en"
    return AnswerRecord(
        item=item,
        answer=answer.answer,
        refused=answer.refused,
        correct=answer_correct(item, answer.answer, answer.refused),
        language_ok=answer_language_ok(answer.answer, lang),
        citations_valid=valid,
        citation_supports=supports,
        timings_ms={k: v for k, v in answer.timings_ms.items() if k in STAGES},
    )


def failed_answer(item: EvalItem, error: str) -> AnswerRecord:
    """The record of an item whose answer failed: wrong, unrefused, nothing cited."""
    return AnswerRecord(
        item=item,
        answer="",
        refused=False,
        correct=False,
        language_ok=False,
        citations_valid=True,
        citation_supports=False,
        error=error,
    )


def file_lines_reader(corpus_dir: Path) -> Callable[[str], Sequence[str]]:
    """`lines_of(source)`: the lines of a corpus file as an editor numbers them (cached);
    no lines for a file that is not there, so its citations count as invalid."""
    cache: dict[str, list[str]] = {}

    def lines_of(source: str) -> Sequence[str]:
        if source not in cache:
            path = corpus_dir / source
            raw = path.read_bytes().decode("utf-8-sig") if path.is_file() else ""
            cache[source] = re.split(r"\r\n|\r|\n", raw) if raw else []
        return cache[source]

    return lines_of


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
    lines_of = file_lines_reader(corpus_dir)
    records = []
    for item in items:
        started = time.perf_counter()
        try:
            answer = pipeline.answer(item.question, backend=backend)
        except (BackendTimeout, BackendUnavailable, Overloaded) as exc:
            # One slow or failed generation is a wrong answer, not a lost eval run.
            records.append(failed_answer(item, f"{type(exc).__name__}: {exc}"))
            progress.advance()
            continue
        timings = {"total": (time.perf_counter() - started) * 1000, **answer.timings_ms}
        answer = replace(answer, timings_ms=timings)
        records.append(score_answer(item, answer, lines_of))
        progress.advance()
    return records
