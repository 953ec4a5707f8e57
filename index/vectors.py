"""Vector stores: inner-product search over unit vectors (cosine), ids = chunk rows.

Two shapes of FAISS index, chosen by size when a version is built:

- below `AnnConfig.threshold` chunks, `IndexIDMap2(IndexFlatIP)`: exact, and at 200k
  × 384-d still 300 MB and ~20 ms a query on one core (10.6 ms measured at 100k);
- from the threshold on, `IVF<nlist>,SQ8` (inverted lists over 8-bit scalar-quantised
  vectors): a quarter of the memory and a few ms a query at 1M, recall@10 against exact
  measured by `make bench-scale` (bench/scale.md). Rejected there: HNSW32 (recall@10
  0.90 at efSearch 128 on these concentrated vectors, 10x the build time, full floats
  plus a graph in memory). Rejected in a one-off run at 1M (2026-12-04, same synthetic
  data, nprobe 32, 10·k candidates re-scored): SQ4, recall 0.935; PQ96, recall 0.72
  and nearly 5 minutes of training. E5 vectors sit in a narrow cone (mean pair cosine
  0.88), where coarse codes cannot tell neighbours apart.
  SQ8 codes cannot give the original vectors back, so the float32 vectors are also saved
  as `vectors.npy` (`RawVectors`): re-ingest reuses them from there, bit for bit, and
  a search re-scores its `rerank`·k best candidates with them. SQ8 alone stops near
  recall@10 0.96 at 1M whatever nprobe is (its rounding reorders near-ties); re-scoring
  a few dozen rows read from the page cache lifts that for well under a millisecond, and
  the scores returned are exact cosines, as with the flat index.

Searches run on one OpenMP thread: a single query's scan is short, and with two threads
on two busy cores OpenMP's spin-waits cost more than they save (100k flat, measured on
the 2-core machine while other work ran: 80 ms a query on two threads, 10.6 ms on one).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np
import numpy.typing as npt

from index.progress import Progress
from ingest.errors import BadInput, IndexMismatch

Vectors = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]
FAISS_FILE = "vectors.faiss"
VECTORS_NPY = "vectors.npy"
ADD_BATCH = 50_000  # vectors per add call: one progress step, bounded temporary memory
DEFAULT_THRESHOLD = 200_000
DEFAULT_NPROBE = 32
DEFAULT_RERANK = 4
SEARCH_THREADS = 1
TRAIN_PER_LIST = 48  # k-means points per inverted list (FAISS warns below 39)


class VectorStore(Protocol):
    """Nearest-neighbour search over vectors keyed by int64 ids."""

    name: str
    dim: int

    def add(self, ids: Ids, vectors: Vectors) -> None:
        """Add vectors under the given ids."""
        ...

    def search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """`(id, score)` best first; at most k."""
        ...

    def reconstruct(self, ids: Ids) -> Vectors:
        """The stored vectors of these ids (to reuse them in a new version)."""
        ...

    def save(self, folder: Path) -> None:
        """Write the store into a version folder."""
        ...

    def describe(self) -> dict[str, Any]:
        """Kind, index type, parameters and memory (bytes) for `xinda stats` and /readyz."""
        ...

    def close(self) -> None:
        """Release connections or handles (a no-op for in-process stores)."""
        ...

    def __len__(self) -> int: ...


class VectorBackend(Protocol):
    """Builds a version's vector store into its folder and opens it again."""

    @property
    def name(self) -> str:
        """The name the manifest records (`faiss`, `milvus`)."""
        ...

    def build(self, folder: Path, ids: Ids, vectors: Vectors, progress: Progress) -> VectorStore:
        """Index `vectors` under `ids` and write everything into `folder`."""
        ...

    def open(self, folder: Path, dim: int) -> VectorStore:
        """Open the store a version folder holds; IndexMismatch when it cannot."""
        ...

    def remove(self, folder: Path) -> None:
        """Free what a pruned version held outside its folder (nothing for files)."""
        ...


