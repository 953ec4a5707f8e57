"""Plain-text side of loading: decoding bytes, editor-style line splitting and title picking.

Shared by every format loader; it imports no third-party parser except charset-normalizer.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from ingest.document import SourceLine
from ingest.errors import SkippedFile

TITLE_MAX_CHARS = 120

# Editors and `sed -n` agree on these three; str.splitlines would also split on \x0b, \x1c,
# \x85, \u2028 ... and shift every later line number away from what a user sees.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# UTF-32 BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control characters a real text file has (almost) none of; \t \n \r \f are fine.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_BINARY_CONTROL_RATIO = 0.02
_BINARY_CONTROL_MIN = 8
# Tie-break order among equally plausible detected encodings.
_PREFERRED = ("gb18030", "gbk", "gb2312", "big5", "utf_16", "utf_32")
_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_SPACES = re.compile(r"\s+")


def split_lines(text: str) -> list[str]:
    """Split text into lines the way an editor numbers them (\\n, \\r\\n or a lone \\r)."""
    if not text:
        return []
    parts = _LINE_BREAK.split(text)
    if parts[-1] == "":
        parts.pop()  # a final line break ends the last line; it does not start a new one
    return parts


def looks_binary(text: str) -> bool:
    """True when decoded text is full of NULs / control characters, i.e. not really text."""
    if "\x00" in text:
        return True
    # The floor keeps a short note with a stray \x0b or form-feed from counting as binary.
    return len(_CONTROL.findall(text)) > max(_BINARY_CONTROL_MIN, _BINARY_CONTROL_RATIO * len(text))


def _rank(match: charset_normalizer.CharsetMatch) -> tuple[float, int]:
    family = next(
        (i for i, prefix in enumerate(_PREFERRED) if match.encoding.startswith(prefix)),
        len(_PREFERRED),
    )
    return match.chaos, family


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_text(data: bytes, hint: str | None = None) -> str:
    """Decode bytes of a text format: BOM, strict UTF-8, `hint`, detection, then GB18030."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data, encoding)
            if text is None or looks_binary(text):
                raise SkippedFile(f"undecodable text: invalid {encoding.upper()} after its BOM")
            return text.removeprefix("\ufeff")
    # Strict UTF-8 first: the common case, and valid UTF-8 is almost never anything else.
    text = _strict(data, "utf-8")
    if text is not None and not looks_binary(text):
        return text.removeprefix("\ufeff")
    saw_binary = text is not None or b"\x00" in data
    candidates: list[str] = [hint] if hint else []
    # Detection is what tells GBK from Big5 from BOM-less UTF-16. On short text it often
    # ties (chaos 0) between a Chinese and a Korean/Japanese reading; break ties toward
    # Chinese, which is what this corpus holds.
    matches = sorted(charset_normalizer.from_bytes(data), key=_rank)
    candidates.extend(match.encoding for match in matches)
    # Short Chinese snippets are too small for detection; GB18030 is the likeliest encoding.
    candidates.append("gb18030")
    for encoding in candidates:
        text = _strict(data, encoding)
        if text is None:
            continue
        if looks_binary(text):
            saw_binary = True
            continue
        return text.removeprefix("\ufeff")
    if saw_binary:
        raise SkippedFile("binary file, not text (NUL or control bytes)")
    raise SkippedFile("undecodable text: not UTF-8, GB18030/GBK, Big5 or UTF-16")


def load_text(data: bytes) -> list[SourceLine]:
    """Every physical line of a txt/md file, numbered as on disk (BOM stripped)."""
    text = decode_text(data)
    return [SourceLine(text=line, line=i) for i, line in enumerate(split_lines(text), start=1)]


def clip_title(text: str) -> str:
    """Collapse whitespace and cut a title to TITLE_MAX_CHARS."""
    # U+FFFD marks bytes lost before the file reached us; it is noise in a title.
    return _SPACES.sub(" ", text.replace("\ufffd", " ")).strip()[:TITLE_MAX_CHARS].strip()


def is_meaningful(text: str) -> bool:
    """A title candidate needs at least one letter, digit or CJK character."""
    return any(ch.isalnum() for ch in text)


def strip_heading_marks(text: str) -> str:
    """`## 标题 ##` → `标题`; other text unchanged."""
    match = _ATX_HEADING.match(text)
    return match.group(1) if match else text


def markdown_title(lines: list[SourceLine], scan: int = 200) -> str | None:
    """First meaningful `#` heading within the first `scan` lines, if any."""
    for source_line in lines[:scan]:
        match = _ATX_HEADING.match(source_line.text)
        if match and is_meaningful(match.group(1)):
            return match.group(1)
    return None


def first_meaningful_line(lines: list[SourceLine]) -> str | None:
    """Text of the first line that has a letter or digit (heading marks removed)."""
    for source_line in lines:
        text = strip_heading_marks(source_line.text.strip())
        if is_meaningful(text):
            return text
    return None
