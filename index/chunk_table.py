"""The chunk records a retriever serves, read from `chunks.jsonl` on demand.

A search returns k chunks, but loading every record as a `Chunk` costs about 1 KB of
Python objects each: ~1 GB at a million chunks, half the memory budget of a 2 GB server.
The table keeps only the byte span of each line (16 bytes a chunk) and parses the few
lines a search returns, with `os.pread` so threads share one descriptor safely.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np
import numpy.typing as npt

from ingest.document import Chunk
from ingest.errors import IndexMismatch

BLOCK = 1 << 24  # bytes read at a time while finding line ends


def _line_spans(path: Path) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end offsets of every non-empty line."""
    ends: list[npt.NDArray[np.int64]] = []
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            found = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A)
            ends.append(found.astype(np.int64) + size + 1)
            size += len(block)
    bounds = np.concatenate([[0], *ends]) if ends else np.zeros(1, dtype=np.int64)
    if bounds[-1] != size:  # a last line without its newline
        bounds = np.append(bounds, size)
    keep = np.flatnonzero(np.diff(bounds) > 1)  # drop empty lines ("\n" alone)
    return bounds[keep].astype(np.int64), bounds[keep + 1].astype(np.int64)


class ChunkTable(Sequence[Chunk]):
    """`chunks.jsonl` as a sequence of Chunks: line offsets in memory, records on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._starts, self._ends = _line_spans(path)
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return int(len(self._starts))

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        i %= n
        lo, hi = int(self._starts[i]), int(self._ends[i])
        try:
            return Chunk.from_dict(json.loads(os.pread(self._fd, hi - lo, lo)))
        except (ValueError, KeyError, TypeError):
            raise IndexMismatch(
                f"chunk record {i} of {self.path.name} is unreadable: run `xinda ingest --rebuild`"
            ) from None

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(len(self)):
            yield self[i]

    def memory_bytes(self) -> int:
        """What the table holds in memory: the offsets."""
        return int(self._starts.nbytes + self._ends.nbytes)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)
