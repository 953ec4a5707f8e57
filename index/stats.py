"""What a loaded index version costs: the size of its parts on disk and in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.retriever import HybridRetriever
from index.versions import IndexVersion


def process_memory() -> dict[str, int]:
    """This process's resident set now and at its peak, in bytes (Linux; else empty)."""
    fields = {"VmRSS": "rss_bytes", "VmHWM": "peak_rss_bytes"}
    found: dict[str, int] = {}
    try:
        lines = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
    except OSError:
        return found
    for line in lines:
        key, _, value = line.partition(":")
        if key in fields:
            found[fields[key]] = int(value.split()[0]) * 1024  # the kernel reports kB
    return found


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def index_stats(version: IndexVersion, retriever: HybridRetriever) -> dict[str, Any]:
    """Version, counts, vector store (kind, index, memory), BM25 memory, disk, process RSS."""
    counts = version.manifest.get("counts", {})
    return {
        "version": version.version_id,
        "documents": counts.get("documents"),
        "chunks": len(retriever.chunks),
        "vectors": retriever.vectors.describe(),
        "bm25": {"memory_bytes": retriever.keyword.memory_bytes()},
        "disk_bytes": folder_bytes(version.path),
        "process": process_memory(),
    }
