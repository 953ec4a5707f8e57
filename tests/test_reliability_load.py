"""Load (issue 8, B1): 8 concurrent clients × 75 requests (search and extractive ask)
against a real uvicorn: no errors; p99 at 8 clients against p50 at 1 client reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from live_server import serve
from load_run import run_load
from tiny_index import build_tiny_home

pytestmark = pytest.mark.reliability
CLIENTS = 8
REQUESTS_EACH = 75
# On 2 cores shared with other jobs the tail moves with the neighbours' load; the ratio is
# asserted only where XINDA_LOAD_RATIO_GATE=1 (a quiet machine), always printed.
MAX_RATIO = 6.0


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    base = tmp_path_factory.mktemp("load")
    return build_tiny_home(base / "home", models_dir, base / "docs")


def test_eight_clients_get_no_errors(home: Path) -> None:
    with serve(home) as server:
        run_load(server.url, clients=1, requests_each=4)  # warm-up
        single = run_load(server.url, clients=1, requests_each=30)
        rss_before = server.rss_mb()
        loaded = run_load(server.url, clients=CLIENTS, requests_each=REQUESTS_EACH)
        growth = server.rss_mb() - rss_before
    ratio = loaded.percentile(99) / single.percentile(50)
    print(f"\n1 client:  {single.line()}\n{CLIENTS} clients: {loaded.line()}")
    print(f"p99@{CLIENTS} / p50@1 = {ratio:.1f}; RSS growth {growth:+.1f} MB")
    assert not loaded.errors and not single.errors, (loaded.errors + single.errors)[:5]
    assert len(loaded.latencies_ms) == CLIENTS * REQUESTS_EACH
    if os.environ.get("XINDA_LOAD_RATIO_GATE") == "1":
        assert ratio <= MAX_RATIO
