"""The local LLM through the service: time to first token, decode tokens/s and full-answer
time for a few eval questions streamed from `/v1/ask`, then the same prompts on bare
llama.cpp (same GGUF, same thread count) to state the service's overhead as a ratio.

The bare prompts are rebuilt from each answer's `sources` event with the service's own
prompt builder, so both sides decode the same prompt at temperature 0; the report says
how many of the bare answers came out identical, which checks that claim.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import httpx

from evals.bench_http import ratio
from evals.dataset import EvalItem
from evals.metrics import percentile
from evals.sse import sse_events
from index.retriever import Hit
from ingest.document import Chunk
from service.answer import AnswerConfig
from service.language import detect_language
from service.prompt import answer_messages

ANSWER_TIMEOUT_S = 600.0  # one answer on 2 busy cores; a stuck one fails the bench


@dataclass(frozen=True)
class Streamed:
    """One streamed answer as the client saw it (seconds from sending the request)."""

    question: str
    lang: str
    sources_s: float
    first_token_s: float | None
    last_token_s: float | None
    done_s: float
    pieces: int  # `token` events; llama.cpp streams about one token per piece
    text: str
    hits: tuple[dict[str, Any], ...]
    server_ms: dict[str, float]
    cpu_s: float | None = None  # the server process's CPU time during the request

    @property
    def generated(self) -> bool:
        return self.pieces > 0


@dataclass(frozen=True)
class Bare:
    """One generation on bare llama.cpp (seconds from the call)."""

    first_token_s: float | None
    last_token_s: float | None
    pieces: int
    text: str
    counted_tokens: int  # llama.cpp's own decode counter
    counted_s: float
    cpu_s: float | None = None  # this process's CPU time during the call


def decode_rate(pieces: int, first: float | None, last: float | None) -> float | None:
    """Pieces per second after the first one arrived (the first carries the prefill)."""
    if first is None or last is None or pieces < 2 or last <= first:
        return None
    return (pieces - 1) / (last - first)


def pooled_rate(runs: Sequence[tuple[int, float | None, float | None]]) -> float | None:
    """Decode rate over all runs together: pieces after the first / time after the first."""
    pieces = sum(p - 1 for p, f, la in runs if f is not None and la is not None and p >= 2)
    seconds = sum(la - f for p, f, la in runs if f is not None and la is not None and p >= 2)
    return pieces / seconds if seconds > 0 else None


def candidates(items: Sequence[EvalItem]) -> list[EvalItem]:
    """Answerable test-split questions in file order, alternating zh and en."""
    pools = [
        [i for i in items if i.split == "test" and i.answerable and i.lang == lang]
        for lang in ("zh", "en")
    ]
    out: list[EvalItem] = []
    for pair in zip(*pools, strict=False):
        out.extend(pair)
    return out


def stream_answer(http: httpx.Client, question: str, lang: str, backend: str) -> Streamed:
    """POST /v1/ask streamed and time its events."""
    started = time.perf_counter()
    sources_s = first = last = None
    pieces, text = 0, []
    hits: tuple[dict[str, Any], ...] = ()
    server_ms: dict[str, float] = {}
    body = {"question": question, "llm": backend, "stream": True}
    with http.stream("POST", "/v1/ask", json=body) as response:
        response.raise_for_status()
        for event, data in sse_events(response.iter_lines()):
            now = time.perf_counter() - started
            if event == "sources":
                sources_s, hits = now, tuple(json.loads(data)["hits"])
            elif event == "token":
                first = now if first is None else first
                last, pieces = now, pieces + 1
                text.append(json.loads(data)["text"])
            elif event == "done":
                server_ms = json.loads(data).get("timings_ms", {})
            elif event == "error":
                raise RuntimeError(f"error event: {data[:300]}")
    if sources_s is None:
        raise RuntimeError("the stream ended without a sources event")
    done_s = time.perf_counter() - started
    return Streamed(
        question, lang, sources_s, first, last, done_s, pieces, "".join(text), hits, server_ms
    )


@dataclass(frozen=True)
class LlmRuns:
    """The warm-up answer, the counted ones, and their bare twins (when measured)."""

    warm: Streamed
    runs: list[Streamed]
    skipped: int  # questions refused before generation
    bare: list[Bare] | None


def run_llm(
    url: str,
    items: Sequence[EvalItem],
    n: int,
    bare: BareLlama | None,
    server_cpu: Callable[[], float] | None = None,
) -> LlmRuns:
    """A warm-up answer to a dev-split question (loads the model, fills the system prompt's
    KV state; not counted), then test-split answers until `n` generated text. Each one's
    prompt goes to bare llama.cpp right after, so the pair shares the machine's background
    load (the idle server spends no CPU meanwhile). `server_cpu` reads the server's CPU
    seconds, which are compared with bare llama.cpp's because wall time on a shared machine
    moves with the neighbours' load."""
    dev = [i for i in items if i.split == "dev" and i.answerable and i.lang == "zh"]
    warm: Streamed | None = None
    with httpx.Client(base_url=url, timeout=ANSWER_TIMEOUT_S) as http:
        for item in dev[:3]:  # until one reaches the model
            warm = stream_answer(http, item.question, item.lang, "local")
            if warm.generated:
                break
        if warm is None:
            raise ValueError("the eval set has no answerable Chinese dev question to warm up")
        if bare is not None:
            bare.generate(replay_messages(warm))
        runs: list[Streamed] = []
        twins: list[Bare] = []
        skipped = 0
        for item in candidates(items):
            if len(runs) == n:
                break
            cpu = server_cpu() if server_cpu else None
            run = stream_answer(http, item.question, item.lang, "local")
            if cpu is not None and server_cpu is not None:
                run = replace(run, cpu_s=server_cpu() - cpu)
            if not run.generated:
                skipped += 1
                continue
            runs.append(run)
            if bare is not None:
                twins.append(bare.generate(replay_messages(run)))
    return LlmRuns(warm, runs, skipped, twins if bare is not None else None)


