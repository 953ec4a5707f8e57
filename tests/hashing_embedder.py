"""A tiny deterministic `Embedder` for tests that exercise the write path, not retrieval
quality: child processes that are killed mid-ingest cannot afford a model load each."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from index.embed import Vectors


class HashingEmbedder:
    """Character bigrams hashed into `dim` buckets, L2-normalised."""

    name = "test-hashing-bigrams"
    fingerprint = "hashing-v1"

    def __init__(self, dim: int = 32) -> None:
        self.dim = dim

    def _one(self, text: str) -> Vectors:
        vector = np.zeros(self.dim, dtype=np.float32)
        for a, b in zip(text, text[1:], strict=False):
            bucket = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest())
            vector[bucket % self.dim] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> Vectors:
        """One row per text."""
        out = np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim))
        if progress:
            progress(len(texts))
        return out.astype(np.float32)

    def embed_query(self, text: str) -> Vectors:
        """One query vector."""
        return self._one(text)
