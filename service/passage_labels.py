"""Labels that say which value belongs to what, inserted into a passage for a small model.

A 1.5B model reading "2016—2020年…产量分别为 69.39 万台（套）、78.02 万台（套）、89.85万台
（套）、98.74万台（套）、103.29万台（套）" asked for 2020 picks the fourth figure; reading a table
row "2028 年\t1.5\tGAA\t非铜互联" it cannot tell which cell is the key process (dev split).
Two kinds of label make the pairing explicit without changing a character of the source:

- a table row whose cells match its table's header row gets each cell's column name
  ("关键工艺：非铜互联");
- a list of values after 分别 (respectively) gets the names it pairs with, taken from the
  list of the same length before it, or from a year range of that many years
  ("2020年：103.29万台（套）").

Labels are insertions (offset in the source, text), so a caller can show any span of the
passage with its labels (`render`) and still find the source's own sentences in it. They
feed the prompt and the grounding check only; quotes and citations keep the source text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from ingest.sentences import split_sentences

Insertion = tuple[int, str]

MAX_KEY_CHARS: Final = 20
MAX_VALUE_CHARS: Final = 30

# 分别 followed by the verb that opens the value list.
_RESPECTIVELY = re.compile(
    r"分别(?:为|是|给予|达到|达|占|以|排名|持股|攀升至|增长|下降|约为|约)[：:]?\s*"
)
# Where a list's last value ends: a clause break, or a line break not inside the list
# (PDF lines break after 、 mid-list).
_LIST_END = re.compile(r"[，,。！？；;!?]|(?<!、)\n")
# A list's last item may be joined by a conjunction (通富微电和力成科技, 7.9%和5.8%).
_LAST_PAIR = re.compile(r"^(.+?)\s*(和|以及|及|与)\s*(.+)$", re.DOTALL)
# Where a list's first key begins: after the last of these (…的OSAT厂商为**日月光**、…); a
# boundary with nothing after it is part of the name (华为).
_KEY_START = re.compile(
    r".*(?:[，,：:\n“\"]|为|是|的|有|由|对|在|即|如|其中|获得|包括)(?=.)", re.DOTALL
)
# Where the last key ends (…力成科技**，**市场份额; 浙江**等**地的…).
_KEY_END = re.compile(r"[，,：:\n]|的|等")
_BRACKETS = ("（）", "()", "《》", "“”")
_YEAR_RANGE = re.compile(r"((?:19|20)\d{2})\s*(?:年\s*)?[—–\-~～至到]\s*((?:19|20)\d{2})\s*年")
_NUMBER_ONLY = re.compile(r"[\d.,%\s]+")


def label_insertions(text: str) -> list[Insertion]:
    """Every label of `text`, as (offset, label) sorted by offset."""
    return sorted([*_table_labels(text), *_respectively_labels(text)])


def render(
    text: str, insertions: Sequence[Insertion], start: int = 0, end: int | None = None
) -> str:
    """`text[start:end]` with the labels that fall inside it."""
    end = len(text) if end is None else end
    out: list[str] = []
    cursor = start
    for offset, label in insertions:
        if start <= offset < end:
            out.append(text[cursor:offset])
            out.append(label)
            cursor = offset
    out.append(text[cursor:end])
    return "".join(out)


def labelled(text: str) -> str:
    """The whole passage with its labels."""
    return render(text, label_insertions(text))


# -- tables -------------------------------------------------------------------------------
def _table_labels(text: str) -> list[Insertion]:
    """Column names before the cells of each row that has as many cells as its header.

    The header is the first tab-separated line after running text (the chunker repeats a
    split table's header in every part); a row with fewer cells (merged cells in the PDF)
    cannot be paired and is left as it is."""
    out: list[Insertion] = []
    header: list[str] | None = None
    offset = 0
    for line in text.split("\n"):
        if "\t" not in line:
            header = None
        elif header is None:
            cells = [c.strip() for c in line.split("\t")]
            usable = all(cells) and not any(_NUMBER_ONLY.fullmatch(c) for c in cells)
            header = cells if usable else []
        elif header and len(cells := line.split("\t")) == len(header):
            position = offset
            for name, cell in zip(header, cells, strict=True):
                lead = len(cell) - len(cell.lstrip())
                if cell.strip():
                    out.append((position + lead, f"{name}："))
                position += len(cell) + 1
        offset += len(line) + 1
    return out


# -- 分别 (respectively) lists ------------------------------------------------------------
def _respectively_labels(text: str) -> list[Insertion]:
    return [
        label
        for start, end in split_sentences(text)
        for label in _sentence_labels(text, start, end)
    ]


def _sentence_labels(text: str, start: int, end: int) -> list[Insertion]:
    out: list[Insertion] = []
    keys: list[str] = []
    since = start  # where the text that may hold the next list's keys begins
    for match in _RESPECTIVELY.finditer(text, start, end):
        values = _values(text, match.end(), end)
        if len(values) < 2:
            continue
        found = _keys(text[since : match.start()], len(values)) or _year_keys(
            text[start : match.start()], len(values)
        )
        # "收入分别为…,年内净亏损分别为…": a later list in the sentence pairs with the same keys.
        keys = found or (keys if len(keys) == len(values) else [])
        if keys:
            out.extend((offset, f"{key}：") for key, (offset, _) in zip(keys, values, strict=True))
        since = values[-1][0] + len(values[-1][1])
    return out


def _values(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """The (offset, text) of each value in the list starting at `start`, or []."""
    stop = _LIST_END.search(text, start, end)
    span = text[start : stop.start() if stop else end]
    values: list[tuple[int, str]] = []
    cursor = start
    pieces = span.split("、")
    for i, piece in enumerate(pieces):
        pair = _LAST_PAIR.match(piece) if i == len(pieces) - 1 else None
        # 和 joins two values only between figures (7.9%和5.8%), not inside a name.
        if pair and pair.group(3)[:1].isdigit() and any(c.isdigit() for c in pair.group(1)):
            values.append(_value(text, cursor, pair.group(1)))
            values.append(_value(text, cursor + pair.start(3), pair.group(3)))
        else:
            values.append(_value(text, cursor, piece))
        cursor += len(piece) + 1
    if any(not v or len(v) > MAX_VALUE_CHARS for _, v in values):
        return []
    return values


def _value(text: str, offset: int, piece: str) -> tuple[int, str]:
    return offset + len(piece) - len(piece.lstrip()), piece.strip()


def _keys(before: str, n: int) -> list[str]:
    """The list of exactly `n` names that ends `before` (the text up to 分别), or []."""
    pieces = before.split("、")
    tail = _KEY_END.search(pieces[-1])
    pieces[-1] = pieces[-1][: tail.start()] if tail else pieces[-1]
    pair = _LAST_PAIR.match(pieces[-1])
    if pair and pair.group(2) in _words(pieces[-1]):  # 参与 is no conjunction
        pieces[-1:] = [pair.group(1), pair.group(3)]
    if len(pieces) < n:
        return []
    head = _KEY_START.match(pieces[-n])
    if head is None and len(pieces) > n:
        return []  # the list goes on before: it is longer than the values
    keys = [pieces[-n][head.end() :] if head else pieces[-n], *pieces[-n + 1 :]]
    keys = [k.strip() for k in keys]
    if any(not k or len(k) > MAX_KEY_CHARS or not _balanced(k) for k in keys):
        return []
    return keys


def _words(text: str) -> list[str]:
    import jieba  # the keyword index's segmenter, loaded there already

    return list(jieba.cut(text, HMM=False))  # HMM glues unknown names: 微电和力


def _balanced(key: str) -> bool:
    return all(key.count(pair[0]) == key.count(pair[1]) for pair in _BRACKETS)


def _year_keys(before: str, n: int) -> list[str]:
    """One key per year of the last year range in `before` ("2016—2020年"), when it spans
    exactly `n` years."""
    ranges = list(_YEAR_RANGE.finditer(before))
    if not ranges:
        return []
    first, last = int(ranges[-1].group(1)), int(ranges[-1].group(2))
    return [f"{year}年" for year in range(first, last + 1)] if last - first + 1 == n else []
