"""XinDa's one settings object: environment variables with the prefix `XINDA_` (or `.env`).

Built once at the edge (the CLI, the app factory) and passed in; nothing below reads the
environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.chunk import ChunkSettings


class Settings(BaseSettings):
    """All of XinDa's settings; README's configuration table lists each one."""

    model_config = SettingsConfigDict(
        env_prefix="XINDA_", env_file=".env", extra="ignore", frozen=True
    )

    home: Path = Field(Path(".xinda"), description="Where XinDa writes indexes, models, logs.")
    corpus_dir: Path = Field(Path("corpus"), description="Folder `xinda ingest` reads by default.")
    chunk_target_tokens: int = Field(320, ge=32, le=500, description="Chunk size aimed at.")
    chunk_max_tokens: int = Field(480, ge=32, le=500, description="Hard chunk size limit.")
    chunk_min_tokens: int = Field(60, ge=1, le=500, description="Smaller chunks are merged.")
    chunk_overlap_sentences: int = Field(1, ge=0, le=5, description="Sentences repeated.")
    embed_model: str = Field(
        "",
        description="sentence-transformers model name or folder; empty = the bundled "
        "multilingual-e5-small converted into XINDA_HOME/models/",
    )
    embed_batch_size: int = Field(8, ge=1, le=256, description="Passages per embedding batch.")
    threads: int = Field(2, ge=1, le=64, description="CPU threads for embedding and the LLM.")
    vector_store: str = Field(
        "faiss", pattern="^(faiss|milvus)$", description="Where the vectors live: faiss or milvus."
    )
    milvus_uri: str = Field(
        "",
        description="Milvus for XINDA_VECTOR_STORE=milvus: empty = embedded Milvus Lite in each "
        "index version; http://host:19530 = a Milvus server or cluster",
    )
    milvus_token: str = Field("", description="Milvus credentials (`user:password` or a key).")
    ann_threshold: int = Field(
        200_000, ge=1, description="Chunks from which the vector index is approximate."
    )
    ann_nlist: int = Field(0, ge=0, le=65536, description="IVF lists; 0 = √chunks.")
    ann_nprobe: int = Field(32, ge=1, le=65536, description="IVF lists searched per query.")
    retrieval_k: int = Field(5, ge=1, le=20, description="Passages retrieved per question.")
    search_mode: str = Field("hybrid", pattern="^(hybrid|dense|bm25)$", description="Retrievers.")
    llm: str = Field("local", pattern="^(local|openai|extractive)$", description="Answer backend.")
    llm_model_path: str = Field(
        "", description="GGUF for the local backend; empty = the bundled Qwen2.5 1.5B."
    )
    llm_context: int = Field(4096, ge=512, le=32768, description="Local LLM context tokens.")
    llm_passages: int = Field(4, ge=1, le=20, description="Passages shown to a generating LLM.")
    llm_passage_chars: int = Field(
        260, ge=40, le=4000, description="Characters kept of each passage shown to the LLM."
    )
    llm_state_cache_mb: int = Field(
        256,
        ge=0,
        le=16384,
        description="RAM for saved local-LLM prompt states (translation and answer prefixes); "
        "0 = off.",
    )
    llm_timeout_s: float = Field(120.0, gt=0, description="Per-answer generation timeout.")
    llm_queue: int = Field(4, ge=1, le=64, description="Answers generating or waiting at once.")
    openai_base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible URL.")
    openai_api_key: str = Field("not-needed", description="Key for the OpenAI-compatible server.")
    openai_model: str = Field("qwen2.5", description="Model name on that server.")
    translate_english: bool = Field(
        True, description="Translate English questions with the LLM for retrieval."
    )
    query_dictionary: bool = Field(
        False,
        description="Translate English words the lexicon lacks with CC-CEDICT for BM25.",
    )
    llm_passage_labels: bool = Field(
        True,
        description="Show a generating LLM each table cell with its column name and each "
        "分别 (respectively) list with what its values belong to.",
    )
    llm_show_translation: bool = Field(
        False,
        description="Show a generating LLM the Chinese rendering of an English question beside it.",
    )
    quote_dictionary: bool = Field(
        True,
        description="Choose the quote of an English question answered without LLM translation "
        "from a search that also uses CC-CEDICT; whether to answer is decided without it.",
    )
    quote_asked_words: bool = Field(
        True,
        description="Choose a Chinese question's quote with the words naming what it asks "
        "for weighing triple; whether to answer is decided without them.",
    )
    refusal_support: float = Field(
        0.1, ge=0.0, le=1.0, description="Answer support below which XinDa refuses."
    )
    refusal_coverage_zh: float = Field(
        0.3, ge=0.0, le=1.0, description="Chinese question-term coverage to answer."
    )
    refusal_coverage_en: float = Field(
        0.25, ge=0.0, le=1.0, description="English question-term coverage to answer."
    )
    refusal_similarity_zh: float = Field(
        0.85,
        ge=0.0,
        le=1.0,
        description="Refuse a Chinese question whose best passage's embedding cosine is "
        "below this (off-topic); calibrated for the bundled embedder.",
    )
    refusal_similarity_en: float = Field(
        0.765, ge=0.0, le=1.0, description="The same for English questions."
    )
    refusal_focus: bool = Field(
        True,
        description="Refuse when the best sentence lacks the question's metric, year or name.",
    )
    api_key: str = Field("", description="X-API-Key for document routes; empty disables them.")
    max_upload_mb: int = Field(20, ge=1, le=1024, description="Upload size limit.")
    cors_origins: str = Field("", description="Comma-separated allowed origins; empty = none.")
    host: str = Field("127.0.0.1", description="`xinda serve` address.")
    port: int = Field(8000, ge=1, le=65535, description="`xinda serve` port.")

    @model_validator(mode="after")
    def _check_chunk_sizes(self) -> Settings:
        if not self.chunk_min_tokens <= self.chunk_target_tokens <= self.chunk_max_tokens:
            raise ValueError(
                "XINDA_CHUNK_MIN_TOKENS <= XINDA_CHUNK_TARGET_TOKENS <= XINDA_CHUNK_MAX_TOKENS"
                " must hold"
            )
        return self

    @property
    def index_dir(self) -> Path:
        """Root of the index versions."""
        return self.home / "index"

    @property
    def embed_model_path(self) -> str:
        """The embedder to load: the setting, or the bundled model's folder."""
        return self.embed_model or str(self.home / "models" / "multilingual-e5-small")

    @property
    def llm_model_file(self) -> Path:
        """The GGUF the local backend loads."""
        if self.llm_model_path:
            return Path(self.llm_model_path)
        return self.home / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

    @property
    def cache_dir(self) -> Path:
        """Caches XinDa owns (jieba's dictionary cache)."""
        return self.home / "cache"

    @property
    def chunk_settings(self) -> ChunkSettings:
        """The chunker's part of the settings."""
        return ChunkSettings(
            target_tokens=self.chunk_target_tokens,
            max_tokens=self.chunk_max_tokens,
            min_tokens=self.chunk_min_tokens,
            overlap_sentences=self.chunk_overlap_sentences,
        )
