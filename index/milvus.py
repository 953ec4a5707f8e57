"""Milvus as the vector store (`XINDA_VECTOR_STORE=milvus`), through pymilvus's MilvusClient.

Where the vectors live decides how index versions stay atomic:

- no URI (the default): embedded Milvus Lite, one database file per index version,
  `versions/<id>/milvus.db`. It is written while the version is still a temporary folder,
  closed, then checksummed by the manifest like every other file, so a version switch
  is the same atomic rename as with FAISS and a tampered file is refused.
- a URI (`http://host:19530` for a standalone server or a cluster, or a `.db` path for
  one shared Milvus Lite file): one collection per version, `xinda_<version id>`, named in
  the version's `milvus.json`. The manifest checksums that JSON, not the vectors (they
  are on the server); opening checks the collection's dimension and row count instead.
  `CURRENT` still switches atomically, since the new collection is complete and loaded
  before the version is committed; pruning a version drops its collection.

Either way a new version is built from scratch (kept vectors reused, only new chunks
embedded), so deletes and re-ingest behave exactly as with FAISS.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.progress import Progress
from index.vectors import AnnConfig, Ids, Vectors
from ingest.errors import BackendUnavailable, IndexMismatch

MILVUS_DB = "milvus.db"
MILVUS_META = "milvus.json"
EMBEDDED_COLLECTION = "xinda"
ID_FIELD = "id"
VECTOR_FIELD = "vector"
INSERT_BATCH = 2_000  # rows per insert: well under the gRPC message limit at 384-d
QUERY_BATCH = 1_000  # ids per `get` when vectors are read back for reuse


# Milvus Lite runs one in-process server per database folder, holding a lock on it until
# released; pymilvus's `close()` does not release it. A version's folder is renamed when it
# is committed and a pruned one deleted, so the server must go when its last client
# closes: counted here, per absolute path.
_lite_users: dict[str, int] = {}
_lite_lock = threading.Lock()


def _client(uri: str, token: str, timeout: float) -> Any:
    from pymilvus import MilvusClient  # lazy: pymilvus takes a second to import

    lite = _lite_path(uri)
    try:
        client = MilvusClient(uri=uri, token=token, timeout=timeout)
    except Exception as exc:  # pymilvus raises its own and grpc's errors here
        if lite:
            _release_lite(lite, started=False)
        raise BackendUnavailable(
            f"cannot reach Milvus at {_shown(uri)} ({type(exc).__name__}: {exc}); "
            "check XINDA_MILVUS_URI (Milvus Lite lets one process open a database)"
        ) from None
    if lite:
        with _lite_lock:
            _lite_users[lite] = _lite_users.get(lite, 0) + 1
    return client


def _close(client: Any, uri: str) -> None:
    client.close()
    lite = _lite_path(uri)
    if lite:
        _release_lite(lite, started=True)


def _lite_path(uri: str) -> str:
    return os.path.abspath(uri) if uri.endswith(".db") and "://" not in uri else ""


def _release_lite(path: str, *, started: bool) -> None:
    with _lite_lock:
        users = _lite_users.get(path, 0) - (1 if started else 0)
        if users > 0:
            _lite_users[path] = users
            return
        _lite_users.pop(path, None)
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)


def _shown(uri: str) -> str:
    """The URI without credentials, for messages."""
    scheme, sep, rest = uri.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else uri


def collection_name(folder: Path) -> str:
    """`xinda_<version id>` for a version folder (temporary or final, the same name)."""
    version = folder.name.removeprefix(".tmp-")
    return "xinda_" + "".join(ch if ch.isalnum() else "_" for ch in version)


class MilvusStore:
    """One Milvus collection: int64 primary key = chunk row, float vector, inner product."""

    name = "milvus"

    def __init__(
        self,
        client: Any,
        collection: str,
        dim: int,
        *,
        index: str,
        nprobe: int,
        embedded: bool,
        uri: str = "",
    ) -> None:
        self.client = client
        self.uri = uri
        self.collection = collection
        self.dim = dim
        self.index_type = index
        self.nprobe = nprobe
        self.embedded = embedded
        self._count = 0

    @classmethod
    def create(
        cls,
        client: Any,
        collection: str,
        dim: int,
        index: str,
        nlist: int,
        nprobe: int,
        *,
        embedded: bool,
        uri: str,
    ) -> MilvusStore:
        """A new, empty collection with its vector index; replaces a leftover of that name."""
        from pymilvus import DataType, MilvusClient

        if client.has_collection(collection):
            client.drop_collection(collection)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        extra = {"nlist": nlist} if index.startswith("IVF") else {}
        params.add_index(field_name=VECTOR_FIELD, index_type=index, metric_type="IP", params=extra)
        # Strong consistency: a search right after the build sees every inserted row.
        client.create_collection(
            collection, schema=schema, index_params=params, consistency_level="Strong"
        )
        return cls(client, collection, dim, index=index, nprobe=nprobe, embedded=embedded, uri=uri)

    def add(self, ids: Ids, vectors: Vectors) -> None:
        """Insert rows in batches."""
        for lo in range(0, len(ids), INSERT_BATCH):
            rows = [
                {ID_FIELD: int(i), VECTOR_FIELD: v.tolist()}
                for i, v in zip(
                    ids[lo : lo + INSERT_BATCH], vectors[lo : lo + INSERT_BATCH], strict=True
                )
            ]
            self.client.insert(self.collection, rows)
        self._count += len(ids)

    def search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """Top-k by inner product."""
        if k <= 0 or self._count == 0:
            return []
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.index_type.startswith("IVF"):
            params["params"] = {"nprobe": self.nprobe}
        found = self.client.search(
            self.collection,
            data=[np.asarray(query, dtype=np.float32).reshape(-1).tolist()],
            limit=min(k, self._count),
            anns_field=VECTOR_FIELD,
            search_params=params,
            output_fields=[ID_FIELD],
        )
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]

    def reconstruct(self, ids: Ids) -> Vectors:
        """Read stored vectors back, in the order asked."""
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        where = {int(i): n for n, i in enumerate(ids)}
        for lo in range(0, len(ids), QUERY_BATCH):
            batch = [int(i) for i in ids[lo : lo + QUERY_BATCH]]
            for row in self.client.get(self.collection, ids=batch, output_fields=[VECTOR_FIELD]):
                out[where[int(row[ID_FIELD])]] = row[VECTOR_FIELD]
        return out

    def save(self, folder: Path) -> None:
        """Flush the collection and name it in `milvus.json`."""
        self.client.flush(self.collection)
        meta = {
            "collection": self.collection,
            "embedded": self.embedded,
            "count": self._count,
            "dim": self.dim,
            "index": self.index_type,
        }
        (folder / MILVUS_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")

    def describe(self) -> dict[str, Any]:
        """Kind, index type and size; memory is Milvus's, outside this process."""
        return {
            "store": self.name,
            "index": self.index_type,
            "vectors": self._count,
            "dim": self.dim,
            "embedded": self.embedded,
            "collection": self.collection,
            "memory_bytes": None,
        }

    def close(self) -> None:
        """Close the client; the last one of a Milvus Lite folder stops its server."""
        _close(self.client, self.uri)

    def __len__(self) -> int:
        return self._count


