"""Issue 9, one machine at scale: the exact → IVF-SQ8 switch, its recall, files and
manifest; the bulk BM25 build against bm25s's own; the scale bench on a tiny size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.scale_data import RealCorpus, synthesize
from index.bm25_bulk import bm25_from_ids
from index.build import IndexBuilder
from index.keyword import BM25Index
from index.progress import NoProgress
from index.vectors import (
    DEFAULT_NPROBE,
    FAISS_FILE,
    VECTORS_NPY,
    AnnConfig,
    FaissBackend,
    FaissStore,
)
from index.versions import VersionStore
from ingest.errors import IndexMismatch
from ingest.tokens import e5_token_counter

DIM = 64


def _real_like(m: int = 300, seed: int = 0) -> RealCorpus:
    """Stand-in 'real' vectors with E5's shape: one strong shared direction plus topic
    clusters (uniform random vectors would make any recall figure meaningless)."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=DIM)
    topics = rng.normal(size=(12, DIM))
    v = 3 * shared + 2 * topics[rng.integers(0, 12, m)] + rng.normal(size=(m, DIM))
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    tokens = [[f"t{(i * 7 + j) % 50}" for j in range(5 + i % 7)] for i in range(m)]
    return RealCorpus.from_tokens(v, tokens)


def _exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def synthetic() -> tuple[np.ndarray, np.ndarray]:
    real = _real_like()
    data = synthesize(real, 20_000, seed=3)
    queries = synthesize(real, 200, seed=4).vectors
    return data.vectors, queries


def test_ann_is_chosen_above_the_threshold_only(tmp_path: Path, synthetic: tuple) -> None:
    vectors, _ = synthetic
    backend = FaissBackend(AnnConfig(threshold=10_000))
    ids = np.arange(len(vectors), dtype=np.int64)
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir(), big.mkdir()
    exact = backend.build(small, ids[:9_999], vectors[:9_999], NoProgress())
    approx = backend.build(big, ids, vectors, NoProgress())
    assert exact.kind == "flat" and not (small / VECTORS_NPY).exists()
    assert approx.kind == "ivf_sq8" and (big / VECTORS_NPY).exists()
    described = approx.describe()
    assert described["nlist"] == 128 and described["nprobe"] == DEFAULT_NPROBE
    # SQ8 codes are a quarter of the floats; the estimate must show the saving
    assert approx.memory_bytes() < 0.4 * exact.memory_bytes() * len(vectors) / 9_999


def test_ann_recall_at_10_against_exact(tmp_path: Path, synthetic: tuple) -> None:
    vectors, queries = synthetic
    store = FaissBackend(AnnConfig(threshold=1)).build(
        tmp_path, np.arange(len(vectors), dtype=np.int64), vectors, NoProgress()
    )
    truth = _exact_top(vectors, queries, 10)
    found = [[i for i, _ in store.search(q, 10)] for q in queries]
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95, recall
    # fewer lists visited must cost recall, or nprobe would not be doing anything
    low = FaissStore.load(tmp_path, DIM, nprobe=1)
    low_found = [[i for i, _ in low.search(q, 10)] for q in queries]
    low_recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(low_found, truth, strict=True)])
    assert low_recall < recall


def test_ann_store_round_trip_and_exact_reconstruct(tmp_path: Path, synthetic: tuple) -> None:
    vectors, queries = synthetic
    ids = np.arange(len(vectors), dtype=np.int64)
    built = FaissBackend(AnnConfig(threshold=1, nprobe=16)).build(
        tmp_path, ids, vectors, NoProgress()
    )
    loaded = FaissBackend(AnnConfig(nprobe=16)).open(tmp_path, DIM)
    assert loaded.kind == "ivf_sq8" and len(loaded) == len(vectors)
    for q in queries[:20]:
        assert loaded.search(q, 10) == built.search(q, 10)
    # the SQ8 codes are lossy; reuse must get the float32 vectors back bit for bit
    some = np.array([0, 5, 19_999], dtype=np.int64)
    assert np.array_equal(loaded.reconstruct(some), vectors[some])
    with pytest.raises(IndexMismatch):
        FaissStore.load(tmp_path, DIM + 1)
    np.save(tmp_path / VECTORS_NPY, vectors[:10])
    with pytest.raises(IndexMismatch, match=VECTORS_NPY):
        FaissStore.load(tmp_path, DIM)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_ann_version_manifest_reuse_and_delete(tmp_path: Path) -> None:
    from hashing_embedder import HashingEmbedder

    docs = tmp_path / "docs"
    lines = "\n\n".join(
        f"第{i}段：晶圆代工产能{i}万片，封装测试收入{i * 3}亿元。" for i in range(120)
    )
    a = _write(docs, "a.md", "# 报告A\n\n" + lines + "\n")
    b = _write(docs, "b.md", "# 报告B\n\n" + lines.replace("晶圆", "刻蚀") + "\n")
    store = VersionStore(tmp_path / "index")
    # threshold 1: even this small index is built approximate, as a 1M-chunk one would be
    builder = IndexBuilder(
        store,
        e5_token_counter(),
        embedder=HashingEmbedder(DIM),
        vectors=FaissBackend(AnnConfig(threshold=1)),
    )
    builder.ingest([a])
    first = store.current()
    assert first.manifest["vector_store"]["index"] == "ivf_sq8"
    assert {FAISS_FILE, VECTORS_NPY} <= set(first.manifest["files"])
    before = FaissStore.load(first.path, DIM).reconstruct(
        np.arange(first.manifest["counts"]["chunks"], dtype=np.int64)
    )
    builder.ingest([b])
    second = store.current()
    assert second.manifest["reused_vectors"] == first.manifest["counts"]["chunks"]
    after = FaissStore.load(second.path, DIM).reconstruct(np.arange(len(before), dtype=np.int64))
    assert np.array_equal(before, after)  # reused from vectors.npy, not from SQ8 codes
    doc_b = next(d.doc_id for d in second.documents() if d.source == "b.md")
    builder.delete(doc_b)
    third = store.current()
    assert third.manifest["counts"]["chunks"] == len(before)
    assert len(FaissStore.load(third.path, DIM)) == len(before)
    # the manifest's checksum covers vectors.npy like every other file
    data = bytearray((third.path / VECTORS_NPY).read_bytes())
    data[-1] ^= 0xFF
    (third.path / VECTORS_NPY).write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match=VECTORS_NPY):
        store.current()


