"""Which language a question is asked in, and whether an answer is written in it.

Questions mix scripts: analysts write Latin terms into Chinese ("CoWoS是什么？") and Chinese
names into English ("What is 长电科技's revenue?"). A share of CJK characters alone cannot
tell those apart — a CJK character carries about a word, so a short Chinese name weighs as
much as the English sentence around it. Between the clear cases the grammar decides:
English function words (what, is, the …) mean English, Chinese function words (的, 是, 多少
…) mean Chinese.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from service.results import Language

ZH_SHARE: Final = 0.15  # below this share of CJK among letters a text is English
CLEAR_ZH_SHARE: Final = 0.75  # above it, Chinese whatever English words it quotes

_CJK_RANGES: Final = (
    ("\u3400", "\u4dbf"),
    ("\u4e00", "\u9fff"),
    ("\uf900", "\ufaff"),
    ("\U00020000", "\U0002ebef"),
)
_EN_FUNCTION_WORDS: Final = frozenset(
    """
    what which who whom whose when where why how is are was were be been does do did can
    could will would should has have had the a an of in on at to for from by with and or
    its their this that these those than per according reported about
    """.split()
)
_ZH_FUNCTION_WORDS: Final = (
    "的",
    "是",
    "了",
    "吗",
    "呢",
    "什么",
    "哪",
    "多少",
    "如何",
    "怎么",
    "为什么",
    "是否",
    "根据",
    "资料",
    "分别",
)
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
# Text an English answer may quote from the Chinese sources, and citation markers.
_QUOTED = re.compile(r"“[^”]*”|「[^」]*」|『[^』]*』|\"[^\"\n]*\"|‘[^’]*’")
_MARKER = re.compile(r"\[\^?\d+\]|【\d+】")
EN_MAX_CJK_SHARE: Final = 0.5  # an English answer's prose may be at most half CJK
ZH_MIN_CJK_SHARE: Final = 0.5


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph (the basic block, extension A/B…, compatibility)."""
    return any(lo <= ch <= hi for lo, hi in _CJK_RANGES)


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and not is_cjk(ch) and unicodedata.name(ch, "").startswith("LATIN")


def cjk_share(text: str) -> float:
    """CJK characters as a share of CJK characters plus Latin letters (0 when neither)."""
    cjk = sum(1 for ch in text if is_cjk(ch))
    latin = sum(1 for ch in text if _is_latin_letter(ch))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def _english_words(text: str) -> int:
    words = (w.lower().split("'")[0] for w in _LATIN_WORD.findall(text))
    return sum(1 for w in words if w in _EN_FUNCTION_WORDS)


def _chinese_words(text: str) -> int:
    return sum(text.count(w) for w in _ZH_FUNCTION_WORDS)


def detect_language(text: str) -> Language:
    """ "zh" when Chinese characters carry the text, else "en" (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    share = cjk_share(text)
    if share < ZH_SHARE:
        return "en"
    if share >= CLEAR_ZH_SHARE:
        return "zh"
    # Mixed: an English sentence around Chinese names has English grammar words and
    # (usually) no Chinese ones; a Chinese sentence around Latin terms the opposite.
    english, chinese = _english_words(text), _chinese_words(text)
    return "en" if english >= 2 and english > chinese else "zh"


def prose(answer: str) -> str:
    """An answer without its quotations and citation markers: the words the answerer wrote."""
    return _QUOTED.sub(" ", _MARKER.sub(" ", answer))


def answer_language_ok(answer: str, lang: Language) -> bool:
    """True when the answer's own prose (quotes and [n] left out) is written in `lang`."""
    text = unicodedata.normalize("NFKC", answer)
    own = prose(text)
    if lang == "en":
        # Chinese names inside English prose are fine; Chinese prose with a few English
        # words is not, nor is an answer that is nothing but a quotation.
        if not any(_is_latin_letter(ch) for ch in own):
            return False
        return cjk_share(own) <= EN_MAX_CJK_SHARE
    if not any(is_cjk(ch) or _is_latin_letter(ch) for ch in own):
        own = text  # all quotation: judge the quoted words themselves
    if not any(is_cjk(ch) for ch in own):
        return False
    return cjk_share(own) >= ZH_MIN_CJK_SHARE or _english_words(own) < 2
