"""Backend name → Generator factory; the one place that knows which LLM backends exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import BackendUnavailable, BadInput
from service.llm.base import Generator


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """What the generator factories need, taken from Settings by the caller."""

    model_path: Path | None
    n_threads: int
    n_ctx: int
    openai_base_url: str
    openai_api_key: str
    openai_model: str
    timeout_s: float
    state_cache_mb: int = 0

    def __repr__(self) -> str:
        # Settings get logged; the key must not be.
        key = "***" if self.openai_api_key else "''"
        return (
            f"LLMConfig(model_path={self.model_path!r}, n_threads={self.n_threads}, "
            f"n_ctx={self.n_ctx}, openai_base_url={self.openai_base_url!r}, "
            f"openai_api_key={key}, openai_model={self.openai_model!r}, "
            f"timeout_s={self.timeout_s}, state_cache_mb={self.state_cache_mb})"
        )


def _local(config: LLMConfig) -> Generator:
    # Imported here so that choosing "openai" never needs llama-cpp-python (and vice versa).
    from service.llm.local import LocalGenerator

    if config.model_path is None:
        raise BackendUnavailable(
            "the local LLM backend needs a model path: run `make setup` to assemble the GGUF"
        )
    return LocalGenerator(
        config.model_path,
        n_threads=config.n_threads,
        n_ctx=config.n_ctx,
        state_cache_mb=config.state_cache_mb,
    )


def _openai(config: LLMConfig) -> Generator:
    from service.llm.openai_compat import OpenAIGenerator

    return OpenAIGenerator(
        base_url=config.openai_base_url,
        api_key=config.openai_api_key,
        model=config.openai_model,
        timeout_s=config.timeout_s,
    )


GENERATORS: dict[str, Callable[[LLMConfig], Generator]] = {
    "local": _local,
    "openai": _openai,
}


def make_generator(name: str, config: LLMConfig) -> Generator:
    """Build the generator registered as `name`; BadInput lists the valid names otherwise."""
    factory = GENERATORS.get(name)
    if factory is None:
        valid = ", ".join(sorted(GENERATORS))
        raise BadInput(f"unknown LLM backend {name!r}; valid backends: {valid}")
    return factory(config)
