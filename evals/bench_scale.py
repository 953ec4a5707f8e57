"""`make bench-scale`: dense, BM25 and hybrid search at 100k and 1M synthetic chunks.

Per size: build time, on-disk size, RSS of a fresh process after loading the indexes
(and the embedder), search p50/p95 per mode through the real HybridRetriever, and
recall@10 of the vector index against exact search, with the IVF `nprobe` curve. At
sizes up to `--compare-max` the rejected candidates (exact flat, HNSW) are measured too.
Writes bench/scale.md. How the synthetic sets are drawn: evals/scale_data.py.

Query vectors are the eval-set questions embedded once with the real embedder; search
timings exclude that embedding (measured apart and reported), since at 1M the question
is what the indexes cost, and the embedder costs the same at any size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import faiss
import numpy as np

from evals.scale_data import RealCorpus, SyntheticSet, describe_similarity, synthesize
from index.artifacts import load_chunks
from index.bm25_bulk import bm25_from_ids
from index.keyword import BM25Index, added_terms, tokenize
from index.progress import NoProgress
from index.retriever import MODES, HybridRetriever, Mode, passage_text
from index.stats import folder_bytes, process_memory
from index.vectors import (
    DEFAULT_NPROBE,
    DEFAULT_THRESHOLD,
    AnnConfig,
    FaissBackend,
    FaissStore,
    Vectors,
)
from index.versions import CHUNKS, IndexVersion
from ingest.document import Chunk

K = 10
NPROBES = (4, 8, 16, 32, 64, 128)
EF_SEARCH = (16, 32, 64, 128)


@dataclass
class SizeResult:
    """Everything measured at one size."""

    n: int
    index: dict[str, Any]
    build_s: dict[str, float]
    disk_mib: float
    rss: dict[str, float]
    latency: dict[str, tuple[float, float]]
    recall: float
    sweep: list[dict[str, Any]] = field(default_factory=list)
    compared: list[dict[str, Any]] = field(default_factory=list)


class CachedQueries:
    """The real embedder behind a cache, so timed searches reuse each query's vector."""

    def __init__(self, embedder: Any) -> None:
        self.inner = embedder
        self.name, self.dim, self.fingerprint = embedder.name, embedder.dim, embedder.fingerprint
        self.cache: dict[str, Vectors] = {}
        self.fresh_ms: list[float] = []

    def embed_query(self, text: str) -> Vectors:
        if text not in self.cache:
            t = time.perf_counter()
            self.cache[text] = self.inner.embed_query(text)
            self.fresh_ms.append((time.perf_counter() - t) * 1000)
        return self.cache[text]

    def embed_passages(self, texts: Sequence[str], progress: Any = None) -> Vectors:
        raise NotImplementedError("the scale bench never embeds passages")


