"""The `xinda chunks` / `xinda ingest` commands and the versioned chunk store behind them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.build import IndexBuilder
from index.versions import VersionStore
from ingest.errors import IndexMismatch, NotFound

XINDA = [sys.executable, "-c", "from ui.cli import main; main()"]
ZH_DOC = "# 先进封装\n\n先进封装能够显著提升芯片性能。2024年市场规模为14.6亿元。\n"


@pytest.fixture(autouse=True)
def _converted_embedder(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Point the subprocesses at the already converted model instead of converting it
    # again into every temporary XINDA_HOME.
    monkeypatch.setenv("XINDA_EMBED_MODEL", str(models_dir / "multilingual-e5-small"))


def run_xinda(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XINDA_HOME": str(home)}
    root = Path(__file__).resolve().parent.parent
    return subprocess.run(
        [*XINDA, *args], capture_output=True, text=True, env=env, cwd=cwd or root, timeout=120
    )


def test_chunks_json_lines_have_contract_fields(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text(ZH_DOC, encoding="utf-8")
    result = run_xinda("chunks", str(doc), "--json", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and set(rows[0]) == {
        "chunk_id",
        "doc_id",
        "source",
        "title",
        "section",
        "text",
        "line_start",
        "line_end",
        "page",
    }
    assert rows[0]["source"] == "a.md" and rows[0]["title"] == "先进封装"


def test_chunks_table_output_is_readable(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text(ZH_DOC, encoding="utf-8")
    result = run_xinda("chunks", str(doc), home=tmp_path / "home")
    assert result.returncode == 0
    assert "a.md" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("x.xyz", b"hello", "unsupported file type"),
        ("empty.txt", b"", "empty file"),
        ("bad.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("bad.docx", b"PK\x03\x04 not really a zip", "DOCX"),
        ("bin.txt", bytes(range(256)) * 8, "binary"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text(ZH_DOC, encoding="utf-8")
    bad = folder / name
    bad.write_bytes(content)
    result = run_xinda("ingest", str(folder / "good.md"), str(bad), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout and "1 skipped" in result.stdout
    assert reason in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_path_exits_2_with_message(tmp_path: Path) -> None:
    for command in ("chunks", "ingest"):
        result = run_xinda(command, str(tmp_path / "nope"), home=tmp_path / "home")
        assert result.returncode == 2
        assert "no such file or folder" in result.stderr
        assert "Traceback" not in result.stderr


def test_bad_setting_exits_2(tmp_path: Path) -> None:
    env_home = tmp_path / "home"
    result = subprocess.run(
        [*XINDA, "ingest"],
        capture_output=True,
        text=True,
        env={**os.environ, "XINDA_HOME": str(env_home), "XINDA_CHUNK_MAX_TOKENS": "nope"},
        timeout=60,
    )
    assert result.returncode == 2 and "XINDA_CHUNK_MAX_TOKENS" in result.stderr


# -- the store: idempotence, replacement, deletion, integrity -----------------------------
@pytest.fixture()
def builder(tmp_path: Path, count_tokens) -> IndexBuilder:  # type: ignore[no-untyped-def]
    return IndexBuilder(store=VersionStore(tmp_path / "index"), count_tokens=count_tokens)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reingest_unchanged_is_a_noop(tmp_path: Path, builder: IndexBuilder) -> None:
    docs = tmp_path / "docs"
    _write(docs, "a.md", ZH_DOC)
    first = builder.ingest([docs])
    second = builder.ingest([docs])
    assert first.changed and not second.changed
    assert second.version == first.version and second.unchanged == ("a.md",)


def test_changed_file_replaces_its_chunks(tmp_path: Path, builder: IndexBuilder) -> None:
    docs = tmp_path / "docs"
    _write(docs, "a.md", ZH_DOC)
    _write(docs, "b.md", "# 其他\n\n晶圆级封装是一种先进封装。\n")
    builder.ingest([docs])
    _write(docs, "a.md", ZH_DOC.replace("14.6", "20.1"))
    summary = builder.ingest([docs])
    assert summary.replaced == ("a.md",) and summary.unchanged == ("b.md",)
    text = "\n".join(c.text for c in builder.store.current().chunks())
    assert "20.1亿元" in text and "14.6亿元" not in text
    assert summary.documents == 2


def test_delete_removes_a_document(tmp_path: Path, builder: IndexBuilder) -> None:
    docs = tmp_path / "docs"
    _write(docs, "a.md", ZH_DOC)
    _write(docs, "b.md", "# 其他\n\n晶圆级封装是一种先进封装。\n")
    builder.ingest([docs])
    version = builder.store.current()
    doc_a = next(d for d in version.documents() if d.source == "a.md")
    builder.delete(doc_a.doc_id)
    current = builder.store.current()
    assert [d.source for d in current.documents()] == ["b.md"]
    assert all(c.doc_id != doc_a.doc_id for c in current.chunks())
    with pytest.raises(NotFound):
        builder.delete(doc_a.doc_id)


def test_tampered_version_is_refused(tmp_path: Path, builder: IndexBuilder) -> None:
    docs = tmp_path / "docs"
    _write(docs, "a.md", ZH_DOC)
    builder.ingest([docs])
    chunks_file = builder.store.current().path / "chunks.jsonl"
    data = bytearray(chunks_file.read_bytes())
    data[10] ^= 0x01
    chunks_file.write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match="checksum"):
        builder.store.current()
    chunks_file.unlink()
    with pytest.raises(IndexMismatch, match="missing"):
        builder.store.current()


def test_rebuild_starts_over(tmp_path: Path, builder: IndexBuilder) -> None:
    docs = tmp_path / "docs"
    _write(docs, "a.md", ZH_DOC)
    builder.ingest([docs])
    other = tmp_path / "other"
    _write(other, "c.md", "# 新文档\n\n倒装芯片是一种互连技术。\n")
    summary = builder.ingest([other], rebuild=True)
    assert summary.documents == 1
    assert [d.source for d in builder.store.current().documents()] == ["c.md"]


def test_every_setting_is_documented_in_readme() -> None:
    from service.settings import Settings

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"`XINDA_{n.upper()}`" not in readme]
    assert not missing
