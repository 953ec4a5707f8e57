"""Documents → a new index version: the write path shared by `xinda ingest` and uploads."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index.artifacts import DEFAULT_BACKEND, write_retrieval_files
from index.embed import Embedder
from index.progress import NoProgress, Progress
from index.vectors import VectorBackend
from index.versions import DocumentRecord, IndexVersion, VersionStore
from ingest.chunk import ChunkSettings, TokenCounter
from ingest.document import Chunk, bytes_hash
from ingest.errors import BadInput, NotFound, StorageError, XinDaError
from ingest.pipeline import ChunkedDocument, Skipped, chunk_files, collect_files


@dataclass(frozen=True)
class IngestSummary:
    """What one ingest did, for the one-line summary and the API."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    documents: int = 0
    chunks: int = 0
    new_chunks: int = 0
    seconds: float = 0.0
    version: str | None = None
    changed: bool = field(default=False)

    def line(self) -> str:
        """One-line human summary."""
        parts = [
            f"{self.documents} documents, {self.chunks} chunks in the index",
            f"{len(self.added)} added, {len(self.replaced)} replaced, "
            f"{len(self.unchanged)} unchanged",
        ]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        if self.skipped:
            reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in self.skipped)
            parts.append(f"{len(self.skipped)} skipped ({reasons})")
        parts.append(f"{self.seconds:.1f} s")
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        data = asdict(self)
        data["skipped"] = [{"path": s.path, "reason": s.reason} for s in self.skipped]
        return data


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time per index root (readers never block)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BadInput("another ingest is running on this index; try again later") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class IndexBuilder:
    """Builds index versions from files, reusing what an earlier version already holds."""

    store: VersionStore
    count_tokens: TokenCounter
    chunk_settings: ChunkSettings = field(default_factory=ChunkSettings)
    # Without an embedder a version holds chunks only (enough for `xinda chunks`-style
    # inspection and the store's own tests); the service refuses such a version.
    embedder: Embedder | None = None
    vectors: VectorBackend = DEFAULT_BACKEND

    def chunker_info(self) -> dict[str, Any]:
        """Chunker settings recorded in the manifest."""
        return {"chunker": asdict(self.chunk_settings)}

    def _previous(self, rebuild: bool) -> IndexVersion | None:
        if rebuild:
            return None
        try:
            return self.store.current()
        except NotFound:
            return None

    def ingest(
        self, paths: Sequence[Path], *, rebuild: bool = False, progress: Progress | None = None
    ) -> IngestSummary:
        """Add or replace the documents in `paths`; unchanged files cost nothing."""
        started = time.perf_counter()
        progress = progress or NoProgress()
        files = collect_files(paths)
        with writer_lock(self.store.root):
            previous = self._previous(rebuild)
            old_docs = {d.source: d for d in previous.documents()} if previous else {}
            todo: list[Path] = []
            unchanged: list[str] = []
            for path in files:
                known = old_docs.get(path.name)
                if known is not None and known.doc_id == _file_id(path):
                    unchanged.append(path.name)
                else:
                    todo.append(path)
            progress.start("reading and chunking", len(todo))
            fresh: list[ChunkedDocument] = []
            skipped: list[Skipped] = []
            for result in chunk_files(todo, self.count_tokens, self.chunk_settings):
                progress.advance()
                if isinstance(result, Skipped):
                    skipped.append(result)
                else:
                    fresh.append(result)
            replaced = [d.document.source for d in fresh if d.document.source in old_docs]
            added = [d.document.source for d in fresh if d.document.source not in old_docs]
            if previous is not None and not fresh:
                return IngestSummary(
                    unchanged=tuple(unchanged),
                    skipped=tuple(skipped),
                    documents=len(old_docs),
                    chunks=int(previous.manifest["counts"]["chunks"]),
                    seconds=time.perf_counter() - started,
                    version=previous.version_id,
                )
            version = self._write(previous, fresh, drop=set(replaced), progress=progress)
            counts = version.manifest["counts"]
            return IngestSummary(
                added=tuple(added),
                replaced=tuple(replaced),
                unchanged=tuple(unchanged),
                skipped=tuple(skipped),
                documents=int(counts["documents"]),
                chunks=int(counts["chunks"]),
                new_chunks=sum(len(d.chunks) for d in fresh),
                seconds=time.perf_counter() - started,
                version=version.version_id,
                changed=True,
            )

    def add_documents(
        self, documents: Sequence[ChunkedDocument], progress: Progress | None = None
    ) -> IndexVersion:
        """Add already-chunked documents (uploads), replacing same-named ones."""
        with writer_lock(self.store.root):
            previous = self._previous(False)
            drop = {d.document.source for d in documents}
            return self._write(previous, list(documents), drop=drop, progress=progress)

    def delete(self, doc_id: str) -> IndexVersion:
        """Remove one document from every part of the index; NotFound if absent."""
        with writer_lock(self.store.root):
            previous = self.store.current()
            match = [d.source for d in previous.documents() if d.doc_id == doc_id]
            if not match:
                raise NotFound(f"no document with doc_id {doc_id}")
            return self._write(previous, [], drop=set(match), progress=None)

    def _write(
        self,
        previous: IndexVersion | None,
        fresh: Sequence[ChunkedDocument],
        *,
        drop: set[str],
        progress: Progress | None,
    ) -> IndexVersion:
        kept_docs: list[DocumentRecord] = []
        kept_chunks: list[Chunk] = []
        if previous is not None:
            kept_docs = [d for d in previous.documents() if d.source not in drop]
            kept_ids = {d.doc_id for d in kept_docs}
            kept_chunks = [c for c in previous.chunks() if c.doc_id in kept_ids]
        new_docs = [
            DocumentRecord(
                doc_id=d.document.doc_id,
                source=d.document.source,
                title=d.document.title,
                chunks=len(d.chunks),
                path=d.document.path,
            )
            for d in fresh
        ]
        chunks = kept_chunks + [c for d in fresh for c in d.chunks]
        documents = kept_docs + new_docs
        if len({c.chunk_id for c in chunks}) != len(chunks):
            raise XinDaError("duplicate chunk ids in the new index version")  # a bug, not input
        try:
            writer = self.store.begin()
        except OSError as exc:
            raise _storage_error(exc) from None
        try:
            writer.write_chunks(chunks)
            writer.write_documents(documents)
            info: dict[str, Any] = {
                **self.chunker_info(),
                "counts": {"documents": len(documents), "chunks": len(chunks)},
            }
            if self.embedder is not None:
                info |= write_retrieval_files(
                    writer.path,
                    chunks,
                    self.embedder,
                    previous,
                    progress or NoProgress(),
                    self.vectors,
                )
            version = writer.commit(info)
        except OSError as exc:
            writer.abort()
            raise _storage_error(exc) from None
        except BaseException:
            self.vectors.remove(writer.path)
            writer.abort()
            raise
        self.store.prune(on_remove=self.vectors.remove)
        return version


def _storage_error(exc: OSError) -> StorageError:
    reason = exc.strerror or type(exc).__name__
    return StorageError(
        f"cannot write the new index version ({reason}); the previous version is still "
        "served: free space under XINDA_HOME and ingest again"
    )


def _file_id(path: Path) -> str:
    try:
        return bytes_hash(path.read_bytes())
    except OSError:
        return ""
