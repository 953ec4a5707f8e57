"""Integrity (issue 8, B5): a flipped byte in any index file, a missing file or another
embedder's index is refused — `/readyz` 503 with the reason, `xinda search` exit 2 — never
served as silent wrong results; a full disk during ingest leaves the old version served."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hashing_embedder import HashingEmbedder
from tiny_index import build_tiny_home, write_docs

from index.build import IndexBuilder
from index.keyword import configure_jieba
from index.versions import MANIFEST, VersionStore
from ingest.errors import StorageError
from service.api import create_app
from service.errors import status_for
from service.settings import Settings

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    """A XINDA_HOME indexed with the real embedder: two short documents."""
    base = tmp_path_factory.mktemp("tiny")
    return build_tiny_home(base / "home", models_dir, base / "docs")


def _copy(home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    target.mkdir(parents=True)
    shutil.copytree(home / "index", target / "index")
    (target / "models").symlink_to((home / "models").resolve(), target_is_directory=True)
    return target


def _version_dir(home: Path) -> Path:
    store = VersionStore(home / "index")
    return store.root / "versions" / str(store.current_id())


def _index_files(home: Path) -> list[str]:
    folder = _version_dir(home)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture()
def client_for(tmp_path: Path) -> Iterator[object]:
    clients: list[TestClient] = []

    def make(home: Path) -> TestClient:
        settings = Settings(home=home, llm="extractive")
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def _assert_refused(client: TestClient, reason: str) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 503, ready.text
    message = ready.json()["error"]["message"]
    assert reason in message and "xinda ingest --rebuild" in message, message
    search = client.post("/v1/search", json={"query": "长电科技的先进封装收入"})
    assert search.status_code == 503, search.text


def test_the_intact_index_is_served(tiny_home: Path, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(tiny_home)
    assert client.get("/readyz").status_code == 200
    hits = client.post("/v1/search", json={"query": "长电科技的先进封装收入"}).json()["hits"]
    assert hits[0]["source"] == "a.md"


def test_a_flipped_byte_or_missing_file_is_refused(
    tiny_home: Path,
    tmp_path: Path,
    client_for,  # type: ignore[no-untyped-def]
) -> None:
    # One app for all cases: a refused load is never cached, so each tampering is seen
    # afresh; the file is restored after each case and the app never loads the intact one.
    home = _copy(tiny_home, tmp_path)
    client = client_for(home)
    names = _index_files(home)
    assert MANIFEST in names and "vectors.faiss" in names and len(names) >= 6, names
    cases = 0
    for name in names:
        target = _version_dir(home) / name
        original = target.read_bytes()
        for where in (0.0, 0.5, 0.999):
            data = bytearray(original)
            data[min(int(len(data) * where), len(data) - 1)] ^= 0x01
            target.write_bytes(bytes(data))
            _assert_refused(client, "manifest" if name == MANIFEST else "checksum")
            cases += 1
        target.unlink()
        _assert_refused(client, "no manifest" if name == MANIFEST else "missing")
        target.write_bytes(original)
        cases += 1
    print(f"\n{cases} tamperings over {len(names)} index files, all refused")
    assert client.get("/readyz").status_code == 200  # restored: served again


def test_another_embedders_index_is_refused(tmp_path: Path, client_for, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    (home / "models").parent.mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    configure_jieba(home / "cache")
    builder = IndexBuilder(
        store=VersionStore(home / "index"), count_tokens=len, embedder=HashingEmbedder()
    )
    builder.ingest([write_docs(tmp_path / "docs")])
    _assert_refused(client_for(home), "index built with test-hashing-bigrams (32-d)")
    cli = _xinda_search(home)
    assert cli.returncode == 2 and "index built with" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr


def _xinda_search(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XINDA_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", "search", "长电科技"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_search_on_a_tampered_index_exits_2(tiny_home: Path, tmp_path: Path) -> None:
    home = _copy(tiny_home, tmp_path)
    target = _version_dir(home) / "chunks.jsonl"
    target.write_bytes(target.read_bytes().replace("120亿元".encode(), "999亿元".encode()))
    result = _xinda_search(home)
    assert result.returncode == 2, result.stderr
    assert "checksum" in result.stderr and "xinda ingest --rebuild" in result.stderr
    assert "Traceback" not in result.stderr and "999" not in result.stdout


# -- a full disk -----------------------------------------------------------------------------
@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs; skipped where mounting is not permitted (not root, no CAP_SYS_ADMIN)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_a_full_disk_keeps_the_previous_version(small_disk: Path, tmp_path: Path) -> None:
    configure_jieba(tmp_path / "cache")
    store = VersionStore(small_disk / "index")
    builder = IndexBuilder(store=store, count_tokens=len, embedder=HashingEmbedder())
    docs = write_docs(tmp_path / "docs")
    builder.ingest([docs])
    before = store.current()
    line = "第{}段：中芯国际2025年的先进制程产能持续扩张，晶圆出货量同比增长。\n\n"
    (docs / "big.md").write_text("".join(line.format(i) for i in range(25_000)), "utf-8")
    with pytest.raises(StorageError, match="previous version is still served") as caught:
        builder.ingest([docs])
    assert status_for(caught.value) == (503, "storage_unavailable")
    after = store.current()  # still verifies
    assert after.version_id == before.version_id
    assert [d.source for d in after.documents()] == ["a.md", "b.md"]
    leftovers = [p.name for p in (store.root / "versions").iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers
