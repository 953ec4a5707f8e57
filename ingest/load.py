"""Read a file (txt, md, html, pdf, docx) into `SourceLine`s that point back into it.

The public entry points are `load_document` (a path on disk) and `load_bytes` (an upload).
Every failure a user can cause comes out as `SkippedFile` with a one-line reason.
Format details live in `load_text` (txt/md), `load_html` and `load_binary` (pdf/docx);
the heavy parsers are imported only when a file of their kind is loaded.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from pathlib import Path, PurePosixPath

from ingest.document import LoadedDocument, SourceLine, bytes_hash
from ingest.errors import SkippedFile
from ingest.load_text import (
    clip_title,
    first_meaningful_line,
    is_meaningful,
    load_text,
    markdown_title,
)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
)
_MARKDOWN = frozenset({".md", ".markdown"})
_MAX_NAME_CHARS = 200
_FALLBACK_NAME = "upload"


def safe_name(filename: str) -> str:
    """Display name of an upload: last path part, no control characters, bounded length."""
    cleaned = "".join(ch for ch in filename if unicodedata.category(ch)[0] != "C")
    # Either separator may come from a client; only the last part is a name.
    name = cleaned.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in {"", ".", ".."}:
        return _FALLBACK_NAME
    if len(name) > _MAX_NAME_CHARS:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: _MAX_NAME_CHARS - len(suffix)] + suffix
    return name


def _extension(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise SkippedFile(f"unsupported file type {suffix or '(no extension)'}")
    return suffix


def load_document(path: Path) -> LoadedDocument:
    """Load a file from disk (its extension is checked before any bytes are read)."""
    _extension(safe_name(path.name))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkippedFile(f"cannot read file: {exc.strerror or type(exc).__name__}") from exc
    return dataclasses.replace(load_bytes(data, path.name), path=str(path))


def _parse(data: bytes, extension: str) -> tuple[str | None, list[SourceLine]]:
    if extension in {".html", ".htm"}:
        from ingest.load_html import load_html

        return load_html(data)
    if extension == ".pdf":
        from ingest.load_binary import load_pdf

        return load_pdf(data)
    if extension == ".docx":
        from ingest.load_binary import load_docx

        return load_docx(data)
    lines = load_text(data)
    return (markdown_title(lines) if extension in _MARKDOWN else None), lines


def load_bytes(data: bytes, filename: str) -> LoadedDocument:
    """Load file contents; `filename` only supplies the extension and display name."""
    name = safe_name(filename)
    extension = _extension(name)
    if not data:
        raise SkippedFile("empty file")
    title, lines = _parse(data, extension)
    if not any(line.text.strip() for line in lines):
        raise SkippedFile("no text found" + (" (scanned PDF?)" if extension == ".pdf" else ""))
    if title is None or not is_meaningful(title):
        title = first_meaningful_line(lines) or PurePosixPath(name).stem
    return LoadedDocument(
        source=name,
        doc_id=bytes_hash(data),
        title=clip_title(title) or name,
        lines=tuple(lines),
    )
