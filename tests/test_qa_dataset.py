"""The known-answer eval set (evals/qa.jsonl) and its loader.

Every answerable item must be grounded: its evidence occurs in its document and every
answer occurs in its evidence (both compared with all whitespace removed, because the
PDF-converted corpus breaks lines mid-sentence).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest

from evals.dataset import (
    LANGS,
    REQUIRED_KEYS,
    TYPES,
    EvalItem,
    load_eval_set,
    normalise_for_match,
)
from ingest.errors import BadInput

ROOT = Path(__file__).resolve().parents[1]
QA_PATH = ROOT / "evals" / "qa.jsonl"
CORPUS = ROOT / "corpus"
ALL_KEYS = {*REQUIRED_KEYS, "split"}
MAX_EVIDENCE_CHARS = 200


def squeeze(text: str) -> str:
    """Text with every whitespace character removed."""
    return "".join(ch for ch in text if not ch.isspace())


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_eval_set(QA_PATH)


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return {p.name: squeeze(p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("*.txt"))}


def answerable(items: list[EvalItem]) -> list[EvalItem]:
    return [item for item in items if item.type != "unanswerable"]


# --------------------------------------------------------------------------- the data


def test_every_line_has_exactly_the_documented_keys() -> None:
    lines = [line for line in QA_PATH.read_text(encoding="utf-8").split("\n") if line.strip()]
    bad = [
        i for i, line in enumerate(lines, 1) if set(json.loads(line)) - {"answers_en"} != ALL_KEYS
    ]
    assert not bad, f"lines with missing/extra keys: {bad}"


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def test_every_english_item_with_a_chinese_gold_has_english_renderings(
    items: list[EvalItem],
) -> None:
    """The rule for `answers_en`: every answerable English item whose gold holds Chinese gets
    the gold as an English answer would state it (figures with their scale word, 210亿美元 →
    "21 billion"; years and dates; companies by their English names), and only those items,
    so the English score is not raised item by item."""
    for item in answerable(items):
        needs = item.lang == "en" and any(_has_cjk(a) for a in item.answers)
        assert bool(item.answers_en) == needs, item.id


def test_english_renderings_are_specific(items: list[EvalItem]) -> None:
    """A rendering is English, folds to at least three characters, and is not in the
    question: an answer that echoes the question must not count as right."""
    for item in items:
        question = normalise_for_match(item.question)
        for rendering in item.answers_en:
            folded = normalise_for_match(rendering)
            assert not _has_cjk(rendering), (item.id, rendering)
            assert len(folded) >= 3, (item.id, rendering)
            assert folded not in question, (item.id, rendering)


def test_corpus_has_the_five_documents(corpus: dict[str, str]) -> None:
    assert len(corpus) == 5


def test_evidence_occurs_verbatim_in_its_document(
    items: list[EvalItem], corpus: dict[str, str]
) -> None:
    failures = []
    for item in answerable(items):
        if item.doc not in corpus:
            failures.append(f"{item.id}: unknown doc {item.doc!r}")
        elif item.evidence is None or squeeze(item.evidence) not in corpus[item.doc]:
            failures.append(f"{item.id}: evidence not found in {item.doc}: {item.evidence!r}")
    assert not failures, "\n".join(failures)


def test_every_answer_occurs_in_its_evidence(items: list[EvalItem]) -> None:
    failures = []
    for item in answerable(items):
        assert item.evidence is not None
        for answer in item.answers:
            if squeeze(answer) not in squeeze(item.evidence):
                failures.append(f"{item.id}: {answer!r} not in evidence")
            normalised = normalise_for_match(answer)
            if not normalised or normalised not in normalise_for_match(item.evidence):
                failures.append(f"{item.id}: {answer!r} does not survive normalisation")
    assert not failures, "\n".join(failures)


def test_answerable_items_are_grounded_and_short(items: list[EvalItem]) -> None:
    for item in answerable(items):
        assert item.answers, item.id
        assert item.doc is not None and item.evidence is not None, item.id
        assert len(item.evidence) <= MAX_EVIDENCE_CHARS, item.id
        assert all(len(a) <= 40 for a in item.answers), item.id


def test_unanswerable_items_have_no_answers_doc_or_evidence(items: list[EvalItem]) -> None:
    for item in items:
        if item.type == "unanswerable":
            assert item.answers == (), item.id
            assert item.doc is None and item.evidence is None, item.id


def test_ids_follow_the_naming_scheme(items: list[EvalItem]) -> None:
    for item in items:
        prefix = "na" if item.type == "unanswerable" else item.lang
        head, _, number = item.id.partition("-")
        assert head == prefix and len(number) == 3 and number.isdigit(), item.id


def test_ids_and_questions_are_unique(items: list[EvalItem]) -> None:
    ids = Counter(item.id for item in items)
    questions = Counter(item.question.strip() for item in items)
    assert [k for k, n in ids.items() if n > 1] == []
    assert [k for k, n in questions.items() if n > 1] == []


def test_no_unanswerable_question_repeats_an_answerable_one(items: list[EvalItem]) -> None:
    asked = {normalise_for_match(item.question) for item in answerable(items)}
    clashes = [
        item.id
        for item in items
        if item.type == "unanswerable" and normalise_for_match(item.question) in asked
    ]
    assert clashes == []


def test_counts(items: list[EvalItem], corpus: dict[str, str]) -> None:
    langs = Counter(item.lang for item in items)
    types = Counter(item.type for item in items)
    docs = Counter(item.doc for item in items if item.doc is not None)
    assert len(items) >= 130
    assert langs["zh"] >= 65
    assert langs["en"] >= 50
    assert types["unanswerable"] >= 15
    assert {item.lang for item in items if item.type == "unanswerable"} == LANGS
    for name in corpus:
        assert docs[name] >= 10, f"{name} has only {docs[name]} questions"


def test_type_mix(items: list[EvalItem]) -> None:
    graded = answerable(items)
    types = Counter(item.type for item in graded)
    assert set(types) == TYPES - {"unanswerable"}
    assert 0.3 <= types["number"] / len(graded) <= 0.5
    for lang in LANGS:
        assert {item.type for item in graded if item.lang == lang} == set(types), lang


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_dev_share_per_language(items: list[EvalItem], lang: str) -> None:
    """Dev is for tuning, test for the gates. Dev grew past half of each language on
    2026-12-05 (100 items written from lines no other item's evidence is on or next to,
    and 25 off-topic questions), because 78 answerable dev items could not tell a
    one-question gain from noise; the test split was not touched and must not shrink to
    make room."""
    in_lang = [item for item in items if item.lang == lang]
    dev = sum(item.split == "dev" for item in in_lang)
    test = len(in_lang) - dev
    assert 0.3 <= dev / len(in_lang) <= 0.7
    assert test >= 60


# --------------------------------------------------------------- normalise_for_match


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14,300", "14300"),
        ("14 300", "14300"),
        ("14\u202f300项", "14300项"),
        ("１４．６％", "14.6"),
        ("14.6%", "14.6"),
        ("3551.9 亿元", "3551.9亿元"),
        ("HBM3E", "hbm3e"),
        ("“本源坤元”，发布。", "本源坤元发布"),
        ("《芯片与科学法案》", "芯片与科学法案"),
        ("冯·诺依曼", "冯诺依曼"),
        ("Z-Angle Memory (ZAM)", "zanglememoryzam"),
        ("end.", "end"),
        ("1—2代", "12代"),
        ("a\u200bb", "ab"),
        ("", ""),
    ],
)
def test_normalise_for_match(raw: str, expected: str) -> None:
    assert normalise_for_match(raw) == expected


def test_normalise_keeps_decimals_distinct_from_integers() -> None:
    assert normalise_for_match("1.46") != normalise_for_match("146")
    assert normalise_for_match("14.6%") in normalise_for_match("同比增长 14.6 %。")


def test_normalise_is_idempotent(items: list[EvalItem]) -> None:
    for item in items:
        once = normalise_for_match(item.question)
        assert normalise_for_match(once) == once, item.id


# --------------------------------------------------------------------- load_eval_set

GOOD: dict[str, object] = {
    "id": "zh-001",
    "lang": "zh",
    "question": "2025年中国封测市场规模预计多少？",
    "answers": ["3551.9亿元"],
    "doc": "000_8170d0da7d067bac.txt",
    "evidence": "预计到2025年，中国封测市场规模将达到3551.9亿元",
    "type": "number",
    "split": "dev",
}

UNANSWERABLE: dict[str, object] = {
    "question": "2024年通富微电营收多少？",
    "answers": [],
    "doc": None,
    "evidence": None,
    "type": "unanswerable",
}


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line(**changes: object) -> str:
    record: dict[str, object] = {**GOOD, **changes}
    for key, value in changes.items():
        if value is ...:
            del record[key]
    return json.dumps(record, ensure_ascii=False)


def test_load_valid_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path, line(), "", line(id="na-001", **UNANSWERABLE))
    first, second = load_eval_set(path)
    assert first == EvalItem(
        id="zh-001",
        lang="zh",
        question=str(GOOD["question"]),
        answers=("3551.9亿元",),
        doc="000_8170d0da7d067bac.txt",
        evidence=str(GOOD["evidence"]),
        type="number",
        split="dev",
    )
    assert second.answers == () and second.doc is None and second.evidence is None


def test_split_is_optional_and_defaults_to_test(tmp_path: Path) -> None:
    (item,) = load_eval_set(write_lines(tmp_path, line(split=...)))
    assert item.split == "test"


def test_extra_keys_are_ignored(tmp_path: Path) -> None:
    (item,) = load_eval_set(write_lines(tmp_path, line(notes="checked by hand")))
    assert item.id == "zh-001"


def test_answers_en_is_read_for_english_items(tmp_path: Path) -> None:
    (item,) = load_eval_set(
        write_lines(tmp_path, line(lang="en", id="en-001", answers_en=["355.19 billion"]))
    )
    assert item.answers_en == ("355.19 billion",)


@pytest.mark.parametrize(
    "changes",
    [
        {"answers_en": ["355.19 billion"]},  # a Chinese item
        {"lang": "en", "answers_en": "355.19 billion"},  # not a list
        {"lang": "en", "answers_en": [""]},
        {"lang": "en", "answers_en": ["x"], **UNANSWERABLE},
    ],
)
def test_bad_answers_en_is_rejected(tmp_path: Path, changes: dict[str, object]) -> None:
    with pytest.raises(BadInput, match="answers_en"):
        load_eval_set(write_lines(tmp_path, line(**changes)))


def test_utf8_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(("\ufeff" + line() + "\r\n" + line(id="zh-002") + "\r\n").encode("utf-8"))
    assert [item.id for item in load_eval_set(path)] == ["zh-001", "zh-002"]


def test_line_separator_inside_a_string_does_not_split_the_line(tmp_path: Path) -> None:
    (item,) = load_eval_set(write_lines(tmp_path, line(question="第一行\u2028第二行？")))
    assert "\u2028" in item.question


def test_eval_item_is_frozen() -> None:
    item = EvalItem("en-001", "en", "q?", ("a",), "d.txt", "a", "fact")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.id = "en-002"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("{not json", "invalid JSON"),
        ('["a", "list"]', "expected a JSON object"),
        (line(answers=...), "missing key(s): answers"),
        (line(doc=..., evidence=...), "missing key(s): doc, evidence"),
        (line(lang="fr"), "'lang'"),
        (line(lang=None), "'lang'"),
        (line(type="opinion"), "'type'"),
        (line(split="train"), "'split'"),
        (line(id=""), "'id'"),
        (line(id=7), "'id'"),
        (line(question="   "), "'question'"),
        (line(answers="3551.9亿元"), "'answers'"),
        (line(answers=["ok", 3]), "'answers'"),
        (line(answers=[""]), "'answers'"),
        (line(answers=[]), "needs at least one answer"),
        (line(evidence=""), "'evidence'"),
        (line(doc=5), "'doc'"),
        (line(id="na-001", **{**UNANSWERABLE, "answers": ["x"]}), "no answers"),
    ],
)
def test_bad_line_raises_with_its_line_number(tmp_path: Path, bad_line: str, fragment: str) -> None:
    path = write_lines(tmp_path, line(id="zh-100"), "", bad_line)
    with pytest.raises(BadInput) as excinfo:
        load_eval_set(path)
    message = str(excinfo.value)
    assert "line 3" in message
    assert fragment in message


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"line 2: duplicate id 'zh-001' \(first on line 1\)"):
        load_eval_set(write_lines(tmp_path, line(), line(question="另一个问题？")))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not found"):
        load_eval_set(tmp_path / "absent.jsonl")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="directory"):
        load_eval_set(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no items"):
        load_eval_set(write_lines(tmp_path, "", "   "))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(line().encode("gbk"))
    with pytest.raises(BadInput, match="UTF-8"):
        load_eval_set(path)
