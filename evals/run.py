"""`xinda eval`: run an eval set against the system and report its metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.dataset import EvalItem
from evals.metrics import RetrievalScores, first_relevant_rank, grouped, retrieval_scores
from index.progress import NoProgress, Progress
from index.retriever import HybridRetriever, Mode

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
) -> RetrievalReport:
    """Search every answerable item and score where its evidence was ranked."""
    progress = progress or NoProgress()
    answerable = [i for i in items if i.answerable]
    progress.start(f"retrieval ({mode})", len(answerable))
    ranks: list[int | None] = []
    latency: list[float] = []
    for item in answerable:
        started = time.perf_counter()
        result = retriever.search(item.question, k=SEARCH_DEPTH, mode=mode)
        latency.append((time.perf_counter() - started) * 1000)
        hits = [(h.chunk.source, h.chunk.text) for h in result.hits]
        ranks.append(first_relevant_rank(item, hits))
        progress.advance()
    return RetrievalReport(
        mode=mode,
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


def write_reports(out: Path, reports: Sequence[RetrievalReport], header: str) -> None:
    """Write report.json and report.md into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(
        json.dumps({"retrieval": [r.to_dict() for r in reports]}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    (out / "report.md").write_text(
        f"# XinDa eval\n\n{header}\n\n## Retrieval\n\n{retrieval_table(reports)}\n",
        encoding="utf-8",
    )
