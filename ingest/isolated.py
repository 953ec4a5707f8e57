"""Parse an untrusted upload in a child process with time, memory and output limits.

A hostile file (a zip bomb in a DOCX, a self-referencing PDF) can make a parser loop or
allocate without bound; in a child it only kills the child. The parent gets JSON back —
never pickle — and rebuilds the chunks from it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import asdict
from typing import Any

from ingest.chunk import ChunkSettings
from ingest.document import Chunk, LoadedDocument
from ingest.errors import SkippedFile
from ingest.pipeline import ChunkedDocument

MAX_OUTPUT_BYTES = 64 * 1024 * 1024


def parse_isolated(
    data: bytes,
    filename: str,
    settings: ChunkSettings,
    *,
    timeout_s: float = 60.0,
    memory_mb: int = 1536,
) -> ChunkedDocument:
    """Load, clean and chunk uploaded bytes in a child process; SkippedFile on any failure."""

    def limit() -> None:  # runs in the child before exec
        memory = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        cpu = int(timeout_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # the parser writes no files

    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ingest.isolated", filename, json.dumps(asdict(settings))],
            input=data,
            capture_output=True,
            timeout=timeout_s,
            preexec_fn=limit,  # noqa: PLW1509 - no threads hold locks at this point
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SkippedFile(f"parsing took longer than {timeout_s:.0f} s") from None
    if proc.returncode != 0 or len(proc.stdout) > MAX_OUTPUT_BYTES:
        reason = "ran out of memory or time" if proc.returncode < 0 else "could not be parsed"
        raise SkippedFile(f"the file {reason}")
    try:
        result: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SkippedFile("the file could not be parsed") from None
    if "error" in result:
        raise SkippedFile(str(result["error"]))
    doc = result["document"]
    document = LoadedDocument(
        source=doc["source"], doc_id=doc["doc_id"], title=doc["title"], lines=(), path=""
    )
    chunks = tuple(Chunk.from_dict(c) for c in result["chunks"])
    return ChunkedDocument(document, chunks)


def _child(filename: str, settings_json: str) -> None:
    from ingest.pipeline import chunk_upload
    from ingest.tokens import e5_token_counter

    data = sys.stdin.buffer.read()
    settings = ChunkSettings(**json.loads(settings_json))
    try:
        chunked = chunk_upload(data, filename, e5_token_counter(), settings)
    except SkippedFile as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        return
    doc = chunked.document
    print(
        json.dumps(
            {
                "document": {"source": doc.source, "doc_id": doc.doc_id, "title": doc.title},
                "chunks": [{**c.to_dict(), "tokens": c.tokens} for c in chunked.chunks],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
