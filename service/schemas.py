"""HTTP request and response models (pydantic, one per direction), defined once."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.answer import MAX_QUESTION_CHARS


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SearchRequest(_Request):
    """POST /v1/search."""

    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int = Field(5, ge=1, le=20)


class Turn(_Request):
    """One earlier turn of a conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(_Request):
    """POST /v1/ask."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int = Field(5, ge=1, le=20)
    llm: Literal["local", "openai", "extractive"] | None = None
    stream: bool = False
    history: list[Turn] = Field(default_factory=list, max_length=20)


class ChatMessage(BaseModel):
    """An OpenAI chat message (content as a string)."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | None = Field(default="", max_length=20_000)


class ChatCompletionRequest(BaseModel):
    """POST /v1/chat/completions (the subset XinDa honours; other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")
    model: str = "xinda"
    messages: list[ChatMessage] = Field(min_length=1, max_length=40)
    stream: bool = False


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: dict[str, str]


class SearchResponse(BaseModel):
    """A search result (CONTRACT shape)."""

    query: str
    hits: list[dict[str, Any]]
    timings_ms: dict[str, float]


class AnswerResponse(BaseModel):
    """An answer (CONTRACT shape)."""

    model_config = ConfigDict(extra="allow")
    question: str
    language: Literal["zh", "en"]
    answer: str
    refused: bool
    citations: list[dict[str, Any]]
    backend: str
    timings_ms: dict[str, float]


class DocumentInfo(BaseModel):
    """One indexed document."""

    doc_id: str
    source: str
    title: str
    chunks: int


class DocumentList(BaseModel):
    """GET /v1/documents."""

    documents: list[DocumentInfo]
    version: str | None


class UploadResponse(BaseModel):
    """POST /v1/documents."""

    document: DocumentInfo
    version: str
    chunks_in_index: int


class DeleteResponse(BaseModel):
    """DELETE /v1/documents/{doc_id}."""

    deleted: str
    version: str
