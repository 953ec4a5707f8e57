"""The known-answer eval set: one JSON object per line, validated on load.

Line format (UTF-8, one object per line, blank lines ignored)::

    {"id": "zh-001", "lang": "zh", "question": "...", "answers": ["3551.9亿元"],
     "doc": "000_8170d0da7d067bac.txt", "evidence": "...", "type": "number", "split": "test"}

`answers` are short strings quoted from the evidence; an answer counts as matched when any
of them occurs in the system's answer after both are passed through `normalise_for_match`.
Unanswerable items have `type` "unanswerable", no answers and null `doc` / `evidence`.
`split` is optional (user-supplied sets) and defaults to "test". Keys beyond these are
ignored, except the optional `answers_en`.

`answers_en` (optional, English items only): the gold in English. An English question over
Chinese documents is rightly answered in English ("founded in 1981", "about 2 years",
"JCET"), which never holds the Chinese gold string (1981年, 2年, 长电科技); those
renderings count as matches too. The rule they follow is in `tests/test_qa_dataset.py`.
"""

from __future__ import annotations

import json
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ingest.errors import BadInput

LANGS: Final[frozenset[str]] = frozenset({"zh", "en"})
TYPES: Final[frozenset[str]] = frozenset(
    {"fact", "number", "entity", "list", "definition", "unanswerable"}
)
SPLITS: Final[frozenset[str]] = frozenset({"dev", "test"})
REQUIRED_KEYS: Final[tuple[str, ...]] = (
    "id",
    "lang",
    "question",
    "answers",
    "doc",
    "evidence",
    "type",
)
DEFAULT_SPLIT: Final = "test"

_ASCII_PUNCTUATION: Final[frozenset[str]] = frozenset(string.punctuation)


@dataclass(frozen=True)
class EvalItem:
    """One question with its accepted answers and the source span that supports them."""

    id: str
    lang: str
    question: str
    answers: tuple[str, ...]
    doc: str | None
    evidence: str | None
    type: str
    split: str = DEFAULT_SPLIT
    answers_en: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def _is_dropped(ch: str) -> bool:
    """Whitespace, invisible format/control characters, and punctuation (ASCII or CJK)."""
    if ch.isspace() or ch in _ASCII_PUNCTUATION:
        return True
    category = unicodedata.category(ch)
    return category.startswith("P") or category in ("Cc", "Cf")


def normalise_for_match(text: str) -> str:
    """Fold `text` for substring matching of answers and evidence.

    NFKC (full-width digits and letters become ASCII), lower-case, then drop all
    whitespace, control/format characters and punctuation, ASCII and CJK alike. Thousands
    separators therefore vanish ("14,300" and "14 300" both become "14300"). A decimal
    point between two digits is kept, so "14.6%" becomes "14.6" and does not collide
    with "146".
    """
    folded = unicodedata.normalize("NFKC", text).lower()  # NFKC maps "．" to "."
    kept = [ch for ch in folded if ch == "." or not _is_dropped(ch)]
    out: list[str] = []
    for i, ch in enumerate(kept):
        if ch == ".":
            before = kept[i - 1] if i > 0 else ""
            after = kept[i + 1] if i + 1 < len(kept) else ""
            if not (before.isdigit() and after.isdigit()):
                continue
        out.append(ch)
    return "".join(out)


def _fail(path: Path, lineno: int, message: str) -> BadInput:
    return BadInput(f"{path.name} line {lineno}: {message}")


def _required_text(value: object, key: str, path: Path, lineno: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, lineno, f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _optional_text(value: object, key: str, path: Path, lineno: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, lineno, f"{key!r} must be a non-empty string or null, got {value!r}")
    return value


def _choice(value: object, key: str, allowed: frozenset[str], path: Path, lineno: int) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise _fail(path, lineno, f"{key!r} must be one of {sorted(allowed)}, got {value!r}")
    return value


def _parse_item(raw: object, path: Path, lineno: int) -> EvalItem:
    if not isinstance(raw, dict):
        raise _fail(path, lineno, f"expected a JSON object, got {type(raw).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise _fail(path, lineno, f"missing key(s): {', '.join(missing)}")

    item_id = _required_text(raw["id"], "id", path, lineno)
    question = _required_text(raw["question"], "question", path, lineno)
    doc = _optional_text(raw["doc"], "doc", path, lineno)
    evidence = _optional_text(raw["evidence"], "evidence", path, lineno)
    lang = _choice(raw["lang"], "lang", LANGS, path, lineno)
    item_type = _choice(raw["type"], "type", TYPES, path, lineno)
    split = _choice(raw.get("split", DEFAULT_SPLIT), "split", SPLITS, path, lineno)

    answers_raw = raw["answers"]
    if not isinstance(answers_raw, list) or not all(
        isinstance(a, str) and a.strip() for a in answers_raw
    ):
        raise _fail(
            path, lineno, f"'answers' must be a list of non-empty strings, got {answers_raw!r}"
        )
    answers = tuple(answers_raw)
    if item_type == "unanswerable" and answers:
        raise _fail(path, lineno, "an unanswerable item must have no answers")
    if item_type != "unanswerable" and not answers:
        raise _fail(path, lineno, f"a {item_type!r} item needs at least one answer")
    answers_en = _answers_en(raw.get("answers_en", []), lang, answers, path, lineno)

    return EvalItem(
        id=item_id,
        lang=lang,
        question=question,
        answers=answers,
        doc=doc,
        evidence=evidence,
        type=item_type,
        split=split,
        answers_en=answers_en,
    )


def _answers_en(
    value: object, lang: str, answers: tuple[str, ...], path: Path, lineno: int
) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        raise _fail(
            path, lineno, f"'answers_en' must be a list of non-empty strings, got {value!r}"
        )
    if value and (lang != "en" or not answers):
        raise _fail(path, lineno, "'answers_en' belongs to answerable English items only")
    return tuple(value)


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read and validate a JSONL eval set; raise `BadInput` naming the offending line."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"eval set not found: {path}") from None
    except IsADirectoryError:
        raise BadInput(f"eval set is a directory, not a file: {path}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"eval set is not valid UTF-8: {path} ({exc.reason})") from None

    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    # Split on "\n" only: str.splitlines() would also break on U+2028 etc., which JSON
    # allows unescaped inside strings.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(path, lineno, f"invalid JSON ({exc.msg})") from None
        item = _parse_item(raw, path, lineno)
        if item.id in seen:
            raise _fail(path, lineno, f"duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = lineno
        items.append(item)
    if not items:
        raise BadInput(f"eval set has no items: {path}")
    return items


def describe(items: list[EvalItem]) -> str:
    """Counts of an eval set by language, type and split, one line each."""
    from collections import Counter

    def line(label: str, counter: Counter[str]) -> str:
        return f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))

    return "\n".join(
        [
            f"{len(items)} items",
            line("language", Counter(i.lang for i in items)),
            line("type", Counter(i.type for i in items)),
            line("split", Counter(i.split for i in items)),
        ]
    )


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "evals/qa.jsonl")
    try:
        print(describe(load_eval_set(target)))
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