@dataclass(frozen=True, slots=True)
class AnnConfig:
    """When and how FAISS switches from exact to approximate search."""

    threshold: int = DEFAULT_THRESHOLD  # chunks; below it the index is exact
    nlist: int = 0  # inverted lists; 0 = √n rounded to a power of two (1024 at 1M)
    nprobe: int = DEFAULT_NPROBE  # lists visited per query (bench/scale.md: the curve)
    rerank: int = DEFAULT_RERANK  # candidates per hit re-scored exactly; 1 = SQ8 scores

    def lists_for(self, n: int) -> int:
        """The number of inverted lists for `n` vectors."""
        # √n lists: k-means training (48 points a list) and assigning 1M vectors stay under a
        # minute on 2 cores; nprobe then decides recall (see bench/scale.md).
        wanted = self.nlist or min(16384, max(16, 2 ** round(math.log2(math.sqrt(max(n, 1))))))
        # k-means needs ~39 points a list: a tiny approximate index gets fewer lists.
        return int(max(1, min(wanted, n // 39)))


class RawVectors:
    """`vectors.npy`: memory-mapped for bulk reads (re-ingest reuses every row), read with
    `os.pread` for the few rows a search re-scores. pread leaves those rows in the OS page
    cache, shared by every process and given back under memory pressure, instead of
    mapping them into this process, where they would add up in its RSS."""

    def __init__(self, path: Path, rows: int, dim: int) -> None:
        try:
            self.array: Vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexMismatch(
                f"cannot read {path.name} ({type(exc).__name__}): run `xinda ingest --rebuild`"
            ) from None
        if self.array.shape != (rows, dim) or self.array.dtype != np.dtype("<f4"):
            raise IndexMismatch(
                f"{path.name} holds {self.array.shape} {self.array.dtype}, the index "
                f"{rows} × {dim} float32: run `xinda ingest --rebuild`"
            )
        self._offset = int(getattr(self.array, "offset", 0))
        self._width = dim * 4
        self._dim = dim
        self._fd: int | None = os.open(path, os.O_RDONLY)

    def rows(self, ids: Ids) -> Vectors:
        """These rows, read one by one."""
        if self._fd is None:
            raise BadInput("the vector store is closed")
        out = np.empty((len(ids), self._dim), dtype=np.float32)
        for n, i in enumerate(ids):
            data = os.pread(self._fd, self._width, self._offset + int(i) * self._width)
            out[n] = np.frombuffer(data, dtype="<f4")
        return out

    def close(self) -> None:
        """Close the descriptor (the map goes with the array)."""
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


class FaissStore:
    """A FAISS index over unit vectors: exact `IndexIDMap2(IndexFlatIP)` or `IVF,SQ8`."""

    name = "faiss"

    def __init__(
        self,
        dim: int,
        index: faiss.Index | None = None,
        *,
        raw: RawVectors | None = None,
        nprobe: int = DEFAULT_NPROBE,
        rerank: int = DEFAULT_RERANK,
    ) -> None:
        self.dim = dim
        self.rerank = rerank
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._raw = raw  # the float32 vectors by id, when the codes are lossy
        self._ivf = _ivf_of(self.index)
        if self._ivf is not None:
            self._ivf.nprobe = nprobe

    @property
    def kind(self) -> str:
        """`flat` (exact) or `ivf_sq8` (approximate)."""
        return "flat" if self._ivf is None else "ivf_sq8"

    @classmethod
    def approximate(cls, dim: int, n: int, config: AnnConfig) -> FaissStore:
        """An empty, untrained `IVF,SQ8` store sized for `n` vectors."""
        nlist = config.lists_for(n)
        index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        return cls(dim, index, nprobe=config.nprobe, rerank=config.rerank)

    @classmethod
    def load(
        cls,
        folder: Path,
        dim: int,
        nprobe: int = DEFAULT_NPROBE,
        rerank: int = DEFAULT_RERANK,
    ) -> FaissStore:
        """Read `vectors.faiss` (and map `vectors.npy`); a dimension mismatch is refused."""
        try:
            index = faiss.read_index(str(folder / FAISS_FILE))
        except RuntimeError as exc:
            raise IndexMismatch(f"cannot read {FAISS_FILE}: {exc}") from None
        if index.d != dim:
            raise IndexMismatch(
                f"vector index has dimension {index.d}, the embedder gives {dim}: "
                "run `xinda ingest --rebuild`"
            )
        raw = RawVectors(folder / VECTORS_NPY, index.ntotal, dim) if _ivf_of(index) else None
        return cls(dim, index, raw=raw, nprobe=nprobe, rerank=rerank)

    def train(self, sample: Vectors) -> None:
        """Fit the inverted lists and the quantiser (approximate stores only)."""
        if not self.index.is_trained:
            self.index.train(np.ascontiguousarray(sample, dtype=np.float32))

    def add(self, ids: Ids, vectors: Vectors) -> None:
        """Add vectors under the given ids."""
        if not len(ids):
            return
        if not self.index.is_trained:
            raise BadInput("an approximate index must be trained before vectors are added")
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """Top-k by inner product (exact, or over `nprobe` inverted lists)."""
        if self.index.ntotal == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if self._raw is not None and self.rerank > 1:
            _, found = self.index.search(q, min(k * self.rerank, self.index.ntotal))
            rows = np.sort(found[0][found[0] >= 0])  # ascending: reads go forward in the file
            exact = self._raw.rows(rows) @ q[0]
            best = np.argsort(-exact, kind="stable")[:k]
            return [(int(rows[i]), float(exact[i])) for i in best]
        scores, ids = self.index.search(q, min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def reconstruct(self, ids: Ids) -> Vectors:
        """Stored vectors of these ids (from `vectors.npy` when the codes are lossy)."""
        if self._raw is not None:
            return np.asarray(self._raw.array[np.asarray(ids)], dtype=np.float32)
        if self._ivf is not None:
            raise BadInput("an approximate store keeps its float vectors only once saved")
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.index.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def save(self, folder: Path) -> None:
        """Write `vectors.faiss`."""
        faiss.write_index(self.index, str(folder / FAISS_FILE))

    def memory_bytes(self) -> int:
        """In-memory size of the index structures (codes, ids, centroids, id map)."""
        n, d = int(self.index.ntotal), self.dim
        if self._ivf is None:
            # flat floats + the id array + IndexIDMap2's id → row hash map (~2 words a key)
            return n * d * 4 + n * 8 + n * 16
        return int(n * self._ivf.code_size + n * 8 + self._ivf.nlist * d * 4 + 2 * d * 4)

    def describe(self) -> dict[str, Any]:
        """Kind, index type, parameters and memory."""
        info: dict[str, Any] = {
            "store": self.name,
            "index": self.kind,
            "vectors": len(self),
            "dim": self.dim,
            "memory_bytes": self.memory_bytes(),
        }
        if self._ivf is not None:
            info |= {
                "nlist": int(self._ivf.nlist),
                "nprobe": int(self._ivf.nprobe),
                "rerank": self.rerank,
            }
        return info

    def close(self) -> None:
        """Close `vectors.npy` (the index itself lives in this process)."""
        if self._raw is not None:
            self._raw.close()

    def __len__(self) -> int:
        return int(self.index.ntotal)


@contextmanager
def _all_cores() -> Iterator[None]:
    """k-means and adding vectors do use every core; searches go back to their setting."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _ivf_of(index: faiss.Index) -> Any | None:
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:  # not an IVF index (the exact IndexIDMap2)
        return None


@dataclass(frozen=True, slots=True)
class FaissBackend:
    """FAISS files in the version folder; exact below the ANN threshold, IVF-SQ8 above."""

    ann: AnnConfig = AnnConfig()
    name: str = "faiss"

    def build(self, folder: Path, ids: Ids, vectors: Vectors, progress: Progress) -> FaissStore:
        """Train (when approximate), add in batches with progress, save."""
        with _all_cores():
            return self._build(folder, ids, vectors, progress)

    def _build(self, folder: Path, ids: Ids, vectors: Vectors, progress: Progress) -> FaissStore:
        n, dim = vectors.shape
        if n < self.ann.threshold:
            store = FaissStore(dim)
        else:
            store = FaissStore.approximate(dim, n, self.ann)
            # vectors.npy first: written before training, it is also the training source.
            np.save(folder / VECTORS_NPY, np.ascontiguousarray(vectors, dtype=np.float32))
            nlist = self.ann.lists_for(n)
            progress.start(f"training IVF{nlist},SQ8", 1)
            rows = np.random.default_rng(0).choice(
                n, size=min(n, TRAIN_PER_LIST * nlist), replace=False
            )
            store.train(vectors[np.sort(rows)])
            progress.advance()
        progress.start(f"indexing vectors ({store.kind})", n)
        for lo in range(0, n, ADD_BATCH):
            hi = min(n, lo + ADD_BATCH)
            store.add(ids[lo:hi], vectors[lo:hi])
            progress.advance(hi - lo)
        store.save(folder)
        if store.kind != "flat":
            store._raw = RawVectors(folder / VECTORS_NPY, n, dim)
        return store

    def open(self, folder: Path, dim: int) -> FaissStore:
        """Load `vectors.faiss` with the configured `nprobe`; searches on one thread."""
        faiss.omp_set_num_threads(SEARCH_THREADS)  # process-wide; see the module docstring
        return FaissStore.load(folder, dim, nprobe=self.ann.nprobe, rerank=self.ann.rerank)

    def remove(self, folder: Path) -> None:
        """Nothing outside the folder."""
