"""The Milvus backend on embedded Milvus Lite: the bundled corpus agrees with FAISS, and
add / replace / delete / versioning behave as with FAISS.

The corpus index is built twice through the real write path (IndexBuilder, chunker,
manifest): once with FAISS (the session's `corpus_home`), once with Milvus. Embedding the
433 chunks again would cost about a minute on 2 cores, so the Milvus build gets the same
real embedder behind a memo filled from the FAISS index's vectors: identical vectors for
identical passage texts, and the real model for any text the memo lacks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from index.artifacts import open_retriever
from index.build import IndexBuilder
from index.embed import Embedder, Vectors
from index.keyword import configure_jieba
from index.milvus import MILVUS_DB, MILVUS_META, MilvusBackend, collection_name
from index.retriever import HybridRetriever, passage_text
from index.vectors import FaissBackend
from index.versions import VersionStore
from ingest.errors import IndexMismatch
from ingest.tokens import e5_token_counter
from service.settings import Settings

pytestmark = pytest.mark.slow
AGREEMENT_FLOOR = 0.90  # the acceptance: ≥ 90 % of the eval questions


class MemoEmbedder:
    """The real embedder, answering from a memo of vectors it already produced."""

    def __init__(self, inner: Embedder, passages: dict[str, Vectors]) -> None:
        self.inner, self.passages = inner, passages
        self.name, self.dim, self.fingerprint = inner.name, inner.dim, inner.fingerprint
        self.queries: dict[str, Vectors] = {}
        self.misses = 0
        self.build_misses = -1

    def embed_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> Vectors:
        missing = [t for t in texts if t not in self.passages]
        if missing:
            self.misses += len(missing)
            fresh = self.inner.embed_passages(missing)
            self.passages.update(zip(missing, fresh, strict=True))
        if progress:
            progress(len(texts))
        return np.stack([self.passages[t] for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> Vectors:
        if text not in self.queries:
            self.queries[text] = self.inner.embed_query(text)
        return self.queries[text]


@pytest.fixture(scope="module")
def faiss_retriever(corpus_home: Path) -> HybridRetriever:
    from service.wiring import make_retriever

    return make_retriever(Settings(home=corpus_home))


@pytest.fixture(scope="module")
def memo(faiss_retriever: HybridRetriever) -> MemoEmbedder:
    chunks = faiss_retriever.chunks
    vectors = faiss_retriever.vectors.reconstruct(np.arange(len(chunks), dtype=np.int64))
    passages = {passage_text(c): v for c, v in zip(chunks, vectors, strict=True)}
    return MemoEmbedder(faiss_retriever.embedder, passages)


@pytest.fixture(scope="module")
def milvus_home(
    tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, memo: MemoEmbedder
) -> Path:
    """A XINDA_HOME whose index holds the corpus with its vectors in Milvus Lite."""
    home = tmp_path_factory.mktemp("milvus-home")
    configure_jieba(home / "cache")
    builder = IndexBuilder(
        VersionStore(home / "index"), e5_token_counter(), embedder=memo, vectors=MilvusBackend()
    )
    builder.ingest([corpus_dir])
    memo.build_misses = memo.misses
    return home


@pytest.fixture(scope="module")
def milvus_retriever(
    milvus_home: Path, memo: MemoEmbedder, faiss_retriever: HybridRetriever
) -> HybridRetriever:
    version = VersionStore(milvus_home / "index").current()
    retriever = open_retriever(version, memo, backend=MilvusBackend())
    # The same query expansion as the FAISS side: only the vector backends may differ.
    retriever.dictionary = faiss_retriever.dictionary
    return retriever


def test_corpus_built_in_milvus_lite_inside_the_version(
    milvus_home: Path, memo: MemoEmbedder, faiss_retriever: HybridRetriever
) -> None:
    version = VersionStore(milvus_home / "index").current()
    assert memo.build_misses == 0  # every passage vector came from the real embedder's FAISS index
    assert version.manifest["vector_store"]["store"] == "milvus"
    assert version.manifest["vector_store"]["index"] == "FLAT"
    assert version.manifest["counts"]["chunks"] == len(faiss_retriever.chunks)
    files = set(version.manifest["files"])
    assert MILVUS_META in files
    assert any(f.startswith(MILVUS_DB + "/") and f.endswith(".parquet") for f in files), files


def test_top5_agrees_with_faiss_on_the_eval_questions(
    faiss_retriever: HybridRetriever, milvus_retriever: HybridRetriever, memo: MemoEmbedder
) -> None:
    """Agreement on a question: the two top-5 lists share at least 4 chunks. Measured for
    dense-only search (where the backends differ) and for hybrid (what users get)."""
    from evals.dataset import load_eval_set

    questions = [i.question for i in load_eval_set(Path("evals/qa.jsonl"))]
    faiss_retriever.embedder = memo  # the same query vectors for both backends
    figures = {}
    for mode in ("dense", "hybrid"):
        overlaps = []
        for q in questions:
            a = {h.chunk.chunk_id for h in faiss_retriever.search(q, k=5, mode=mode).hits}
            b = {h.chunk.chunk_id for h in milvus_retriever.search(q, k=5, mode=mode).hits}
            overlaps.append(len(a & b))
        agree = sum(o >= 4 for o in overlaps) / len(questions)
        same = sum(o == 5 for o in overlaps) / len(questions)
        figures[mode] = (agree, same)
        print(f"{mode}: {len(questions)} questions, overlap ≥ 4/5 {agree:.3f}, same set {same:.3f}")
    for mode, (agree, _same) in figures.items():
        assert agree >= AGREEMENT_FLOOR, (mode, figures)


def test_milvus_scores_are_faiss_scores(
    faiss_retriever: HybridRetriever, milvus_retriever: HybridRetriever, memo: MemoEmbedder
) -> None:
    q = memo.embed_query("先进封装的市场规模")
    a, b = faiss_retriever.vectors.search(q, 5), milvus_retriever.vectors.search(q, 5)
    assert [i for i, _ in a] == [i for i, _ in b]
    assert np.allclose([s for _, s in a], [s for _, s in b], atol=1e-4)


def test_reopened_version_passes_its_checksums(milvus_home: Path) -> None:
    """Opening and loading a Milvus Lite file must not rewrite it, or the next start would
    refuse the version; tampering with it must be refused."""
    store = VersionStore(milvus_home / "index")
    version = store.current()
    for _ in range(2):
        MilvusBackend().open(version.path, 384).close()
    store.current(verify=True)
    copy = milvus_home / "index" / "versions" / "tampered"
    shutil.copytree(version.path, copy)
    parquet = next((copy / MILVUS_DB).rglob("*.parquet"))
    data = bytearray(parquet.read_bytes())
    data[len(data) // 2] ^= 0xFF
    parquet.write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match="parquet"):
        store.open("tampered")
    shutil.rmtree(copy)


def test_faiss_settings_refuse_a_milvus_index(milvus_home: Path, memo: MemoEmbedder) -> None:
    version = VersionStore(milvus_home / "index").current()
    with pytest.raises(IndexMismatch, match="XINDA_VECTOR_STORE"):
        open_retriever(version, memo, backend=FaissBackend())
    with pytest.raises(IndexMismatch, match="XINDA_MILVUS_URI"):
        MilvusBackend(uri=str(milvus_home / "shared.db")).open(version.path, 384)


DOCS = {
    "a.md": "# 封装报告\n\n2025年，长电科技的先进封装收入达到了120亿元。\n",
    "b.md": "# 设备报告\n\n北方华创2025年刻蚀设备出货量增长了35%。\n",
}


def _sources(r: HybridRetriever, query: str) -> list[str]:
    return [h.chunk.source for h in r.search(query, k=5, mode="dense").hits]


@pytest.mark.parametrize("shared", [False, True], ids=["lite-per-version", "shared-uri"])
def test_add_replace_delete(tmp_path: Path, memo: MemoEmbedder, shared: bool) -> None:
    """Both layouts: a Lite file in each version, and one shared Milvus (here a Lite file
    given as XINDA_MILVUS_URI, standing in for a server) with a collection per version."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    backend = MilvusBackend(uri=str(tmp_path / "shared.db") if shared else "")
    builder = IndexBuilder(
        VersionStore(tmp_path / "index"), e5_token_counter(), embedder=memo, vectors=backend
    )
    first = builder.ingest([docs])
    assert first.documents == 2 and first.chunks == 2

    def current() -> HybridRetriever:
        return open_retriever(builder.store.current(), memo, backend=backend)

    r = current()
    assert _sources(r, "刻蚀设备出货量")[0] == "b.md"
    r.vectors.close()

    # replace a.md: its old chunk goes, the new text is found, b.md's vector is reused
    (docs / "a.md").write_text(
        "# 封装报告\n\n通富微电的晶圆级封装产能扩大一倍。\n", encoding="utf-8"
    )
    second = builder.ingest([docs])
    assert second.replaced == ("a.md",) and second.unchanged == ("b.md",)
    assert builder.store.current().manifest["reused_vectors"] == 1
    r = current()
    assert len(r.vectors) == 2
    top = r.search("晶圆级封装产能", k=1, mode="dense").hits[0].chunk
    assert top.source == "a.md" and "通富微电" in top.text
    assert all("120亿元" not in h.chunk.text for h in r.search("先进封装收入", k=5).hits)
    r.vectors.close()

    # delete b.md: gone from Milvus too
    doc_b = next(d.doc_id for d in builder.store.current().documents() if d.source == "b.md")
    builder.delete(doc_b)
    r = current()
    assert len(r.vectors) == 1
    assert _sources(r, "刻蚀设备出货量") == ["a.md"]
    r.vectors.close()

    if shared:
        # one collection per live version; pruning dropped the rest (keep = 2)
        from pymilvus import MilvusClient

        client = MilvusClient(uri=str(tmp_path / "shared.db"))
        versions = sorted(p for p in (tmp_path / "index" / "versions").iterdir())
        assert sorted(client.list_collections()) == sorted(collection_name(v) for v in versions)
        client.close()
    else:
        for v in (tmp_path / "index" / "versions").iterdir():
            assert (v / MILVUS_DB).is_dir()
