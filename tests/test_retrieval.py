"""Retrieval on the real corpus with the real bundled embedder, FAISS and BM25."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.artifacts import open_retriever
from index.build import IndexBuilder
from index.embed import Embedder
from index.fusion import reciprocal_rank_fusion
from index.keyword import configure_jieba
from index.retriever import HybridRetriever
from index.vectors import FaissStore
from index.versions import VersionStore
from ingest.errors import BadInput, IndexMismatch
from ingest.tokens import e5_token_counter
from service.settings import Settings
from service.wiring import make_embedder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def embedder(corpus_home: Path) -> Embedder:
    return make_embedder(Settings(home=corpus_home))


@pytest.fixture(scope="session")
def corpus_index(corpus_home: Path, embedder: Embedder) -> IndexBuilder:
    configure_jieba(corpus_home / "cache")
    return IndexBuilder(VersionStore(corpus_home / "index"), e5_token_counter(), embedder=embedder)


@pytest.fixture(scope="session")
def retriever(corpus_index: IndexBuilder, embedder: Embedder) -> HybridRetriever:
    return open_retriever(corpus_index.store.current(), embedder)


def test_rrf_is_weighted_and_deterministic() -> None:
    fused = reciprocal_rank_fusion({"a": [1, 2, 3], "b": [3, 2]}, {"a": 1.0, "b": 2.0}, k=10)
    assert [i for i, _ in fused] == [3, 2, 1]
    assert reciprocal_rank_fusion({"a": [5, 6]}, {"a": 0.0}) == []
    tie = reciprocal_rank_fusion({"a": [7, 8], "b": [8, 7]}, k=10)
    assert [i for i, _ in tie] == [7, 8]


def test_faiss_store_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(20, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = FaissStore(8)
    store.add(np.arange(20, dtype=np.int64), vectors)
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, 8)
    assert loaded.search(vectors[7], 3)[0][0] == 7
    assert np.allclose(loaded.reconstruct(np.array([3], dtype=np.int64))[0], vectors[3])
    with pytest.raises(IndexMismatch):
        FaissStore.load(tmp_path, 16)


def test_chinese_question_finds_market_size_passage(retriever: HybridRetriever) -> None:
    result = retriever.search("先进封装的市场规模", k=5)
    assert len(result.hits) == 5
    top = result.hits[0]
    assert top.why is not None and top.why.query == "先进封装的市场规模"
    assert any("先进封装" in h.chunk.text and "市场" in h.chunk.text for h in result.hits[:3])
    lines = (Path("corpus") / top.chunk.source).read_text(encoding="utf-8").split("\n")
    span = "".join(lines[top.chunk.line_start - 1 : top.chunk.line_end])
    assert top.chunk.text.split("\n")[-1][:10].replace(" ", "") in span.replace(" ", "")


def test_english_question_finds_chinese_passage(retriever: HybridRetriever) -> None:
    result = retriever.search("What is hybrid bonding?", k=5)
    assert any("混合键合" in h.chunk.text for h in result.hits[:3])
    why = result.hits[0].why
    assert why is not None and "混合键合" in why.query  # lexicon expansion was searched


def test_modes_and_bad_queries(retriever: HybridRetriever) -> None:
    dense = retriever.search("倒装芯片", k=3, mode="dense")
    assert all(h.why and h.why.bm25 is None for h in dense.hits)
    bm25 = retriever.search("倒装芯片", k=3, mode="bm25")
    assert all(h.why and h.why.dense is None for h in bm25.hits)
    for bad in ("", "   "):
        with pytest.raises(BadInput):
            retriever.search(bad)
    with pytest.raises(BadInput):
        retriever.search("芯片", k=0)


def test_hit_json_matches_contract(retriever: HybridRetriever) -> None:
    data = json.loads(json.dumps(retriever.search("晶圆级封装", k=2).to_dict()))
    hit = data["hits"][0]
    assert set(hit) == {
        "rank",
        "chunk_id",
        "doc_id",
        "source",
        "title",
        "section",
        "text",
        "score",
        "line_start",
        "line_end",
        "page",
        "why",
    }
    assert set(hit["why"]) == {"dense", "bm25", "query"}
    assert "total" in data["timings_ms"]


def test_reingest_reuses_vectors_and_changed_file_replaces(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 甲\n\n倒装芯片是一种先进封装技术。\n", encoding="utf-8")
    (docs / "b.md").write_text("# 乙\n\n晶圆级封装在晶圆上完成封装。\n", encoding="utf-8")
    builder = IndexBuilder(VersionStore(tmp_path / "idx"), e5_token_counter(), embedder=embedder)
    first = builder.ingest([docs])
    (docs / "a.md").write_text("# 甲\n\n混合键合是铜对铜的直接键合。\n", encoding="utf-8")
    builder.ingest([docs])
    manifest = builder.store.current().manifest
    assert first.new_chunks == 2 and manifest["reused_vectors"] == 1 and manifest["embedded"] == 1
    r = open_retriever(builder.store.current(), embedder)
    assert "混合键合" in r.search("混合键合", k=1).hits[0].chunk.text
    assert all("倒装芯片" not in c.text for c in r.chunks)
    doc_b = next(d for d in builder.store.current().documents() if d.source == "b.md")
    builder.delete(doc_b.doc_id)
    r = open_retriever(builder.store.current(), embedder)
    assert len(r.chunks) == 1 and len(r.vectors) == 1 and len(r.keyword) == 1


def test_manifest_mismatch_is_refused(corpus_index: IndexBuilder, embedder: Embedder) -> None:
    version = corpus_index.store.current()
    manifest = {**version.manifest, "embedder": {"name": "bge-m3", "dim": 1024, "fingerprint": "x"}}
    with pytest.raises(IndexMismatch, match="xinda ingest --rebuild"):
        from index.artifacts import check_embedder

        check_embedder(manifest, embedder)


def test_corrupted_faiss_file_is_refused(corpus_index: IndexBuilder, tmp_path: Path) -> None:
    source = corpus_index.store.current().path
    copy = tmp_path / "versions" / source.name
    shutil.copytree(source, copy)
    (tmp_path / "CURRENT").write_text(source.name + "\n")
    data = bytearray((copy / "vectors.faiss").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "vectors.faiss").write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match="vectors.faiss"):
        VersionStore(tmp_path).current()


def test_langchain_retriever(retriever: HybridRetriever) -> None:
    import index

    lc = index.XinDaRetriever(retriever=retriever, k=3)
    docs = lc.invoke("倒装芯片")
    assert len(docs) == 3 and "倒装" in docs[0].page_content + docs[1].page_content
    assert {"rank", "source", "line_start", "line_end", "score", "why"} <= set(docs[0].metadata)
