"""The eval report: one JSON-ready dict built from a run, rendered as markdown, and written
to DIR as report.json, report.md and report.png."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.summary import HEADLINE_METRICS, AnswerRecord, answer_summary, headline

ANSWER_COLUMNS = (
    "accuracy",
    "refusal_recall",
    "refusal_precision",
    "wrongly_refused",
    "citation_validity",
    "citation_support",
    "language_ok",
)
PLOT_NAME = "report.png"


def recall_at_5_for(backend: str, retrieval: Sequence[Mapping[str, Any]]) -> float | None:
    """Recall@5 of the search the backend answers from: the pipeline's translated search
    when it was measured (`--translate-with BACKEND`), else plain hybrid; None when
    neither mode was run."""
    by_mode = {r["mode"]: r for r in retrieval}
    chosen = by_mode.get(f"hybrid+{backend} translation") or by_mode.get("hybrid")
    return None if chosen is None else chosen["overall"]["recall@5"]


def build_report(
    meta: Mapping[str, Any],
    retrieval: Sequence[Mapping[str, Any]],
    records: Mapping[str, Sequence[AnswerRecord]],
) -> dict[str, Any]:
    """report.json: run facts, retrieval by mode, answer metrics, headline figures and
    per-question records, per backend."""
    answers = {backend: answer_summary(rows) for backend, rows in records.items()}
    return {
        "meta": dict(meta),
        "retrieval": list(retrieval),
        "answers": answers,
        "headline": {
            backend: headline(summary, recall_at_5_for(backend, retrieval))
            for backend, summary in answers.items()
        },
        "items": {
            backend: {r.item.id: r.to_dict() for r in rows} for backend, rows in records.items()
        },
    }


def _num(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def retrieval_table(retrieval: Sequence[Mapping[str, Any]]) -> str:
    """Recall@1/5/10 and MRR per mode: overall, by language, by type."""
    lines = [
        "| mode | group | n | recall@1 | recall@5 | recall@10 | MRR |",
        "|---|---|---|---|---|---|---|",
    ]
    for report in retrieval:
        rows = [("all", report["overall"]), *report["by_language"].items()]
        rows += report["by_type"].items()
        for group, s in rows:
            lines.append(
                f"| {report['mode']} | {group} | {s['n']} | {_num(s['recall@1'])} | "
                f"{_num(s['recall@5'])} | {_num(s['recall@10'])} | {_num(s['mrr'])} |"
            )
    return "\n".join(lines)


def answer_table(backend: str, summary: Mapping[str, Any]) -> str:
    """Answer metrics of one backend: overall, by language, by type."""
    lines = [
        "| backend | group | n | " + " | ".join(ANSWER_COLUMNS) + " |",
        "|---|---|---|" + "---|" * len(ANSWER_COLUMNS),
    ]
    rows = [("all", summary["all"]), *summary["by_language"].items(), *summary["by_type"].items()]
    for group, block in rows:
        cells = " | ".join(_num(block[k]) for k in ANSWER_COLUMNS)
        lines.append(f"| {backend} | {group} | {block['n']} | {cells} |")
    return "\n".join(lines)


def latency_table(backend: str, summary: Mapping[str, Any]) -> str:
    """p50/p95 milliseconds per stage, overall and by language."""
    groups = [("all", summary["all"]), *summary["by_language"].items()]
    head = " | ".join(f"{g} p50 | {g} p95" for g, _ in groups)
    lines = [f"| backend | stage | {head} |", "|---|---|" + "---|---|" * len(groups)]
    for stage in summary["all"]["latency_ms"]:
        cells = []
        for _, block in groups:
            figures = block["latency_ms"].get(stage, {})
            cells += [_num(figures.get("p50"), 0), _num(figures.get("p95"), 0)]
        lines.append(f"| {backend} | {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline_table(figures: Mapping[str, Mapping[str, Any]]) -> str:
    """The gated figures, one column per backend."""
    backends = list(figures)
    lines = ["| metric | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for metric in HEADLINE_METRICS:
        lines.append(
            f"| {metric} | " + " | ".join(_num(figures[b][metric]) for b in backends) + " |"
        )
    return "\n".join(lines)


def report_markdown(
    data: Mapping[str, Any], gates: str | None = None, baseline: str | None = None
) -> str:
    """report.md: headline, gate verdicts, retrieval, answers, latency, baseline flips."""
    meta = data["meta"]
    sample = f", stratified sample of {meta['sample']}" if meta.get("sample") else ""
    parts = [
        "# XinDa eval",
        "",
        f"Set `{meta['set']}`, split `{meta['split']}`{sample}: {meta['items']} items; "
        f"{meta['date']}.",
    ]
    if data["headline"]:
        parts += ["", "## Headline", "", headline_table(data["headline"])]
    if gates is not None:
        parts += ["", "## Gates", "", gates]
    if data["retrieval"]:
        parts += ["", "## Retrieval", "", retrieval_table(data["retrieval"])]
    for backend, summary in data["answers"].items():
        parts += ["", f"## Answers ({backend})", "", answer_table(backend, summary)]
        parts += ["", f"### Latency ms ({backend})", "", latency_table(backend, summary)]
    if baseline is not None:
        parts += ["", "## Against the baseline", "", baseline]
    return "\n".join(parts) + "\n"


def write_report(out: Path, data: Mapping[str, Any], markdown: str, plot: bool = True) -> None:
    """Write report.json, report.md and (unless `plot` is false) report.png into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    if plot:
        from evals.plot import plot_report  # matplotlib costs a second to import

        plot_report(data, out / PLOT_NAME)
        markdown += f"\n![accuracy and latency]({PLOT_NAME})\n"
    (out / "report.md").write_text(markdown, encoding="utf-8")