def test_bulk_bm25_equals_bm25s() -> None:
    rng = np.random.default_rng(0)
    vocab = [f"词{i}" for i in range(300)]
    docs = [
        [vocab[int(t)] for t in rng.zipf(1.3, size=rng.integers(1, 60)) % 300] for _ in range(500)
    ]
    reference = BM25Index.from_tokens(docs)
    ids = {t: i for i, t in enumerate(vocab)}
    flat = np.array([ids[t] for d in docs for t in d], dtype=np.int32)
    offsets = np.cumsum([0] + [len(d) for d in docs]).astype(np.int64)
    bulk = bm25_from_ids(flat, offsets, vocab)
    for q in ([vocab[1]], [vocab[0], vocab[7]], [vocab[3], vocab[3], vocab[250]], [vocab[299]]):
        want, got = reference.search_tokens(q, 20), bulk.search_tokens(q, 20)
        assert [r for r, _ in got] == [r for r, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)


def test_bulk_bm25_saves_and_loads_as_a_keyword_index(tmp_path: Path) -> None:
    bulk = bm25_from_ids(
        np.array([0, 1, 1, 1], dtype=np.int32),
        np.array([0, 2, 4], dtype=np.int64),
        ["芯片", "封装", "晶圆"],
    )
    bulk.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert [r for r, _ in loaded.search_tokens(["封装"], 5)] == [1, 0]
    assert loaded.memory_bytes() > 0


@pytest.mark.slow
def test_bench_scale_runs_tiny(corpus_home: Path, tmp_path: Path) -> None:
    from evals.bench_scale import main

    out = tmp_path / "scale.md"
    text = main(
        [
            "--sizes",
            "3000",
            "--queries",
            "12",
            "--compare-max",
            "3000",
            "--ann-threshold",
            "2000",
            "--out",
            str(out),
            "--home",
            str(corpus_home),
        ]
    )
    assert out.read_text(encoding="utf-8") == text
    row = next(line for line in text.splitlines() if line.startswith("| 3,000 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].startswith("ivf_sq8")
    recall = float(cells[-1])
    assert 0.0 < recall <= 1.0
    assert "HNSW32,Flat" in text and "nprobe 128, SQ8 scores only" in text
    assert float(cells[8]) > float(cells[5]) > 0  # process RSS measured, embedder included


def test_synthetic_vectors_are_not_uniform() -> None:
    real = _real_like()
    data = synthesize(real, 2_000, seed=1)
    # uniform random unit vectors in 64-d have mean pair cosine ~0; E5-like ones do not
    pairs = data.vectors[:500] @ data.vectors[500:1000].T
    assert pairs.mean() > 0.3
    assert np.allclose(np.linalg.norm(data.vectors, axis=1), 1.0, atol=1e-5)
    assert int(data.offsets[-1]) == data.token_ids.size


def test_chunk_table_reads_records_on_demand(tmp_path: Path) -> None:
    from index.chunk_table import ChunkTable
    from index.versions import CHUNKS, IndexVersion, VersionWriter
    from ingest.document import Chunk

    chunks = [
        Chunk(f"c{i}", "d", "a.md", "标题", None if i % 2 else "节", f'第{i}段 "引号"\n换行', i, i)
        for i in range(50)
    ]
    writer = VersionWriter(tmp_path)
    writer.write_chunks(chunks)
    table = ChunkTable(writer.path / CHUNKS)
    assert len(table) == 50 and list(table) == IndexVersion(writer.path, {}).chunks() == chunks
    assert table[-1] == chunks[-1] and table[3:6] == chunks[3:6]
    assert table.memory_bytes() == 50 * 16
    with pytest.raises(IndexError):
        table[50]
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert len(ChunkTable(tmp_path / "empty.jsonl")) == 0
    (tmp_path / "no-newline.jsonl").write_bytes((writer.path / CHUNKS).read_bytes().rstrip(b"\n"))
    assert ChunkTable(tmp_path / "no-newline.jsonl")[49] == chunks[49]


@pytest.mark.slow
def test_stats_command_and_readyz_report_the_loaded_index(
    corpus_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from service.api import create_app
    from service.settings import Settings
    from ui.cli import app

    monkeypatch.setenv("XINDA_HOME", str(corpus_home))
    result = CliRunner().invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    vectors = data["vectors"]
    assert data["chunks"] == vectors["vectors"] > 400 and vectors["index"] == "flat"
    assert vectors["memory_bytes"] >= data["chunks"] * 384 * 4
    assert data["bm25"]["memory_bytes"] > 0 and data["disk_bytes"] > vectors["memory_bytes"]
    assert data["process"]["rss_bytes"] > vectors["memory_bytes"]
    table = CliRunner().invoke(app, ["stats"])
    assert table.exit_code == 0 and "faiss flat" in table.stdout and "MiB" in table.stdout

    with TestClient(create_app(Settings(home=corpus_home, llm="extractive"))) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert {"status", "version", "chunks"} <= set(body) and body["status"] == "ready"
    assert body["vectors"]["store"] == "faiss" and body["vectors"]["vectors"] == body["chunks"]