@dataclass(frozen=True, slots=True)
class MilvusBackend:
    """Builds and opens Milvus collections; `uri` empty = Milvus Lite in each version."""

    uri: str = ""
    token: str = ""
    ann: AnnConfig = field(default_factory=AnnConfig)
    timeout_s: float = 30.0
    name: str = "milvus"

    def _index_for(self, n: int) -> str:
        # FLAT is exact, like FAISS's below the threshold; above it IVF_SQ8, the same
        # family FAISS uses, so the two backends trade recall for memory alike.
        return "FLAT" if n < self.ann.threshold else "IVF_SQ8"

    def build(self, folder: Path, ids: Ids, vectors: Vectors, progress: Progress) -> MilvusStore:
        """Create the collection, insert with progress, flush and describe it."""
        n, dim = vectors.shape
        embedded = not self.uri
        uri = str(folder / MILVUS_DB) if embedded else self.uri
        name = EMBEDDED_COLLECTION if embedded else collection_name(folder)
        client = _client(uri, self.token, self.timeout_s)
        index = self._index_for(n)
        try:
            store = MilvusStore.create(
                client,
                name,
                dim,
                index,
                self.ann.lists_for(n),
                self.ann.nprobe,
                embedded=embedded,
                uri=uri,
            )
            progress.start(f"inserting vectors into Milvus ({index})", n)
            for lo in range(0, n, 10 * INSERT_BATCH):
                hi = min(n, lo + 10 * INSERT_BATCH)
                store.add(ids[lo:hi], vectors[lo:hi])
                progress.advance(hi - lo)
            store.save(folder)
        except BaseException:
            _close(client, uri)  # else Milvus Lite keeps the folder locked
            raise
        return store

    def open(self, folder: Path, dim: int) -> MilvusStore:
        """Connect, check dimension and row count against `milvus.json`, load."""
        try:
            meta = json.loads((folder / MILVUS_META).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            raise IndexMismatch(
                f"no readable {MILVUS_META} in the index version: run `xinda ingest --rebuild`"
            ) from None
        if int(meta["dim"]) != dim:
            raise IndexMismatch(
                f"Milvus collection has dimension {meta['dim']}, the embedder gives {dim}: "
                "run `xinda ingest --rebuild`"
            )
        embedded = bool(meta["embedded"])
        if embedded != (not self.uri):
            where = "embedded Milvus Lite" if embedded else "a Milvus at a URI"
            raise IndexMismatch(
                f"the index vectors are in {where}; XINDA_MILVUS_URI says otherwise: "
                "run `xinda ingest --rebuild`"
            )
        uri = str(folder / MILVUS_DB) if embedded else self.uri
        client = _client(uri, self.token, self.timeout_s)
        name = str(meta["collection"])
        if not client.has_collection(name):
            _close(client, uri)
            raise IndexMismatch(
                f"Milvus at {_shown(uri)} has no collection {name}: run `xinda ingest --rebuild`"
            )
        client.load_collection(name)  # a reopened collection is released until loaded
        count = _row_count(client, name)
        if count != int(meta["count"]):
            _close(client, uri)
            raise IndexMismatch(
                f"Milvus collection {name} holds {count} vectors, the index version "
                f"{meta['count']}: run `xinda ingest --rebuild`"
            )
        store = MilvusStore(
            client,
            name,
            dim,
            index=str(meta["index"]),
            nprobe=self.ann.nprobe,
            embedded=embedded,
            uri=uri,
        )
        store._count = count
        return store

    def remove(self, folder: Path) -> None:
        """Drop a pruned version's collection on a Milvus server (files go with the folder)."""
        if not self.uri:
            return
        client = _client(self.uri, self.token, self.timeout_s)
        try:
            name = collection_name(folder)
            if client.has_collection(name):
                client.drop_collection(name)
        finally:
            _close(client, self.uri)


def _row_count(client: Any, name: str) -> int:
    rows = client.query(name, filter="", output_fields=["count(*)"])
    return int(rows[0]["count(*)"])