def replay_messages(run: Streamed) -> list[dict[str, str]]:
    """The chat the service gave its model for this answer, rebuilt from the `sources` hits."""
    config = AnswerConfig()
    hits = [
        Hit(h["rank"], h["score"], Chunk(**{k: v for k, v in h.items() if k not in _NOT_CHUNK}))
        for h in run.hits[: config.llm_passages]
    ]
    messages = answer_messages(
        run.question, hits, detect_language(run.question), config.passage_chars
    )
    return [{"role": m.role, "content": m.content} for m in messages]


_NOT_CHUNK = frozenset({"rank", "score", "why"})


class BareLlama:
    """The same GGUF on llama.cpp in this process, called as service/llm/local.py calls it
    (one context that keeps its KV state between calls, temperature 0, seed 0)."""

    def __init__(self, model: Path, threads: int, n_ctx: int) -> None:
        from llama_cpp import Llama

        self.llama = Llama(
            model_path=str(model),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            seed=0,
            verbose=False,
        )

    def generate(self, chat: list[dict[str, str]]) -> Bare:
        """Stream one answer and time its pieces."""
        import llama_cpp

        before = llama_cpp.llama_perf_context(self.llama.ctx)
        cpu = time.process_time()
        started = time.perf_counter()
        first = last = None
        pieces, text = 0, []
        stream = cast(
            Iterator[dict[str, Any]],
            self.llama.create_chat_completion(
                messages=cast(Any, chat),
                stream=True,
                temperature=0.0,
                seed=0,
                max_tokens=AnswerConfig().max_tokens,
            ),
        )
        for chunk in stream:
            piece = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
            if piece:
                now = time.perf_counter() - started
                first = now if first is None else first
                last, pieces = now, pieces + 1
                text.append(piece)
        after = llama_cpp.llama_perf_context(self.llama.ctx)
        return Bare(
            first,
            last,
            pieces,
            "".join(text),
            int(after.n_eval) - int(before.n_eval),
            (float(after.t_eval_ms) - float(before.t_eval_ms)) / 1000,
            time.process_time() - cpu,
        )


# -- report lines (pure) -------------------------------------------------------------------


def _p(values: Sequence[float | None], q: float) -> float | None:
    return percentile([v for v in values if v is not None], q)


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def llm_lines(llm: LlmRuns, threads: int) -> list[str]:
    """The local-LLM section: a table by language, then the paired bare llama.cpp comparison."""
    runs = llm.runs
    langs = sorted({r.lang for r in runs}, key=lambda x: x != "zh")
    groups: list[tuple[str, list[Streamed]]] = [("all", list(runs))]
    groups += [(lang, [r for r in runs if r.lang == lang]) for lang in langs]
    rows: list[tuple[str, Callable[[list[Streamed]], float | None]]] = [
        ("time to first token p50, s (client)", lambda g: _p([r.first_token_s for r in g], 50)),
        ("time to first token p95, s (client)", lambda g: _p([r.first_token_s for r in g], 95)),
        (
            "server `first_token` p50, s",
            lambda g: _p([r.server_ms.get("first_token", 0) / 1000 or None for r in g], 50),
        ),
        ("time to `sources` p50, s", lambda g: _p([r.sources_s for r in g], 50)),
        ("full answer p50, s", lambda g: _p([r.done_s for r in g], 50)),
        (
            "decode tokens/s p50",
            lambda g: _p([decode_rate(r.pieces, r.first_token_s, r.last_token_s) for r in g], 50),
        ),
        (
            "decode tokens/s pooled",
            lambda g: pooled_rate([(r.pieces, r.first_token_s, r.last_token_s) for r in g]),
        ),
    ]
    lines = [
        "| measure | " + " | ".join(f"{name} (n={len(g)})" for name, g in groups) + " |",
        "|---|" + "---|" * len(groups),
    ]
    for label, fn in rows:
        lines.append(f"| {label} | " + " | ".join(_s(fn(g)) for _, g in groups) + " |")
    regenerated = sum(1 for r in runs if r.server_ms.get("regenerated"))
    lines += [
        "",
        f"- warm-up answer (not counted; loads the model): {llm.warm.done_s:.1f} s",
        f"- skipped: {llm.skipped} question(s) refused before generation; "
        f"{regenerated} answer(s) regenerated for language (counted, stream unaffected)",
        "- tokens/s: `token` events after the first over the time after the first (llama.cpp "
        "streams about one token per event); English questions include the LLM translation "
        "for retrieval before `sources`",
    ]
    return lines if llm.bare is None else lines + bare_lines(runs, llm.bare, threads)


