"""Line-level text normalisation for text converted from PDFs and web pages.

Pure functions: HTML fragments and entities, markdown emphasis, LaTeX, full-width
ASCII, thousands separators. Chinese punctuation is kept as it is, because sentence
splitting and readers both rely on it.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Full-width and CJK punctuation that NFKC would turn into ASCII look-alikes; keeping them
# keeps sentence ends (。！？；) and Chinese quotation recognisable.
_KEEP_CHARS = frozenset(
    "，。！？；：、（）【】《》〈〉「」『』“”‘’…—～·￥％＃＆＊＋－／＜＝＞＠［］＾＿｀｛｜｝"
)

_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_SUB_SUP = re.compile(r"\s*<(sub|sup)>\s*(.*?)\s*</\1>\s*", re.IGNORECASE)
_BLOCK_TAG = re.compile(r"</?(?:p|br|li|ul|ol|div|tr|td|th|table)\b[^<>]*>", re.IGNORECASE)
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ESCAPED_MD = re.compile(r"\\([*_#\[\]()`>~-])")
_SPACES = re.compile(r"[ \u00a0\u3000]+")
# `14 300` / `1 234 567` written with spaces as thousands separators. The look-behind keeps
# decimals and longer digit runs (years followed by a count) out.
_SPACED_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?: \d{3})+)(?![\d.])")

_LATEX_INLINE = re.compile(r"\$\s*([^$]+?)\s*\$")
_LATEX_TEXT = re.compile(r"\\(?:text|mathrm|mathbf|mathit|operatorname|rm)\s*\{([^{}]*)\}")
_LATEX_GROUP = re.compile(r"([_^])\{([^{}]*)\}")
_LATEX_FRAC = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_SYMBOLS = {
    r"\times": "×",
    r"\cdot": "·",
    r"\pm": "±",
    r"\sim": "~",
    r"\approx": "≈",
    r"\leq": "≤",
    r"\geq": "≥",
    r"\le": "≤",
    r"\ge": "≥",
    r"\mu": "μ",
    r"\lambda": "λ",
    r"\alpha": "α",
    r"\beta": "β",
    r"\Omega": "Ω",
    r"\%": "%",
    r"\,": " ",
    r"\;": " ",
    r"\ ": " ",
}


def normalize_width(text: str) -> str:
    """NFKC every character except the Chinese punctuation in `_KEEP_CHARS`."""
    if text.isascii():
        return text
    return "".join(ch if ch in _KEEP_CHARS else unicodedata.normalize("NFKC", ch) for ch in text)


def strip_html(text: str) -> str:
    """Remove HTML tags (sub/superscripts joined to their base) and decode entities."""
    if "<" in text:
        text = _SUB_SUP.sub(lambda m: m.group(2), text)
        text = _BLOCK_TAG.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def latex_to_text(text: str) -> str:
    """Turn inline LaTeX (`$n_{2Si} = 7.2 \\times 10^{-18}$`) into readable plain text."""
    if "$" not in text and "\\" not in text:
        return text

    def _formula(match: re.Match[str]) -> str:
        body = match.group(1)
        body = _LATEX_TEXT.sub(r"\1", body)
        body = _LATEX_FRAC.sub(r"\1/\2", body)
        for command, symbol in _LATEX_SYMBOLS.items():
            body = body.replace(command, symbol)
        body = _LATEX_GROUP.sub(r"\1\2", body)
        body = body.replace("{", "").replace("}", "")
        return re.sub(r"\s+", " ", body).strip()

    return _LATEX_INLINE.sub(_formula, text)


def strip_markdown_inline(text: str) -> str:
    """Drop markdown emphasis markers and backslash escapes, keeping the words."""
    if "*" in text or "_" in text:
        text = _EMPHASIS.sub(r"\2", text)
        # A marker whose partner was lost in conversion (seen in the corpus) is noise too.
        text = text.replace("**", "")
    if "\\" in text:
        text = _ESCAPED_MD.sub(r"\1", text)
    return text


def join_spaced_thousands(text: str) -> str:
    """`14 300` → `14300` so numbers match however the question writes them."""
    return _SPACED_THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(" ", ""), text)


def normalize_line(text: str) -> str:
    """Everything a single extracted line needs before structure is recognised.

    Tabs survive (they mark table cells); other runs of spaces collapse to one.
    """
    text = strip_html(text)
    text = latex_to_text(text)
    text = strip_markdown_inline(text)
    text = normalize_width(text)
    text = text.replace("\ufffd", "")
    cells = [join_spaced_thousands(_SPACES.sub(" ", cell).strip()) for cell in text.split("\t")]
    return "\t".join(cells).strip(" ")
