"""`make bench`: ingest throughput on the bundled corpus; writes bench/report.md.

Later work adds embedding and search timings to the same report.
"""

from __future__ import annotations

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


def main() -> None:
    """Run the benchmarks, print them, write bench/report.md."""
    header = [
        "# XinDa benchmark report",
        "",
        f"- machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}, {__import__('os').cpu_count()} cores",
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}",
        "",
    ]
    body = bench_chunking(Path("corpus"))
    report = "\n".join(header + body) + "\n"
    print(report)
    out = Path("bench")
    out.mkdir(exist_ok=True)
    (out / "report.md").write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