def bare_lines(runs: Sequence[Streamed], bare: Sequence[Bare], threads: int) -> list[str]:
    """Service against bare llama.cpp on the same prompts: decode rates as ratios."""
    service = pooled_rate([(r.pieces, r.first_token_s, r.last_token_s) for r in runs])
    bare_rate = pooled_rate([(b.pieces, b.first_token_s, b.last_token_s) for b in bare])
    counted = sum(b.counted_tokens for b in bare) / max(1e-9, sum(b.counted_s for b in bare))
    pooled = ratio(service, bare_rate)
    paired = _p(
        [
            ratio(
                decode_rate(r.pieces, r.first_token_s, r.last_token_s),
                decode_rate(b.pieces, b.first_token_s, b.last_token_s),
            )
            for r, b in zip(runs, bare, strict=True)
        ],
        50,
    )
    same = sum(1 for r, b in zip(runs, bare, strict=True) if r.text == b.text)
    best_service = max(
        (decode_rate(r.pieces, r.first_token_s, r.last_token_s) or 0 for r in runs), default=0
    )
    best_bare = max(
        (decode_rate(b.pieces, b.first_token_s, b.last_token_s) or 0 for b in bare), default=0
    )
    return [
        "",
        f"Bare llama.cpp: same GGUF, {threads} threads, same prompts (rebuilt from each "
        "answer's `sources` hits with the service's prompt builder), in the bench process "
        "right after each service answer, while the server idles:",
        "",
        f"- time to first token p50 {_s(_p([b.first_token_s for b in bare], 50))} s "
        "(prefill only: no HTTP, retrieval or translation)",
        f"- decode tokens/s pooled {_s(bare_rate)} (llama.cpp's own counter: {counted:.2f})",
        f"- service / bare decode rate, pooled: {_within(pooled)}; per question p50: "
        f"{_within(paired)}",
        f"- fastest single answer's decode rate (least disturbed by other load): service "
        f"{best_service:.2f}, bare {best_bare:.2f} tokens/s → "
        f"{_within(ratio(best_service, best_bare))}",
        *cpu_lines(runs, bare),
        f"- identical text to the service's stream: {same}/{len(bare)} answers",
    ]


def cpu_lines(runs: Sequence[Streamed], bare: Sequence[Bare]) -> list[str]:
    """CPU seconds per answer, service process against bare llama.cpp, Chinese questions
    apart (an English one also costs the service a translation call)."""
    lines = []
    for label, keep in (("all", ("zh", "en")), ("zh", ("zh",))):
        pairs = [
            (r.cpu_s, b.cpu_s)
            for r, b in zip(runs, bare, strict=True)
            if r.lang in keep and r.cpu_s is not None and b.cpu_s is not None
        ]
        if pairs:
            service, own = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
            lines.append(
                f"- CPU seconds per answer ({label}, n={len(pairs)}): service process "
                f"{service / len(pairs):.1f} (whole request), bare {own / len(pairs):.1f} "
                f"(prefill + decode) → ratio {service / own:.2f}"
            )
    served = [(r.cpu_s, b.cpu_s) for r, b in zip(runs, bare, strict=True)]
    known = [(a, b) for a, b in served if a is not None and b is not None]
    if known and sum(a for a, _ in known) < sum(b for _, b in known):
        # The same prompt and tokens cannot cost less CPU with HTTP and retrieval on top;
        # busy-waiting threads can: llama.cpp's OpenMP workers spin between operations,
        # and on cores other work shares, the spinning burns time slices.
        lines.append(
            "- caution: bare llama.cpp used more CPU than the whole service request, so it "
            "spent time busy-waiting (cores shared with other work); its rates understate "
            "llama.cpp, rerun on an idle machine for this comparison"
        )
    return lines


def _within(r: float | None) -> str:
    if r is None:
        return "–"
    pct = round(abs(1 - r) * 100)
    side = "" if pct == 0 else ", slower" if r < 1 else ", faster"
    return f"{r:.2f} (service within {pct}% of bare{side})"
