"""Index versions on disk: one folder per version, a manifest of checksums, an atomic switch.

Layout under the index root::

    versions/<id>/manifest.json   # format, counts, settings, sha256 of every other file
    versions/<id>/chunks.jsonl    # one Chunk per line
    versions/<id>/documents.json  # one record per document
    versions/<id>/...             # retriever files added by the builder
    CURRENT                       # the id of the version being served

A version is written into a hidden temporary folder, every file fsync'd, then renamed into
place; only then is `CURRENT` replaced (write-to-temp + `os.replace`, both fsync'd). A
crash at any moment leaves either the old or the new version current, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.document import Chunk
from ingest.errors import IndexMismatch, NotFound

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
DOCUMENTS = "documents.json"
CURRENT = "CURRENT"
MANIFEST_DIGEST = "manifest_sha256"


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """What the index knows about one document."""

    doc_id: str
    source: str
    title: str
    chunks: int
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "chunks": self.chunks,
            "path": self.path,
        }


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON without its own digest field: the files'
    checksums live in the manifest, so the manifest needs one too."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb+") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(dirpath))


@dataclass(frozen=True)
class IndexVersion:
    """A complete, verified index version folder."""

    path: Path
    manifest: Mapping[str, Any]

    @property
    def version_id(self) -> str:
        """The folder name, also recorded in the manifest."""
        return self.path.name

    def chunks(self) -> list[Chunk]:
        """All chunks, in index order (row i of every retriever file is chunk i)."""
        with (self.path / CHUNKS).open(encoding="utf-8") as fh:
            return [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]

    def documents(self) -> list[DocumentRecord]:
        """The documents of this version."""
        data = json.loads((self.path / DOCUMENTS).read_text(encoding="utf-8"))
        return [DocumentRecord(**record) for record in data]


class VersionWriter:
    """Collects the files of a new version in a temporary folder until `commit`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.version_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        self.path = root / "versions" / f".tmp-{self.version_id}"
        self.path.mkdir(parents=True)

    def write_chunks(self, chunks: Iterable[Chunk]) -> int:
        """Write chunks as JSON lines (token counts kept for statistics)."""
        count = 0
        with (self.path / CHUNKS).open("w", encoding="utf-8") as fh:
            for chunk in chunks:
                record = {**chunk.to_dict(), "tokens": chunk.tokens}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        return count

    def write_documents(self, documents: Iterable[DocumentRecord]) -> None:
        """Write the document records."""
        data = [d.to_dict() for d in documents]
        (self.path / DOCUMENTS).write_text(
            json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
        )

    def commit(self, info: Mapping[str, Any]) -> IndexVersion:
        """Checksum, fsync and publish the version, then make it current."""
        files = {
            str(p.relative_to(self.path)): sha256_file(p)
            for p in sorted(self.path.rglob("*"))
            if p.is_file()
        }
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "version": self.version_id,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **info,
            "files": files,
        }
        manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
        (self.path / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        _fsync_tree(self.path)
        final = self.root / "versions" / self.version_id
        os.replace(self.path, final)
        _fsync_dir(final.parent)
        _switch_current(self.root, self.version_id)
        return IndexVersion(final, manifest)

    def abort(self) -> None:
        """Throw the unfinished version away."""
        shutil.rmtree(self.path, ignore_errors=True)


def _switch_current(root: Path, version_id: str) -> None:
    tmp = root / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(version_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT)
    _fsync_dir(root)


class VersionStore:
    """The index root: finds, verifies, creates and prunes versions."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current_id(self) -> str | None:
        """Id of the current version, or None before the first ingest."""
        pointer = self.root / CURRENT
        if not pointer.exists():
            return None
        return pointer.read_text(encoding="utf-8").strip() or None

    def current(self, *, verify: bool = True) -> IndexVersion:
        """Load the current version; NotFound before the first ingest, IndexMismatch when
        the folder fails its manifest check."""
        version_id = self.current_id()
        if version_id is None:
            raise NotFound("no index yet: run `xinda ingest` first")
        return self.open(version_id, verify=verify)

    def open(self, version_id: str, *, verify: bool = True) -> IndexVersion:
        """Load one version by id, checking every file against the manifest."""
        path = self.root / "versions" / version_id
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise IndexMismatch(
                f"index version {version_id} has no manifest: run `xinda ingest --rebuild`"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexMismatch(
                f"index version {version_id}: manifest is unreadable: run `xinda ingest --rebuild`"
            ) from None
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexMismatch(
                f"index version {version_id} has format {manifest.get('format')}, this XinDa "
                f"reads {FORMAT_VERSION}: run `xinda ingest --rebuild`"
            )
        # Versions written before the digest existed have none; they still get the file
        # checks below, which a changed checksum inside the manifest cannot pass.
        digest = manifest.get(MANIFEST_DIGEST)
        if verify and digest is not None and digest != manifest_digest(manifest):
            raise IndexMismatch(
                f"index version {version_id}: manifest fails its checksum: "
                "run `xinda ingest --rebuild`"
            )
        if verify:
            for name, expected in manifest.get("files", {}).items():
                file = path / name
                if not file.is_file():
                    raise IndexMismatch(
                        f"index file {name} is missing: run `xinda ingest --rebuild`"
                    )
                if sha256_file(file) != expected:
                    raise IndexMismatch(
                        f"index file {name} fails its checksum: run `xinda ingest --rebuild`"
                    )
        return IndexVersion(path, manifest)

    def begin(self) -> VersionWriter:
        """Start writing a new version."""
        return VersionWriter(self.root)

    def prune(self, keep: int = 2, on_remove: Callable[[Path], None] | None = None) -> None:
        """Delete old versions and abandoned temporary folders, keeping the newest `keep`
        and always the current one; `on_remove(folder)` first frees what a version holds
        elsewhere (a collection on a Milvus server)."""
        folder = self.root / "versions"
        if not folder.is_dir():
            return
        current = self.current_id()
        for tmp in folder.glob(".tmp-*"):
            if on_remove is not None:
                on_remove(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
        # A writer killed between writing the new pointer and renaming it leaves this
        # behind; callers hold the writer lock, so no live writer owns one.
        for pointer in self.root.glob(f".{CURRENT}.*"):
            pointer.unlink(missing_ok=True)
        versions = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        for old in versions[:-keep] if keep else versions:
            if old.name != current:
                if on_remove is not None:
                    on_remove(old)
                shutil.rmtree(old, ignore_errors=True)
