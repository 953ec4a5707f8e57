"""Adding uploaded documents and checking the key that guards it: one code path for the
upload route and the web UI, so both parse in a child process and switch atomically."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from index.progress import Progress
from ingest.errors import BadInput
from ingest.isolated import parse_isolated
from ingest.load import SUPPORTED_EXTENSIONS, safe_name
from service.errors import Forbidden, PayloadTooLarge, Unauthorized, UnsupportedMedia
from service.settings import Settings
from service.wiring import make_builder


@dataclass(frozen=True, slots=True)
class AddedDocument:
    """What an upload added: the document and the index version it now lives in."""

    doc_id: str
    source: str
    title: str
    chunks: int
    version: str
    chunks_in_index: int
    seconds: float


def check_api_key(expected: str, given: str | None) -> None:
    """Document changes need the configured key; compared in constant time; off without one."""
    if not expected:
        raise Forbidden("document routes are disabled: set XINDA_API_KEY to enable them")
    if not given:
        raise Unauthorized("missing X-API-Key header")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("wrong API key")


def upload_name(filename: str) -> str:
    """The safe display name of an upload; UnsupportedMedia unless XinDa reads its type."""
    name = safe_name(filename or "upload")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in SUPPORTED_EXTENSIONS:
        raise UnsupportedMedia(
            f"unsupported file type {suffix or '(none)'}; XinDa reads "
            + ", ".join(sorted(SUPPORTED_EXTENSIONS))
        )
    return name


def add_document(
    settings: Settings, data: bytes, filename: str, progress: Progress | None = None
) -> AddedDocument:
    """Parse uploaded bytes in a child process and index them as a new, current version.

    Blocking (parsing and embedding take seconds): call it from a worker thread.
    """
    started = time.perf_counter()
    name = upload_name(filename)
    if len(data) > settings.max_upload_mb * 1024 * 1024:
        raise PayloadTooLarge(f"file over {settings.max_upload_mb} MB")
    if not data:
        raise BadInput("empty file")
    if progress is not None:
        progress.start("parsing", 1)
    chunked = parse_isolated(data, name, settings.chunk_settings)
    if progress is not None:
        progress.advance()
    version = make_builder(settings).add_documents([chunked], progress=progress)
    doc = chunked.document
    return AddedDocument(
        doc_id=doc.doc_id,
        source=doc.source,
        title=doc.title,
        chunks=len(chunked.chunks),
        version=version.version_id,
        chunks_in_index=int(version.manifest["counts"]["chunks"]),
        seconds=time.perf_counter() - started,
    )
