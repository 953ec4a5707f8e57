"""B2, overload: with the generation queue full, another /v1/ask is turned away at once
(429/503 with Retry-After) while /healthz and /v1/search keep answering.

A real uvicorn on a free loopback port over the real corpus index; the generator is one
that holds its queue place until the test lets it go, since the real model cannot be made
to stay busy on demand."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from evals.server_proc import free_port
from service.api import create_app
from service.llm.base import GenerationOptions, Message
from service.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.reliability]
QUESTION = "中国大陆封测三大厂是哪几家？"


class HeldGenerator:
    """Streams its answer only once `release` is set."""

    name = "held"
    can_stream = True

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        self.started.set()
        self.release.wait(timeout=120)
        yield "长电科技、通富微电和华天科技是三大封测厂[1]。"

    def complete(self, messages: Sequence[Message], options: GenerationOptions) -> str:
        return "".join(self.stream(messages, options))


def _timed(call: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = call()
    return time.perf_counter() - started, response


def test_a_full_queue_turns_requests_away_while_health_and_search_answer(
    corpus_home: Path,
) -> None:
    settings = Settings(home=corpus_home, llm="local", llm_queue=1, api_key="k")
    app = create_app(settings)
    held = HeldGenerator()
    state = app.state.xinda
    state.pipeline._generator = lambda name: held
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    first: dict[str, httpx.Response] = {}
    asker = threading.Thread(
        target=lambda: first.setdefault(
            "r", httpx.post(f"{base}/v1/ask", json={"question": QUESTION}, timeout=180)
        )
    )
    try:
        for _ in range(300):
            if server.started:
                break
            time.sleep(0.1)
        state.retriever()  # the index is loaded before anything is timed
        asker.start()
        assert held.started.wait(timeout=120), "the first answer never reached the generator"
        assert state.queue.pending == 1

        turned_away, health, search = [], [], []
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(3):
                seconds, r = _timed(lambda: client.post("/v1/ask", json={"question": QUESTION}))
                assert r.status_code in (429, 503), r.text
                assert int(r.headers["Retry-After"]) > 0
                assert r.json()["error"]["message"]
                turned_away.append(seconds)
                seconds, r = _timed(lambda: client.get("/healthz"))
                assert r.status_code == 200
                health.append(seconds)
                seconds, r = _timed(lambda: client.post("/v1/search", json={"query": QUESTION}))
                assert r.status_code == 200 and r.json()["hits"]
                search.append(seconds)
        print(
            f"\n[overload] turned away p50 {statistics.median(turned_away) * 1000:.0f} ms, "
            f"/healthz {statistics.median(health) * 1000:.0f} ms, "
            f"/v1/search {statistics.median(search) * 1000:.0f} ms"
        )
        # Medians of three, so one scheduling hiccup on a shared machine does not decide.
        assert statistics.median(turned_away) < 0.5
        assert statistics.median(health) < 1.0
        assert statistics.median(search) < 1.0
    finally:
        held.release.set()
        if asker.is_alive():
            asker.join(timeout=120)
        server.should_exit = True
        thread.join(timeout=10)
    assert first["r"].status_code == 200 and not first["r"].json()["refused"]
    assert state.queue.pending == 0
