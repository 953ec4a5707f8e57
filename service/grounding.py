"""Check an answer against the passages it cites and drop sentences that claim too much.

A sentence's checkable claims are its numbers (with their units), its Latin-script names
(CoWoS, TSMC, HBM3E, 2.5D) and anything it quotes. Each must occur in a passage the
sentence cites, or, for a sentence citing nothing, in any cited passage. Chinese names
outside quotes are not checked: without a segmenter tuned for names their left edge is
guesswork (据长电科技 / 长电科技), and a wrong edge would drop true sentences.

Unit conversion is deliberately not attempted beyond one exact case: "1.46 billion"
against a source's "14.6亿" is accepted (亿 = 100 million, shifting the decimal point),
but "146 million" or "14.6 billion yuan" from "146亿" are not — the check is a string
check, and arithmetic is exactly what small models get wrong (FINDINGS).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from evals.dataset import normalise_for_match
from ingest.sentences import split_sentences

_MARKER = re.compile(r"\[(\d+)\]")
_LEADING_MARKERS = re.compile(r"^\s*(?:\[\d+\]\s*)+")
# 14,300 / 14 300 / 14 300 (thin space) are one number; 2023 300 is two.
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:[,  ]\d{3})+)(?![\d])")
_CJK_UNITS: Final = (
    "万亿元 亿美元 万美元 亿元 万元 美元 亿块 亿颗 亿片 万片 万台 万人 万亿 亿 万 千 元 "
    "片 颗 块 台 套 家 倍 层 项 种 个 人 年 月 日 季度 英寸 纳米 微米 % ‰"
).split()
_EN_UNITS: Final = (
    "percent trillion billion million thousand nm μm um mm gb tb gbps tops w x"
).split()
_UNIT_RE = "|".join(map(re.escape, _CJK_UNITS))
_EN_RE = "|".join(map(re.escape, _EN_UNITS))
# A number not glued to a name on its left (HBM3E, H100); an ASCII unit ends at a word edge.
_NUMBER = re.compile(
    rf"(?<![A-Za-z0-9_.])(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>{_UNIT_RE}|(?:{_EN_RE})(?![a-z]))?",
    re.IGNORECASE,
)
# "1." "(2)" "3、" opening a list item number the items, they claim nothing.
_ENUMERATOR = re.compile(r"^\s*[(（]?\d{1,2}\s*(?:[.、)）](?!\d))")
# Latin names worth checking: two capitals (TSMC, CoWoS), letters with digits (HBM3E,
# 2.5D), or hyphenated capitals (TC-NCF). Plain capitalised words (Huawei, Jiangsu) are
# English renderings of Chinese names and cannot be found in Chinese sources.
_LATIN_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9][A-Za-z0-9.+\-]*[A-Za-z0-9+]|[A-Z]")
_QUOTED = re.compile(r"“([^”]+)”|「([^」]+)」|『([^』]+)』|\"([^\"\n]+)\"|《([^》]+)》")
_FULLWIDTH_SPACE: Final = {0x3000: 0x20}
_UNIT_ALIASES: Final = {"percent": "%", "％": "%", "亿元": "亿元", "um": "μm"}


@dataclass(frozen=True)
class GroundingReport:
    """The answer with unsupported sentences removed, and those sentences."""

    kept: str
    dropped: tuple[str, ...]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_FULLWIDTH_SPACE)
    return _THOUSANDS.sub(lambda m: m[1] + re.sub(r"[,  ]", "", m[2]), text)


def _unit(raw: str | None) -> str | None:
    if not raw:
        return None
    unit = raw.lower()
    return _UNIT_ALIASES.get(unit, unit)


def numbers(text: str) -> set[tuple[Decimal, str | None]]:
    """(value, unit) of each number in `text`; separators and full width folded."""
    found: set[tuple[Decimal, str | None]] = set()
    folded = _fold(_MARKER.sub(" ", text))
    if m := _ENUMERATOR.match(folded):
        folded = folded[m.end() :]
    for m in _NUMBER.finditer(folded):
        after = folded[m.end("num") : m.end("num") + 1]
        if m["unit"] is None and after.isascii() and after.isalpha():
            continue  # 2.5D, 3D, 5G: a technology's name, checked as a name
        try:
            value = Decimal(m["num"])
        except InvalidOperation:
            continue
        unit = _unit(m["unit"])
        found.add((value, unit))
        if unit is not None and unit.startswith("亿"):
            # 14.6亿 is 1.46 billion; the one conversion accepted (see the module docstring).
            found.add(((value / 10).normalize(), "billion"))
    return found


def _number_supported(
    claim: tuple[Decimal, str | None], source: set[tuple[Decimal, str | None]]
) -> bool:
    value, unit = claim
    for s_value, s_unit in source:
        # A unitless figure in a table ("3176" under a 亿元 header) supports any unit.
        if s_value == value and (unit is None or s_unit is None or s_unit == unit):
            return True
    return False


def names(text: str) -> set[str]:
    """Latin-script names (CoWoS, HBM3E, TC-NCF, 2.5D) and quoted terms in `text`."""
    clean = _MARKER.sub(" ", unicodedata.normalize("NFKC", text))
    found: set[str] = set()
    for tok in _LATIN_TOKEN.findall(clean):
        tok = tok.rstrip(".")
        upper = sum(ch.isupper() for ch in tok)
        has_digit = any(ch.isdigit() for ch in tok)
        has_alpha = any(ch.isalpha() for ch in tok)
        if has_alpha and (upper >= 2 or (has_digit and len(tok) >= 2)):
            found.add(tok)
    for m in _QUOTED.finditer(clean):
        quote = next(g for g in m.groups() if g is not None)
        if normalise_for_match(quote):
            found.add(quote)
    return found


def _name_supported(name: str, source: str, aliases: Mapping[str, Sequence[str]]) -> bool:
    forms = [name, *aliases.get(name.lower(), ())]
    return any(normalise_for_match(f) in source for f in forms if normalise_for_match(f))


def split_answer(text: str) -> list[str]:
    """Sentences of an answer; a marker written after the full stop stays with its sentence."""
    pieces = [text[a:b] for a, b in split_sentences(text)]
    out: list[str] = []
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] = out[-1].rstrip() + lead[0].strip()
            piece = piece[lead.end() :]
        if piece.strip():
            out.append(piece)
        elif out:
            out[-1] += piece
    return out


def unsupported(
    sentence: str,
    passages: Iterable[str],
    *,
    question: str = "",
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """The claims of `sentence` found in none of `passages` (numbers as written)."""
    texts = list(passages)
    source_numbers: set[tuple[Decimal, str | None]] = set()
    for t in texts:
        source_numbers |= numbers(t)
    source = normalise_for_match(" ".join(_fold(t) for t in texts))
    # Restating the question ("In 2023, …") is not a claim about the documents.
    asked = {value for value, _ in numbers(question)}
    asked_names = {n.lower() for n in names(question)}
    missing: list[str] = []
    for claim in sorted(numbers(sentence), key=str):
        if claim[0] not in asked and not _number_supported(claim, source_numbers):
            missing.append(f"{claim[0]}{claim[1] or ''}")
    for name in sorted(names(sentence)):
        if name.lower() not in asked_names and not _name_supported(name, source, aliases or {}):
            missing.append(name)
    return missing


def ground_answer(
    text: str,
    cited: Mapping[int, str],
    *,
    question: str = "",
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> GroundingReport:
    """Keep the sentences whose numbers and names occur in the passages they cite.

    `cited` maps a marker number to its passage text. A sentence citing nothing is checked
    against all of them; one citing only unknown numbers supports nothing. `aliases` maps a
    lower-cased English name to the Chinese the sources use (tsmc → 台积电), e.g. the
    retriever's lexicon pairs.
    """
    kept: list[str] = []
    dropped: list[str] = []
    for sentence in split_answer(text):
        refs = [int(n) for n in _MARKER.findall(sentence)]
        passages = [cited[n] for n in refs if n in cited] if refs else list(cited.values())
        if unsupported(sentence, passages, question=question, aliases=aliases):
            dropped.append(sentence.strip())
        else:
            kept.append(sentence)
    return GroundingReport(kept="".join(kept).strip(), dropped=tuple(dropped))