class SyntheticChunks(Sequence[Chunk]):
    """Chunk records made on access, to write chunks.jsonl without a million objects."""

    def __init__(self, data: SyntheticSet, vocabulary: Sequence[str]) -> None:
        self.data, self.vocabulary = data, vocabulary

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        lo, hi = self.data.offsets[i], self.data.offsets[i + 1]
        text = "".join(self.vocabulary[t] for t in self.data.token_ids[lo:hi])
        return Chunk(f"syn{i}", "syn", "synthetic.txt", "synthetic", None, text, 1, 1)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def exact_top(vectors: Vectors, queries: Vectors, k: int) -> np.ndarray:
    """Ground truth: exact top-k rows by inner product (numpy, in blocks)."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for lo in range(0, len(vectors), 200_000):
        scores = queries @ vectors[lo : lo + 200_000].T
        top = (
            np.argpartition(-scores, k - 1, axis=1)[:, :k]
            if scores.shape[1] > k
            else (np.tile(np.arange(scores.shape[1]), (len(queries), 1)))
        )
        cand_s = np.concatenate([best_s, np.take_along_axis(scores, top, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, top + lo], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(cand_s, keep, axis=1)
        best_i = np.take_along_axis(cand_i, keep, axis=1)
    return best_i


def recall_at(search: Callable[[Vectors], list[int]], queries: Vectors, truth: np.ndarray) -> float:
    """Mean share of the exact top-k that `search` returns."""
    hits = [len(set(search(q)) & set(truth[j].tolist())) for j, q in enumerate(queries)]
    return float(np.mean(hits)) / int(truth.shape[1])


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """`fn()` and its wall time in seconds."""
    t = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t


def _latency(search: Callable[[Any], Any], queries: Any) -> tuple[float, float]:
    for q in queries[:5]:
        search(q)
    samples = []
    for q in queries:
        t = time.perf_counter()
        search(q)
        samples.append((time.perf_counter() - t) * 1000)
    return _percentiles(samples)


def load_real(home: Path) -> tuple[RealCorpus, HybridRetriever, list[str]]:
    """The current index version of XINDA_HOME: vectors, tokens, retriever; eval questions."""
    from evals.dataset import load_eval_set
    from service.settings import Settings
    from service.wiring import make_retriever

    retriever = make_retriever(Settings(home=home))
    n = len(retriever.chunks)
    vectors = retriever.vectors.reconstruct(np.arange(n, dtype=np.int64))
    tokens = [tokenize(passage_text(c)) for c in retriever.chunks]
    questions = [i.question for i in load_eval_set(Path("evals/qa.jsonl"))]
    return RealCorpus.from_tokens(vectors, tokens), retriever, questions


def measure_load(folder: Path, dim: int, nprobe: int, home: Path | None) -> dict[str, float]:
    """Run in a fresh process: RSS after imports, after loading the indexes, after the
    embedder (when `home` is given), after the chunk records (as the retriever loads
    them), after searching every query once (30 candidates each, as the retriever asks):
    what a serving process holds."""
    base = process_memory()["rss_bytes"]
    t = time.perf_counter()
    store = FaissBackend(AnnConfig(nprobe=nprobe)).open(folder, dim)
    keyword = BM25Index.load(folder / "bm25")
    load_s = time.perf_counter() - t
    indexes = process_memory()["rss_bytes"]
    result = {
        "imports_mib": base / 2**20,
        "indexes_mib": (indexes - base) / 2**20,
        "load_s": load_s,
        "vectors_estimate_mib": store.memory_bytes() / 2**20,
        "bm25_arrays_mib": keyword.memory_bytes() / 2**20,
    }
    if home is not None:
        from service.settings import Settings
        from service.wiring import make_embedder

        make_embedder(Settings(home=home)).embed_query("预热")
        result["embedder_mib"] = (process_memory()["rss_bytes"] - indexes) / 2**20
    if (folder / CHUNKS).is_file():
        before = process_memory()["rss_bytes"]
        t = time.perf_counter()
        chunks = load_chunks(IndexVersion(folder, {}))
        result["chunks_load_s"] = time.perf_counter() - t
        result["chunks_mib"] = (process_memory()["rss_bytes"] - before) / 2**20
        result["chunk_records"] = len(chunks)
    queries = folder / "queries.npy"
    if queries.is_file():  # what searching adds: buffers, jieba's state; not page cache
        before = process_memory()["rss_bytes"]
        questions = json.loads((folder / "questions.json").read_text(encoding="utf-8"))
        for q, text in zip(np.load(queries), questions, strict=True):
            store.search(q, 30)
            keyword.search(text, 30)
        result["searched_mib"] = (process_memory()["rss_bytes"] - before) / 2**20
    result["total_mib"] = process_memory()["rss_bytes"] / 2**20
    return result


def write_chunks(folder: Path, chunks: Sequence[Chunk]) -> None:
    """chunks.jsonl as the version writer writes it."""
    with (folder / CHUNKS).open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(json.dumps({**chunk.to_dict(), "tokens": chunk.tokens}, ensure_ascii=False))
            fh.write("\n")


def _rss_in_subprocess(folder: Path, dim: int, nprobe: int, home: Path) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "evals.bench_scale",
        "--measure-load",
        str(folder),
        "--dim",
        str(dim),
        "--nprobe",
        str(nprobe),
        "--home",
        str(home),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=True)
    data: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def _ivf_sweep(store: FaissStore, queries: Vectors, truth: np.ndarray) -> list[dict[str, Any]]:
    """Recall and latency per nprobe with exact re-scoring, and SQ8 scores alone."""
    ivf = faiss.extract_index_ivf(store.index)
    chosen, rerank = ivf.nprobe, store.rerank
    rows = []
    for nprobe, rescore in [*((p, rerank) for p in NPROBES), *((p, 1) for p in NPROBES)]:
        ivf.nprobe, store.rerank = nprobe, rescore
        recall = recall_at(lambda q: [i for i, _ in store.search(q, K)], queries, truth)
        p50, p95 = _latency(lambda q: store.search(q, K), queries)
        how = f"re-score {rescore}·k exactly" if rescore > 1 else "SQ8 scores only"
        rows.append(
            {
                "index": f"IVF{ivf.nlist},SQ8",
                "param": f"nprobe {nprobe}, {how}",
                "recall": recall,
                "p50": p50,
                "p95": p95,
            }
        )
    ivf.nprobe, store.rerank = chosen, rerank
    return rows


def _compare(
    data: SyntheticSet,
    queries: Vectors,
    truth: np.ndarray,
    ann: AnnConfig,
    production: str,
    work: Path,
) -> list[dict[str, Any]]:
    """The candidates not chosen at this size: exact flat, IVF-SQ8, HNSW32."""
    rows: list[dict[str, Any]] = []
    n, d = data.vectors.shape
    if production != "flat":
        flat, secs = timed(lambda: _flat(data.vectors))
        p50, p95 = _latency(lambda q: flat.search(q.reshape(1, -1), K), queries)
        rows.append(
            {
                "index": "Flat (exact)",
                "param": "-",
                "recall": 1.0,
                "p50": p50,
                "p95": p95,
                "build_s": secs,
                "memory_mib": n * d * 4 / 2**20,
            }
        )
        del flat
    if production == "flat":
        store, secs = timed(lambda: _ivf(data.vectors, ann, work / "ivf-candidate"))
        for row in _ivf_sweep(store, queries, truth):
            rows.append(row | {"build_s": secs, "memory_mib": store.memory_bytes() / 2**20})
    hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    _, secs = timed(lambda: hnsw.add(data.vectors))
    for ef in EF_SEARCH:
        hnsw.hnsw.efSearch = ef
        recall = recall_at(
            lambda q: hnsw.search(q.reshape(1, -1), K)[1][0].tolist(), queries, truth
        )
        p50, p95 = _latency(lambda q: hnsw.search(q.reshape(1, -1), K), queries)
        rows.append(
            {
                "index": "HNSW32,Flat",
                "param": f"efSearch {ef}",
                "recall": recall,
                "p50": p50,
                "p95": p95,
                "build_s": secs,
                "memory_mib": (n * d * 4 + n * 32 * 2 * 4) / 2**20,
            }
        )
    return rows


def _flat(vectors: Vectors) -> Any:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def _ivf(vectors: Vectors, ann: AnnConfig, folder: Path) -> FaissStore:
    folder.mkdir(parents=True, exist_ok=True)
    backend = FaissBackend(AnnConfig(threshold=1, nlist=ann.nlist, nprobe=ann.nprobe))
    return backend.build(folder, np.arange(len(vectors), dtype=np.int64), vectors, NoProgress())


def bench_size(
    n: int,
    real: RealCorpus,
    retriever: HybridRetriever,
    questions: list[str],
    embedder: CachedQueries,
    work: Path,
    ann: AnnConfig,
    home: Path,
    compare: bool,
) -> SizeResult:
    """Build, load and search one synthetic set of n chunks."""
    print(f"== {n} chunks", file=sys.stderr, flush=True)
    data, gen_s = timed(lambda: synthesize(real, n))
    queries = np.stack([embedder.embed_query(q) for q in questions])
    truth = exact_top(data.vectors, queries, K)
    folder = work / f"n{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ids = np.arange(n, dtype=np.int64)
    _, vec_s = timed(lambda: FaissBackend(ann).build(folder, ids, data.vectors, NoProgress()))
    terms = added_terms()
    bm25, bm25_s = timed(
        lambda: bm25_from_ids(data.token_ids, data.offsets, real.vocabulary, terms)
    )
    t = time.perf_counter()
    bm25.save(folder / "bm25")
    save_s = time.perf_counter() - t
    del bm25  # the served copy is loaded from disk below, as a server would
    chunks = SyntheticChunks(data, real.vocabulary)
    _, chunks_s = timed(lambda: write_chunks(folder, chunks))
    print(
        f"   built in {vec_s:.1f} s (vectors) + {bm25_s + save_s:.1f} s (BM25)",
        file=sys.stderr,
        flush=True,
    )
    disk = folder_bytes(folder)
    np.save(folder / "queries.npy", queries)
    (folder / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), "utf-8")
    rss = _rss_in_subprocess(folder, real.vectors.shape[1], ann.nprobe, home)
    store = FaissBackend(ann).open(folder, real.vectors.shape[1])  # as the service opens it
    keyword = BM25Index.load(folder / "bm25")
    served = HybridRetriever(
        load_chunks(IndexVersion(folder, {})),  # the records as a server reads them
        embedder,
        store,
        keyword,
        retriever.lexicon,
        retriever.config,
    )
    latency: dict[str, tuple[float, float]] = {}
    for mode in MODES:

        def one(q: str, m: Mode = mode) -> None:
            served.search(q, k=5, mode=m)

        latency[mode] = _latency(one, questions)
    recall = recall_at(lambda q: [i for i, _ in store.search(q, K)], queries, truth)
    sweep = _ivf_sweep(store, queries, truth) if store.kind != "flat" else []
    compared = _compare(data, queries, truth, ann, store.kind, folder) if compare else []
    result = SizeResult(
        n=n,
        index=store.describe(),
        build_s={
            "synthesis": gen_s,
            "vectors": vec_s,
            "bm25": bm25_s + save_s,
            "chunks": chunks_s,
        },
        disk_mib=disk / 2**20,
        rss=rss,
        latency=latency,
        recall=recall,
        sweep=sweep,
        compared=compared,
    )
    result.index["similarity"] = describe_similarity(real.vectors, data.vectors, queries)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def machine() -> list[str]:
    """The machine the figures come from."""
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(
            ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")
        )
        ram = f"{int(mem.split()[1]) / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    import bm25s

    return [
        f"- machine: {cpu}, {os.cpu_count()} cores, {ram}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- faiss {faiss.__version__}, numpy {np.__version__}, bm25s {bm25s.__version__}",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(other work was running on this machine; the bench itself runs under `nice`)",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
    ]


def report(
    results: list[SizeResult],
    embed_ms: tuple[float, float],
    head: list[str],
    total_s: float,
    nq: int,
) -> str:
    """bench/scale.md."""
    lines = [
        "# XinDa at scale: synthetic chunk sets",
        "",
        *head,
        f"- load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- {nq} queries: the questions of evals/qa.jsonl, embedded once with the real "
        f"embedder (p50 {embed_ms[0]:.1f} ms, p95 {embed_ms[1]:.1f} ms a query on this "
        "machine at the time, not included in the search timings below)",
        f"- total bench time {total_s / 60:.1f} min",
        "",
        "## Results",
        "",
        "Search timings go through the real `HybridRetriever` (k = 5; lexicon expansion and "
        "fusion included) over indexes loaded from disk; recall@10 compares the vector "
        "index with exact search over the same vectors. RSS is measured in a fresh process, "
        "step by step: imports, + both indexes, + the embedder, + the chunk records "
        "(`ChunkTable`, offsets only), + searching every query once = total. Rows of "
        "vectors.npy read to re-score candidates stay in the OS page cache (read with "
        "pread, not mapped), so they are not in it.",
        "",
        "| chunks | vector index | build s (vectors / BM25) | disk MiB | RSS MiB: "
        "+ indexes (est. vectors / BM25 arrays) | + embedder | + chunks | + searches | total | "
        "dense p50/p95 ms | BM25 p50/p95 ms | hybrid p50/p95 ms | recall@10 vs exact |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        idx, rss, lat = r.index, r.rss, r.latency
        kind = idx["index"] + (
            f" (nlist {idx['nlist']}, nprobe {idx['nprobe']})" if "nlist" in idx else ""
        )
        lines.append(
            f"| {r.n:,} | {kind} | {r.build_s['vectors']:.1f} / {r.build_s['bm25']:.1f} | "
            f"{r.disk_mib:.0f} | {rss['indexes_mib']:.0f} ({rss['vectors_estimate_mib']:.0f}"
            f" / {rss['bm25_arrays_mib']:.0f}) | {rss.get('embedder_mib', 0):.0f} | "
            f"{rss.get('chunks_mib', 0):.0f} | {rss.get('searched_mib', 0):.0f} | "
            f"{rss['total_mib']:.0f} | "
            f"{lat['dense'][0]:.1f} / {lat['dense'][1]:.1f} | "
            f"{lat['bm25'][0]:.1f} / {lat['bm25'][1]:.1f} | "
            f"{lat['hybrid'][0]:.1f} / {lat['hybrid'][1]:.1f} | {r.recall:.3f} |"
        )
    lines += ["", *targets(results[-1], embed_ms), ""] if results else [""]
    for r in results:
        sim, rss = r.index["similarity"], r.rss
        lines += [
            f"### {r.n:,} chunks",
            "",
            f"- synthesis {r.build_s['synthesis']:.1f} s, chunks.jsonl written in "
            f"{r.build_s['chunks']:.1f} s; loading both indexes {rss['load_s']:.1f} s, the "
            f"chunk table {rss.get('chunks_load_s', 0):.1f} s; RSS after imports "
            f"{rss['imports_mib']:.0f} MiB",
            "- distribution check (mean cosine, real corpus vs synthetic): random pairs "
            f"{sim['pair_cosine_real']:.3f} vs {sim['pair_cosine_synthetic']:.3f}; a "
            f"chunk's nearest neighbour among 433 {sim['nn_cosine_real']:.3f} vs "
            f"{sim['nn_cosine_synthetic_same_size']:.3f}; a query's best match among 433 "
            f"{sim['query_top1_real']:.3f} vs {sim['query_top1_synthetic_same_size']:.3f}",
        ]
        rows = r.sweep + r.compared
        if rows:
            lines += [
                "",
                "| index | parameter | recall@10 | p50 ms | p95 ms | build s | memory MiB |",
                "|---|---|---|---|---|---|---|",
            ]
            for row in rows:
                build, mem = row.get("build_s"), row.get("memory_mib")
                lines.append(
                    f"| {row['index']} | {row['param']} | {row['recall']:.3f} | "
                    f"{row['p50']:.2f} | {row['p95']:.2f} | "
                    f"{'' if build is None else f'{build:.1f}'} | "
                    f"{'' if mem is None else f'{mem:.0f}'} |"
                )
        lines.append("")
    return "\n".join(lines) + "\n"


TARGETS = {"hybrid_p50_ms": 50.0, "recall_at_10": 0.95, "rss_mib": 2048.0}


def targets(r: SizeResult, embed_ms: tuple[float, float]) -> list[str]:
    """The issue's targets against the largest size measured."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    hybrid, recall, rss = r.latency["hybrid"][0], r.recall, r.rss["total_mib"]
    return [
        f"### Against the targets ({r.n:,} chunks, 2 cores)",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| hybrid search p50 ≤ {TARGETS['hybrid_p50_ms']:.0f} ms | {hybrid:.1f} ms (with the "
        f"query embedding: {hybrid + embed_ms[0]:.1f} ms) | "
        f"{verdict(hybrid <= TARGETS['hybrid_p50_ms'])} |",
        f"| recall@10 vs exact ≥ {TARGETS['recall_at_10']} | {recall:.3f} | "
        f"{verdict(recall >= TARGETS['recall_at_10'])} |",
        f"| RSS ≤ 2 GB | {rss:.0f} MiB (embedder included) | "
        f"{verdict(rss <= TARGETS['rss_mib'])} |",
    ]


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated chunk counts")
    p.add_argument("--out", type=Path, default=Path("bench/scale.md"))
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp)")
    p.add_argument("--queries", type=int, default=0, help="use only the first N questions")
    p.add_argument(
        "--compare-max",
        type=int,
        default=100_000,
        help="also measure the other index types up to this size",
    )
    p.add_argument("--ann-threshold", type=int, default=DEFAULT_THRESHOLD)
    p.add_argument("--nprobe", type=int, default=DEFAULT_NPROBE)
    p.add_argument("--home", type=Path, default=None, help="XINDA_HOME with the built index")
    p.add_argument("--measure-load", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--dim", type=int, default=384, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> str:
    """Run the bench; returns the report (also written to --out)."""
    args = _args(argv)
    home = (args.home or Path(os.environ.get("XINDA_HOME", ".xinda"))).resolve()
    if args.measure_load is not None:
        print(json.dumps(measure_load(args.measure_load, args.dim, args.nprobe, home)))
        return ""
    started = time.perf_counter()
    head = machine()
    real, retriever, questions = load_real(home)
    if args.queries:
        questions = questions[: args.queries]
    embedder = CachedQueries(retriever.embedder)
    for q in questions:  # fills the cache (and the lexicon's second queries below)
        embedder.embed_query(q)
    for q in questions:
        retriever.embedder = embedder
        retriever.search(q, k=5)
    embed_ms = _percentiles(embedder.fresh_ms)
    ann = AnnConfig(threshold=args.ann_threshold, nprobe=args.nprobe)
    work = args.work or Path(tempfile.mkdtemp(prefix="xinda-scale-"))
    results = []
    try:
        for n in (int(s) for s in args.sizes.split(",") if s.strip()):
            results.append(
                bench_size(
                    n, real, retriever, questions, embedder, work, ann, home, n <= args.compare_max
                )
            )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    text = report(results, embed_ms, head, time.perf_counter() - started, len(questions))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return text


if __name__ == "__main__":
    main()
