"""Crash safety (issue 8, B4): `kill -9` an ingest at random moments and at each step of
the version switch; the index must then load, pass its manifest check and hold exactly
the old or the new documents. Children use the hashing embedder (the `Embedder` Protocol
seam) so that 25 kills cost seconds, not 25 model loads."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hashing_embedder import HashingEmbedder

from index.artifacts import open_retriever
from index.build import IndexBuilder
from index.keyword import configure_jieba
from index.versions import VersionStore
from ingest.document import bytes_hash

pytestmark = pytest.mark.reliability
CHILD = Path(__file__).resolve().parent / "crash_child.py"
ROOT = CHILD.parent.parent
SEED = 20261123
KILLS = 20
STAGES = ("before-fsync", "before-rename", "after-rename", "before-pointer", "after-pointer")
Docs = dict[str, str]  # source → doc_id


def _doc(n: int, edition: int) -> str:
    lines = [f"# 报告{n} 第{edition}版", ""]
    for i in range(12):
        lines.append(
            f"第{i}节：公司{n}在2025年的先进封装产能为{n * 100 + i + edition}万片，"
            f"良率达到{90 + (i + edition) % 10}.{n}%，编号R{n}-{edition}-{i}。"
        )
        lines.append("")
    return "\n".join(lines)


def _write_round(docs: Path, round_no: int) -> None:
    """Each round adds one document and edits two earlier ones."""
    docs.mkdir(exist_ok=True)
    (docs / f"doc{round_no:03d}.md").write_text(_doc(round_no, 0), encoding="utf-8")
    for n in (round_no - 1, round_no - 3):
        if n >= 0:
            (docs / f"doc{n:03d}.md").write_text(_doc(n, round_no), encoding="utf-8")


def _on_disk(docs: Path) -> Docs:
    return {p.name: bytes_hash(p.read_bytes()) for p in sorted(docs.iterdir())}


def check_index(root: Path) -> Docs:
    """Load the served version as the service would and check every part agrees."""
    version = VersionStore(root).current()  # verifies every file's sha256
    manifest = version.manifest
    assert {"embedder", "chunker", "counts", "files"} <= set(manifest)
    retriever = open_retriever(version, HashingEmbedder())
    chunks = version.chunks()
    documents = version.documents()
    ids = [c.chunk_id for c in chunks]
    assert len(set(ids)) == len(ids), "duplicate chunks"
    assert len(retriever.vectors) == len(retriever.keyword) == len(chunks)
    assert manifest["counts"] == {"documents": len(documents), "chunks": len(chunks)}
    for record in documents:
        assert sum(c.doc_id == record.doc_id for c in chunks) == record.chunks
    assert {c.doc_id for c in chunks} == {d.doc_id for d in documents}
    return {d.source: d.doc_id for d in documents}


def _start(root: Path, docs: Path, stage: str = "") -> subprocess.Popen[str]:
    args = [sys.executable, str(CHILD), str(root), str(docs)] + ([stage] if stage else [])
    proc = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY", line + proc.stderr.read() if proc.stderr else line
    return proc


def _finish(proc: subprocess.Popen[str]) -> int:
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, -signal.SIGKILL), err
    return proc.returncode


@pytest.fixture()
def index_root(tmp_path: Path) -> Path:
    configure_jieba(tmp_path / "cache")
    return tmp_path / "index"


def test_kill_9_at_random_moments_leaves_old_or_new(index_root: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for n in range(6):
        _write_round(docs, n)
    proc = _start(index_root, docs)
    started = time.perf_counter()  # from READY: the kill window is the write itself
    assert _finish(proc) == 0
    write_s = time.perf_counter() - started
    state = check_index(index_root)
    rng = random.Random(SEED)
    outcomes = {"old": 0, "new": 0}
    for kill in range(KILLS):
        _write_round(docs, 6 + kill)
        new = {**state, **_on_disk(docs)}
        proc = _start(index_root, docs)
        time.sleep(rng.uniform(0.0, write_s * 0.9))
        proc.send_signal(signal.SIGKILL)
        _finish(proc)
        after = check_index(index_root)
        assert after in (state, new), f"kill {kill}: torn document set"
        outcomes["old" if after == state else "new"] += 1
        state = after
    print(f"\n{KILLS} kills over a {write_s:.2f} s write: {outcomes}")
    # The seeded delays must hit both sides of the switch, or the test proves little.
    assert outcomes["old"] >= 3 and outcomes["new"] >= 1, outcomes
    # After all that, a clean ingest brings the index up to date and a repeat is a no-op.
    assert _finish(_start(index_root, docs)) == 0
    assert check_index(index_root) == {**state, **_on_disk(docs)}
    versions = sorted(p.name for p in (index_root / "versions").iterdir())
    assert not [v for v in versions if v.startswith(".tmp-")], "abandoned temp folders kept"
    before = VersionStore(index_root).current_id()
    assert _finish(_start(index_root, docs)) == 0
    assert VersionStore(index_root).current_id() == before


@pytest.mark.parametrize("stage", STAGES)
def test_kill_9_during_the_version_switch(index_root: Path, tmp_path: Path, stage: str) -> None:
    docs = tmp_path / "docs"
    _write_round(docs, 0)
    _write_round(docs, 1)
    assert _finish(_start(index_root, docs)) == 0
    old = check_index(index_root)
    _write_round(docs, 2)
    new = {**old, **_on_disk(docs)}
    assert _finish(_start(index_root, docs, stage)) == -signal.SIGKILL
    after = check_index(index_root)
    expected = new if stage == "after-pointer" else old
    assert after == expected, stage
    # The next writer is not blocked by the dead one's lock and finishes the job.
    assert _finish(_start(index_root, docs)) == 0
    assert check_index(index_root) == new
    leftovers = [p.name for p in index_root.iterdir() if p.name.startswith(".CURRENT")]
    assert not leftovers, f"stale pointer temp files: {leftovers}"


# -- the write path's bookkeeping, checked in every retriever file ------------------------
@pytest.fixture()
def builder(index_root: Path) -> IndexBuilder:
    return IndexBuilder(
        store=VersionStore(index_root), count_tokens=len, embedder=HashingEmbedder()
    )


def test_changed_and_deleted_documents_leave_faiss_and_bm25(
    builder: IndexBuilder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    for n in range(3):
        _write_round(docs, n)
    builder.ingest([docs])
    first = check_index(builder.store.root)
    again = builder.ingest([docs])
    assert not again.changed and check_index(builder.store.root) == first
    (docs / "doc000.md").write_text(_doc(0, 99), encoding="utf-8")
    builder.ingest([docs])
    state = check_index(builder.store.root)
    text = "\n".join(c.text for c in builder.store.current().chunks())
    assert "R0-99-" in text and "R0-0-" not in text
    builder.delete(state["doc001.md"])
    state = check_index(builder.store.root)
    assert "doc001.md" not in state
    retriever = open_retriever(builder.store.current(), HashingEmbedder())
    for mode in ("dense", "bm25"):
        hits = retriever.search("R1-0-3 公司1", k=50, mode=mode).hits  # type: ignore[arg-type]
        assert hits and all(h.chunk.source != "doc001.md" for h in hits), mode
