"""Loading the binary formats, PDF (pypdf) and DOCX (python-docx).

Both libraries raise a zoo of exception types on damaged files (their own, KeyError,
ValueError, zlib and lxml errors ...), so each is fenced off here and turned into one
`SkippedFile` with a one-line reason.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from ingest.document import SourceLine
from ingest.errors import SkippedFile
from ingest.load_text import split_lines

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 5000
# A DOCX is a zip; refuse archives that inflate past this (zip bombs) before parsing them.
MAX_DOCX_UNPACKED_BYTES = 256 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LAYOUT_SPACE = re.compile(r"[\t\n\r\v\f]+")
_HEADING_STYLE = re.compile(r"heading\s*([1-9])", re.IGNORECASE)
# Metadata titles that name the authoring tool or a temp file, not the document.
_JUNK_TITLE = re.compile(
    r"^(untitled.*|无标题.*|microsoft word.*|.*\.(docx?|pdf|pptx?|xlsx?|wps|tmp))$", re.IGNORECASE
)


def _reason(exc: BaseException) -> str:
    """One short line describing an exception (never a traceback)."""
    message = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _metadata_title(title: object) -> str | None:
    if not isinstance(title, str):
        return None
    title = " ".join(title.split())
    return None if not title or _JUNK_TITLE.match(title) else title


def load_pdf(data: bytes) -> tuple[str | None, list[SourceLine]]:
    """Metadata title and per-page lines (`line` = index within the page's extracted text)."""
    if b"%PDF-" not in data[:1024]:
        raise SkippedFile("corrupt or unreadable PDF: no %PDF header")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password just to set permissions.
            if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise SkippedFile("encrypted PDF (needs a password)")
        page_count = len(reader.pages)
        if page_count > MAX_PDF_PAGES:
            raise SkippedFile(f"PDF has too many pages ({page_count} > {MAX_PDF_PAGES})")
        title = _metadata_title(reader.metadata.title if reader.metadata else None)
    except SkippedFile:
        raise
    except DependencyError as exc:
        # AES needs the optional `cryptography` package.
        raise SkippedFile(f"encrypted PDF that cannot be decrypted here: {_reason(exc)}") from exc
    except Exception as exc:  # pypdf's many failure types on damaged files
        raise SkippedFile(f"corrupt or unreadable PDF: {_reason(exc)}") from exc
    lines: list[SourceLine] = []
    first_error: str | None = None
    for page_number in range(1, page_count + 1):
        try:
            text = reader.pages[page_number - 1].extract_text()
        except Exception as exc:  # one bad page should not lose the others
            first_error = first_error or _reason(exc)
            log.warning("PDF page %d unreadable: %s", page_number, _reason(exc))
            continue
        for index, line in enumerate(split_lines(text), start=1):
            lines.append(SourceLine(text=_clean(line), line=index, page=page_number))
    if first_error and not any(line.text.strip() for line in lines):
        raise SkippedFile(f"corrupt or unreadable PDF: {first_error}")
    return title, lines


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as exc:  # BadZipFile, but also struct/ValueError on truncated archives
        reason = _reason(exc)
        raise SkippedFile(f"corrupt or unreadable DOCX: not a zip archive ({reason})") from exc
    if not any(member.filename == "word/document.xml" for member in members):
        raise SkippedFile("corrupt or unreadable DOCX: no word/document.xml (not a Word file?)")
    if sum(member.file_size for member in members) > MAX_DOCX_UNPACKED_BYTES:
        raise SkippedFile("DOCX too large when unpacked (zip bomb?)")


def _heading_level(paragraph: Paragraph) -> int:
    """1-6 for Title / Heading N paragraphs, 0 otherwise."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 1
    match = _HEADING_STYLE.fullmatch(name.strip())
    return min(int(match.group(1)), 6) if match else 0


def _table_rows(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous: object = None
        for cell in row.cells:
            if cell is previous:  # a horizontally merged cell is repeated once per grid column
                continue
            previous = cell
            cells.append(" ".join(_clean(cell.text).split()))
        if any(cells):
            rows.append("\t".join(cells))
    return rows


def load_docx(data: bytes) -> tuple[str | None, list[SourceLine]]:
    """Title and lines: one per paragraph (headings as `# ...`), one per table row (tabs)."""
    _check_zip(data)
    texts: list[str] = []
    title: str | None = None
    try:
        document = docx.Document(io.BytesIO(data))
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                texts.extend(_table_rows(block))
                continue
            # Tabs are reserved for table cells downstream; soft breaks join the paragraph.
            text = _LAYOUT_SPACE.sub(" ", _clean(block.text.replace("\t", " "))).strip()
            if not text:
                continue
            level = _heading_level(block)
            if level:
                title = title or text
                text = "#" * level + " " + text
            texts.append(text)
        title = title or _metadata_title(document.core_properties.title)
    except Exception as exc:  # python-docx / lxml failures on damaged parts
        raise SkippedFile(f"corrupt or unreadable DOCX: {_reason(exc)}") from exc
    return title, [SourceLine(text=text, line=i) for i, text in enumerate(texts, start=1)]
