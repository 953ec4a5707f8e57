"""A Generator over a local GGUF model run in-process by llama-cpp-python."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ingest.errors import BackendTimeout, BackendUnavailable
from service.llm.base import GenerationOptions, Message

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """llama.cpp's own counters for one call: what the prompt cache saved, and decode speed."""

    prompt_tokens: int  # prompt tokens actually evaluated (those after the cached prefix)
    prompt_s: float
    generated_tokens: int
    generate_s: float


class LocalGenerator:
    """Chat completions from a GGUF model loaded into this process.

    One llama.cpp context serves one generation at a time, so calls are serialised by a
    lock (a second caller waits up to its `timeout_s`). The context keeps the previous
    call's tokens and re-evaluates only what follows the longest common prefix, so a fixed
    system prompt placed first is paid for once per process, not once per question. An
    English question costs two calls with different system prompts (translation for
    retrieval, then the answer), which would throw that prefix away each time; a small RAM
    cache of saved states (`state_cache_mb`, LRU) brings back the longest matching prefix.
    """

    name = "local"
    can_stream = True

    def __init__(
        self,
        model_path: Path,
        n_threads: int = 2,
        n_ctx: int = 4096,
        seed: int = 0,
        state_cache_mb: int = 0,
    ):
        self.model_path = model_path
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.seed = seed
        self.state_cache_mb = state_cache_mb
        self._llama: Llama | None = None
        self.last_stats: GenerationStats | None = None  # of the last finished call
        # Guards both loading and generating: llama.cpp contexts are not thread-safe.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalGenerator({str(self.model_path)!r}, n_threads={self.n_threads})"

    def load(self) -> None:
        """Load the model now rather than on the first question."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> Llama:
        if self._llama is not None:
            return self._llama
        if not self.model_path.is_file():
            raise BackendUnavailable(
                f"local model file {self.model_path} not found: run `make setup` "
                f"(or `python -m service.llm.model_files {self.model_path.parent}`)"
            )
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendUnavailable(
                "llama-cpp-python is not installed: run `make setup`"
            ) from None
        try:
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                seed=self.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendUnavailable(f"llama.cpp cannot load {self.model_path}: {exc}") from None
        if self.state_cache_mb > 0:
            from llama_cpp.llama_cache import LlamaRAMCache

            # A state holds only the used KV cells (~28 KB a token for the bundled 1.5B
            # model), so a few hundred MB keep the answer and translation prefixes.
            self._llama.set_cache(LlamaRAMCache(capacity_bytes=self.state_cache_mb << 20))
        return self._llama

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        """Yield the answer text piece by piece as the model produces it.

        The lock is held until the iterator is exhausted or closed; a caller that stops
        early should close it (a `for` loop's `break` inside `contextlib.closing`).
        """
        if not self._lock.acquire(timeout=max(options.timeout_s, 0.0)):
            raise BackendTimeout(
                f"the local model stayed busy with another question for {options.timeout_s:g}s"
            )
        try:
            llama = self._load_locked()
            yield from self._generate(llama, messages, options)
        finally:
            self._lock.release()

    def complete(self, messages: Sequence[Message], options: GenerationOptions) -> str:
        """The whole answer at once."""
        return "".join(self.stream(messages, options))

    def _generate(
        self, llama: Llama, messages: Sequence[Message], options: GenerationOptions
    ) -> Iterator[str]:
        # llama.cpp cannot be interrupted mid-decode, so the deadline is checked per token.
        deadline = time.monotonic() + options.timeout_s
        chat = [{"role": m.role, "content": m.content} for m in messages]
        try:
            before = _perf(llama)
            chunks = cast(
                Iterator[dict[str, Any]],
                llama.create_chat_completion(
                    messages=cast(Any, chat),
                    stream=True,
                    temperature=options.temperature,
                    max_tokens=options.max_tokens,
                    stop=list(options.stop) or None,
                    seed=self.seed,
                ),
            )
            try:
                for chunk in chunks:
                    piece = (
                        chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
                    )
                    if piece:
                        yield piece
                    if time.monotonic() > deadline:
                        raise BackendTimeout(
                            f"the local model did not finish within {options.timeout_s:g}s"
                        )
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()  # leaves the context consistent if the caller stopped early
                self.last_stats = _stats_between(before, _perf(llama))
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailable(f"llama.cpp failed to generate: {exc}") from None


def _perf(llama: Llama) -> tuple[int, float, int, float]:
    """llama.cpp's cumulative (prompt tokens, prompt ms, generated tokens, generate ms)."""
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama.ctx)
    return int(data.n_p_eval), float(data.t_p_eval_ms), int(data.n_eval), float(data.t_eval_ms)


def _stats_between(
    before: tuple[int, float, int, float], after: tuple[int, float, int, float]
) -> GenerationStats:
    n_p, t_p, n_e, t_e = (a - b for a, b in zip(after, before, strict=True))
    return GenerationStats(int(n_p), t_p / 1000, int(n_e), t_e / 1000)
