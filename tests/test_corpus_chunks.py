"""Issue-3 acceptance on the real corpus: provenance, boundaries, limits, stable ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from corpus_checks import chunk_in_lines, file_lines

from ingest.chunk import ChunkSettings
from ingest.clean import clean_lines, ends_sentence
from ingest.document import BlockKind, Chunk
from ingest.load import load_document
from ingest.pipeline import ChunkedDocument, chunk_file, collect_files

pytestmark = pytest.mark.slow
HARD_LIMIT = 500


@pytest.fixture(scope="module")
def corpus_chunks(
    corpus_dir: Path, count_tokens: Callable[[str], int]
) -> dict[str, ChunkedDocument]:
    files = collect_files([corpus_dir])
    return {f.name: chunk_file(f, count_tokens) for f in files}


def _all(docs: dict[str, ChunkedDocument]) -> list[Chunk]:
    return [c for d in docs.values() for c in d.chunks]


def test_all_five_documents_are_chunked(corpus_chunks: dict[str, ChunkedDocument]) -> None:
    assert len(corpus_chunks) == 5
    assert all(len(d.chunks) >= 5 for d in corpus_chunks.values())


def test_lines_contain_chunk_text(
    corpus_dir: Path, corpus_chunks: dict[str, ChunkedDocument]
) -> None:
    chunks = _all(corpus_chunks)
    lines = {name: file_lines(corpus_dir / name) for name in corpus_chunks}
    bad = [
        c for c in chunks if not chunk_in_lines(c.text, lines[c.source], c.line_start, c.line_end)
    ]
    assert len(bad) / len(chunks) <= 0.02, [(c.source, c.line_start) for c in bad[:5]]


def test_chunks_end_at_sentence_heading_or_table_row(
    corpus_dir: Path, corpus_chunks: dict[str, ChunkedDocument]
) -> None:
    good = 0
    chunks = _all(corpus_chunks)
    for name, doc in corpus_chunks.items():
        blocks = clean_lines(load_document(corpus_dir / name).lines)
        # A chunk that ends where the next block is a heading or table (or the document
        # ends) ends at a heading boundary.
        before_boundary = {
            b.text.strip()
            for i, b in enumerate(blocks)
            if i + 1 == len(blocks)
            or blocks[i + 1].kind in (BlockKind.HEADING, BlockKind.TABLE_ROW)
        }
        for chunk in doc.chunks:
            last = chunk.text.split("\n")[-1]
            if ends_sentence(last) or "\t" in last or last in before_boundary:
                good += 1
    assert good / len(chunks) >= 0.90


def test_no_chunk_over_the_token_limit(
    corpus_chunks: dict[str, ChunkedDocument], count_tokens: Callable[[str], int]
) -> None:
    limit = ChunkSettings().max_tokens
    assert limit <= HARD_LIMIT
    for chunk in _all(corpus_chunks):
        assert count_tokens(chunk.text) <= HARD_LIMIT
        assert chunk.tokens <= limit + 8


def test_chunk_ids_unique_and_stable(
    corpus_dir: Path,
    corpus_chunks: dict[str, ChunkedDocument],
    count_tokens: Callable[[str], int],
) -> None:
    ids = [c.chunk_id for c in _all(corpus_chunks)]
    assert len(set(ids)) == len(ids)
    again = [
        c.chunk_id for f in collect_files([corpus_dir]) for c in chunk_file(f, count_tokens).chunks
    ]
    assert again == ids


def test_boilerplate_dropped_and_tables_kept(corpus_chunks: dict[str, ChunkedDocument]) -> None:
    report = corpus_chunks["000_8170d0da7d067bac.txt"].chunks
    text = "\n".join(c.text for c in report)
    assert text.count("来源：公司公告，公司官网，头豹研究院") == 1  # 5 times in the file
    assert "<ul" not in text and "**" not in text
    assert any("传统封装\t先进封装" in c.text for c in report)
