"""The retriever files of an index version: written by the builder, opened by the service.

vectors.faiss   FAISS index (ids = row numbers of chunks.jsonl); `vectors.npy` beside it
                when the index is approximate (index/vectors.py); or, with the Milvus
                backend, `milvus.json` (+ `milvus.db` for embedded Milvus Lite)
bm25/           bm25s's own save (JSON + .npy)
lexicon.json    zh↔en terms mined from the documents
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.chunk_table import ChunkTable
from index.dictionary import ReverseDictionary
from index.embed import Embedder
from index.keyword import BM25Index, add_domain_terms
from index.lexicon import Lexicon, domain_terms, mine_lexicon
from index.progress import Progress
from index.retriever import HybridRetriever, RetrievalConfig, passage_text
from index.vectors import FaissBackend, VectorBackend
from index.versions import CHUNKS, IndexVersion
from ingest.document import Chunk
from ingest.errors import IndexMismatch

BM25_DIR = "bm25"
LEXICON_FILE = "lexicon.json"


DEFAULT_BACKEND = FaissBackend()
# Versions written before the manifest named their vector store hold FAISS files.
LEGACY_STORE = "faiss"


def embedder_info(embedder: Embedder) -> dict[str, Any]:
    """What the manifest records about the embedder, to refuse a mismatch on load."""
    return {"name": embedder.name, "dim": embedder.dim, "fingerprint": embedder.fingerprint}


def write_retrieval_files(
    folder: Path,
    chunks: Sequence[Chunk],
    embedder: Embedder,
    previous: IndexVersion | None,
    progress: Progress,
    backend: VectorBackend = DEFAULT_BACKEND,
) -> dict[str, Any]:
    """Embed (reusing vectors of unchanged chunks), index and save; returns manifest info."""
    reused = _reusable_vectors(previous, embedder, backend)
    rows_to_embed = [i for i, c in enumerate(chunks) if c.chunk_id not in reused]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for i, chunk in enumerate(chunks):
        if chunk.chunk_id in reused:
            vectors[i] = reused[chunk.chunk_id]
    progress.start("embedding", len(rows_to_embed))
    if rows_to_embed:
        fresh = embedder.embed_passages(
            [passage_text(chunks[i]) for i in rows_to_embed], progress=progress.advance
        )
        vectors[rows_to_embed] = fresh
    store = backend.build(folder, np.arange(len(chunks), dtype=np.int64), vectors, progress)
    described = {k: v for k, v in store.describe().items() if k != "memory_bytes"}
    store.close()  # Milvus Lite must let go of its file before the version is checksummed

    lexicon = mine_lexicon(c.text for c in chunks)
    lexicon.save(folder / LEXICON_FILE)
    add_domain_terms(domain_terms(lexicon))
    bm25_dir = folder / BM25_DIR
    bm25_dir.mkdir()
    BM25Index.build([passage_text(c) for c in chunks]).save(bm25_dir)
    return {
        "embedder": embedder_info(embedder),
        "vector_store": described,
        "embedded": len(rows_to_embed),
        "reused_vectors": len(chunks) - len(rows_to_embed),
        "lexicon_pairs": len(lexicon.pairs),
    }


def stored_with(manifest: Mapping[str, Any]) -> str:
    """The name of the vector backend a version was built with."""
    return str(manifest.get("vector_store", {}).get("store", LEGACY_STORE))


def _reusable_vectors(
    previous: IndexVersion | None, embedder: Embedder, backend: VectorBackend
) -> dict[str, Any]:
    if previous is None or previous.manifest.get("embedder") != embedder_info(embedder):
        return {}
    if stored_with(previous.manifest) != backend.name:
        return {}  # another backend's files: re-embed rather than guess how to read them
    try:
        store = backend.open(previous.path, embedder.dim)
    except IndexMismatch:
        return {}
    try:
        chunks = previous.chunks()
        if len(chunks) != len(store):
            return {}
        vectors = store.reconstruct(np.arange(len(chunks), dtype=np.int64))
    finally:
        store.close()
    return {c.chunk_id: vectors[i] for i, c in enumerate(chunks)}


def check_embedder(manifest: Mapping[str, Any], embedder: Embedder) -> None:
    """Refuse an index built with another embedder, saying what to do."""
    built = manifest.get("embedder")
    if not built:
        raise IndexMismatch("the index has no vectors: run `xinda ingest --rebuild`")
    if built != embedder_info(embedder):
        raise IndexMismatch(
            f"index built with {built.get('name')} ({built.get('dim')}-d); settings ask for "
            f"{embedder.name} ({embedder.dim}-d): run `xinda ingest --rebuild`"
        )


def load_chunks(version: IndexVersion) -> Sequence[Chunk]:
    """The served chunk records: read on demand, so a million cost megabytes, not a GB."""
    return ChunkTable(version.path / CHUNKS)


def check_backend(manifest: Mapping[str, Any], backend: VectorBackend) -> None:
    """Refuse a version whose vectors another backend holds, saying what to do."""
    built = stored_with(manifest)
    if built != backend.name:
        raise IndexMismatch(
            f"index vectors are stored in {built}; settings ask for {backend.name} "
            f"(XINDA_VECTOR_STORE): run `xinda ingest --rebuild`"
        )


def open_retriever(
    version: IndexVersion,
    embedder: Embedder,
    config: RetrievalConfig | None = None,
    backend: VectorBackend = DEFAULT_BACKEND,
    dictionary: ReverseDictionary | None = None,
) -> HybridRetriever:
    """Load a verified version's retriever files into a HybridRetriever (with the CC-CEDICT
    fallback for English words when given `dictionary`; it is no index file)."""
    check_embedder(version.manifest, embedder)
    check_backend(version.manifest, backend)
    lexicon = Lexicon.load(version.path / LEXICON_FILE)
    add_domain_terms(domain_terms(lexicon))
    return HybridRetriever(
        chunks=load_chunks(version),
        embedder=embedder,
        vectors=backend.open(version.path, embedder.dim),
        keyword=BM25Index.load(version.path / BM25_DIR),
        lexicon=lexicon,
        config=config,
        dictionary=dictionary,
    )
