"""`/v1/search` and extractive `/v1/ask` latency over HTTP against a running server, with 1
and with 8 concurrent clients, and the time until a streamed answer's `sources` event.

Each (probe, clients) cell sends the same questions, so the 8-client / 1-client ratio in
one run compares like with like. Latencies are measured by the client (socket to socket);
the extractive answer's own `timings_ms` give the time it spends beyond retrieval.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from evals.metrics import percentile
from evals.sse import sse_events

CLIENT_TIMEOUT_S = 120.0
SOURCES_TARGET_MS = 300.0
BEYOND_RETRIEVAL_TARGET_MS = 150.0


@dataclass(frozen=True)
class Timed:
    """One request: client-side milliseconds, and the server's own time beyond retrieval
    (extractive ask only)."""

    ms: float
    beyond_retrieval_ms: float | None = None


Probe = Callable[[httpx.Client, str], Timed]


def probe_search(http: httpx.Client, question: str) -> Timed:
    """POST /v1/search; the whole response."""
    started = time.perf_counter()
    response = http.post("/v1/search", json={"query": question, "k": 5})
    response.raise_for_status()
    return Timed(_ms(started))


def probe_ask(http: httpx.Client, question: str) -> Timed:
    """POST /v1/ask with the extractive backend; the whole answer."""
    started = time.perf_counter()
    response = http.post("/v1/ask", json={"question": question, "llm": "extractive", "k": 5})
    response.raise_for_status()
    elapsed = _ms(started)
    return Timed(elapsed, beyond_retrieval(response.json().get("timings_ms", {})))


def probe_sources(http: httpx.Client, question: str) -> Timed:
    """POST /v1/ask streamed (extractive); the time until the `sources` event arrives.

    The rest of the stream is read too, so the connection is free for the next request.
    """
    started = time.perf_counter()
    sources_ms: float | None = None
    body = {"question": question, "llm": "extractive", "k": 5, "stream": True}
    with http.stream("POST", "/v1/ask", json=body) as response:
        response.raise_for_status()
        for event, data in sse_events(response.iter_lines()):
            if event == "sources" and sources_ms is None:
                sources_ms = _ms(started)
            elif event == "error":
                raise RuntimeError(f"error event: {data[:200]}")
    if sources_ms is None:
        raise RuntimeError("the stream ended without a sources event")
    return Timed(sources_ms)


PROBES: dict[str, Probe] = {
    "/v1/search": probe_search,
    "/v1/ask (extractive)": probe_ask,
    "/v1/ask stream → `sources`": probe_sources,
}


@dataclass
class Cell:
    """The samples of one probe at one concurrency."""

    probe: str
    clients: int
    samples: list[Timed] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def latencies(self) -> list[float]:
        return [s.ms for s in self.samples]

    def beyond(self) -> list[float]:
        return [s.beyond_retrieval_ms for s in self.samples if s.beyond_retrieval_ms is not None]


def beyond_retrieval(timings_ms: dict[str, float]) -> float | None:
    """Server time of an answer spent after retrieval (extract + answer + checks)."""
    if "total" not in timings_ms or "retrieve" not in timings_ms:
        return None
    return float(timings_ms["total"]) - float(timings_ms["retrieve"])


def run_cell(
    url: str, probe: str, questions: Sequence[str], clients: int, requests: int, offset: int = 0
) -> Cell:
    """`requests` calls of `probe` split over `clients` threads, each with its own
    keep-alive connection; client c asks questions[offset + c*each + i] (wrapping)."""
    cell = Cell(probe, clients)
    each = max(1, requests // clients)
    lock = threading.Lock()

    def client(c: int) -> None:
        with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_S) as http:
            for i in range(each):
                question = questions[(offset + c * each + i) % len(questions)]
                try:
                    timed = PROBES[probe](http, question)
                except (httpx.HTTPError, RuntimeError, json.JSONDecodeError) as exc:
                    with lock:
                        cell.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    continue
                with lock:
                    cell.samples.append(timed)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cell.wall_s = time.perf_counter() - started
    return cell


ROUNDS = 5


def run_http_bench(
    url: str, questions: Sequence[str], requests: int, concurrency: Sequence[int] = (1, 8)
) -> list[Cell]:
    """Every probe at every concurrency, after a warm-up of each probe (not counted).

    Each cell's requests are spread over up to ROUNDS interleaved rounds (every cell once a
    round, on that round's questions), so when the machine's background load changes during
    the run it touches all cells alike and the ratios between them stay fair.
    """
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_S) as http:
        for call in PROBES.values():
            for question in questions[:3]:
                call(http, question)
    rounds = max(1, min(ROUNDS, requests))
    per_round = max(1, requests // rounds)
    cells = {(p, c): Cell(p, c) for p in PROBES for c in concurrency}
    for r in range(rounds):
        for (probe, clients), cell in cells.items():
            part = run_cell(url, probe, questions, clients, per_round, offset=r * per_round)
            cell.samples += part.samples
            cell.errors += part.errors
            cell.wall_s += part.wall_s
    return list(cells.values())


# -- report lines (pure) -------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    """Milliseconds for a table: one decimal below 100, none above; '–' for nothing."""
    if value is None:
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def http_table(cells: Sequence[Cell]) -> list[str]:
    """One markdown row per cell, with the cell's p50 against the same probe's 1-client p50."""
    single = {c.probe: percentile(c.latencies(), 50) for c in cells if c.clients == 1}
    lines = [
        "| request | clients | n | errors | p50 ms | p95 ms | p50 / 1-client p50 | req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        p50 = percentile(c.latencies(), 50)
        r = ratio(p50, single.get(c.probe))
        rate = len(c.samples) / c.wall_s if c.wall_s else None
        lines.append(
            f"| {c.probe} | {c.clients} | {len(c.samples)} | {len(c.errors)} | {fmt_ms(p50)} | "
            f"{fmt_ms(percentile(c.latencies(), 95))} | {'–' if r is None else f'{r:.2f}x'} | "
            f"{'–' if rate is None else f'{rate:.1f}'} |"
        )
    return lines


def target_line(what: str, values: Sequence[float], target_ms: float) -> str:
    """'- what: p50 …, p95 … (target ≤ …: p50 met, p95 missed)'."""
    p50, p95 = percentile(values, 50), percentile(values, 95)
    if p50 is None or p95 is None:
        return f"- {what}: no samples"
    verdict = ", ".join(
        f"{name} {'met' if value <= target_ms else 'missed'}"
        for name, value in (("p50", p50), ("p95", p95))
    )
    return (
        f"- {what}: p50 {fmt_ms(p50)} ms, p95 {fmt_ms(p95)} ms "
        f"(target ≤ {target_ms:.0f} ms: {verdict}; n={len(values)})"
    )


def http_lines(cells: Sequence[Cell]) -> list[str]:
    """The HTTP section's table, the two targets and any errors."""
    by = {(c.probe, c.clients): c for c in cells}
    lines = http_table(cells) + [""]
    sources = by.get(("/v1/ask stream → `sources`", 1))
    if sources is not None:
        lines.append(
            target_line(
                "time from request to the SSE `sources` event, 1 client",
                sources.latencies(),
                SOURCES_TARGET_MS,
            )
        )
    ask = by.get(("/v1/ask (extractive)", 1))
    if ask is not None:
        lines.append(
            target_line(
                "extractive ask beyond retrieval (server `timings_ms` total − retrieve), 1 client",
                ask.beyond(),
                BEYOND_RETRIEVAL_TARGET_MS,
            )
        )
    for c in cells:
        if c.errors:
            lines.append(f"- errors in {c.probe} × {c.clients}: {c.errors[0]}")
    return lines


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
