"""Independent checks of chunk provenance, shared by tests and the acceptance script.

Deliberately not built on `ingest.normalize`: the comparison must not trust the code
under test.
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path

_TAG = re.compile(r"<[^<>]*>")
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")
_DROP = set(" \t\r\n\u3000\u00a0\ufffd*#$\\{}_^`~|-•◆▲●■·")
# LaTeX commands that stand for a character; the rest are formatting and dropped.
_LATEX_SYMBOLS = {r"\times": "×", r"\mu": "μ", r"\cdot": "·", r"\pm": "±", r"\approx": "≈"}


def squash(text: str) -> str:
    """Text with whitespace, markup and formatting characters removed, NFKC-folded."""
    text = html.unescape(_TAG.sub("", text))
    for command, symbol in _LATEX_SYMBOLS.items():
        text = text.replace(command, symbol)
    text = _LATEX_COMMAND.sub("", unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in text if ch not in _DROP and not ch.isspace())


def file_lines(path: Path) -> list[str]:
    """Lines numbered as an editor (and `sed -n`) numbers them."""
    text = path.read_bytes().decode("utf-8-sig")
    return re.split(r"\r\n|\r|\n", text)


def chunk_in_lines(text: str, lines: list[str], start: int, end: int) -> bool:
    """True when every line of `text` occurs within source lines start..end (1-based)."""
    span = squash("".join(lines[start - 1 : end]))
    return all(squash(part) in span for part in text.split("\n"))
