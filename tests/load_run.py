"""Concurrent load against a live XinDa: N clients, each sending a mix of /v1/search and
extractive /v1/ask; returns error count, latency percentiles and the server's memory.
Used by the reliability test (8 × 75) and by `make soak` (a timed run)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field

import httpx

QUESTIONS = [
    "长电科技的先进封装收入是多少？",
    "北方华创刻蚀设备出货量增长了多少？",
    "先进封装",
    "刻蚀设备",
]


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(p / 100 * len(data)))] if data else float("nan")

    def line(self) -> str:
        return (
            f"{len(self.latencies_ms)} ok, {len(self.errors)} errors, "
            f"p50 {self.percentile(50):.0f} ms, p99 {self.percentile(99):.0f} ms, "
            f"mean {statistics.fmean(self.latencies_ms or [0]):.0f} ms"
        )


def run_load(url: str, clients: int, requests_each: int = 0, seconds: float = 0.0) -> LoadResult:
    """`requests_each` per client, or as many as fit in `seconds` when that is set."""
    result = LoadResult()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds if seconds else 0.0

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            i = 0
            while (i < requests_each) if not seconds else (time.monotonic() < stop_at):
                question = QUESTIONS[(n + i) % len(QUESTIONS)]
                if i % 2:
                    path, body = "/v1/ask", {"question": question, "llm": "extractive", "k": 3}
                else:
                    path, body = "/v1/search", {"query": question, "k": 5}
                started = time.perf_counter()
                try:
                    response = http.post(path, json=body)
                    ok = response.status_code == 200
                    why = f"{path} {response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, why = False, f"{path} {type(exc).__name__}: {exc}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if ok:
                        result.latencies_ms.append(elapsed)
                    else:
                        result.errors.append(why)
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result
