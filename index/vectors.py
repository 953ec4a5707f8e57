"""Vector stores: exact inner-product search over unit vectors (cosine), ids = chunk rows."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
import numpy.typing as npt

from ingest.errors import IndexMismatch

Vectors = npt.NDArray[np.float32]
FAISS_FILE = "vectors.faiss"


class VectorStore(Protocol):
    """Nearest-neighbour search over vectors keyed by int64 ids."""

    name: str
    dim: int

    def add(self, ids: npt.NDArray[np.int64], vectors: Vectors) -> None:
        """Add vectors under the given ids."""
        ...

    def search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """`(id, score)` best first; at most k."""
        ...

    def reconstruct(self, ids: npt.NDArray[np.int64]) -> Vectors:
        """The stored vectors of these ids (to reuse them in a new version)."""
        ...

    def save(self, folder: Path) -> None:
        """Write the store into a version folder."""
        ...

    def __len__(self) -> int: ...


class FaissStore:
    """`IndexIDMap2` over `IndexFlatIP`: exact search, deletable, saved in FAISS's format."""

    name = "faiss"

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def load(cls, folder: Path, dim: int) -> FaissStore:
        """Read `vectors.faiss`; a dimension mismatch is refused."""
        try:
            index = faiss.read_index(str(folder / FAISS_FILE))
        except RuntimeError as exc:
            raise IndexMismatch(f"cannot read {FAISS_FILE}: {exc}") from None
        if index.d != dim:
            raise IndexMismatch(
                f"vector index has dimension {index.d}, the embedder gives {dim}: "
                "run `xinda ingest --rebuild`"
            )
        return cls(dim, index)

    def add(self, ids: npt.NDArray[np.int64], vectors: Vectors) -> None:
        """Add vectors under the given ids."""
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """Exact top-k by inner product."""
        if self.index.ntotal == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self.index.search(q, min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def reconstruct(self, ids: npt.NDArray[np.int64]) -> Vectors:
        """Stored vectors of these ids."""
        return np.stack([self.index.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def save(self, folder: Path) -> None:
        """Write `vectors.faiss`."""
        faiss.write_index(self.index, str(folder / FAISS_FILE))

    def __len__(self) -> int:
        return int(self.index.ntotal)
