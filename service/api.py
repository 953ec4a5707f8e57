"""The FastAPI app: thin routes over the answering pipeline and the index builder."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sse_starlette.sse import EventSourceResponse

from index.artifacts import open_retriever
from index.keyword import configure_jieba
from index.retriever import HybridRetriever
from index.versions import VersionStore
from ingest.errors import BadInput, XinDaError
from service.answer import EXTRACTIVE, AnswerPipeline, StreamEvent
from service.body_limit import BodySizeLimit
from service.documents import add_document, check_api_key, upload_name
from service.errors import (
    PayloadTooLarge,
    error_response,
    install_error_handlers,
    status_for,
)
from service.llm.base import Message
from service.log_format import request_id as current_request_id
from service.queue import GenerationQueue
from service.results import Answer
from service.schemas import (
    AnswerResponse,
    AskRequest,
    ChatCompletionRequest,
    DeleteResponse,
    DocumentInfo,
    DocumentList,
    SearchRequest,
    SearchResponse,
    UploadResponse,
)
from service.settings import Settings
from service.wiring import (
    make_builder,
    make_dictionary,
    make_embedder,
    make_pipeline,
    make_store,
    make_vector_backend,
)

log = logging.getLogger("xinda.http")
MAX_JSON_BYTES = 256 * 1024


class ServiceState:
    """What the app holds: settings, the served index version, the pipeline, the queue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Before any tokenising: jieba's cache (which it unmarshals) stays under XINDA_HOME.
        configure_jieba(settings.cache_dir)
        self.store: VersionStore = make_store(settings)
        self.queue = GenerationQueue(settings.llm_queue)
        self._lock = threading.Lock()
        self._retriever: HybridRetriever | None = None
        self._version: str | None = None
        self._retired: list[HybridRetriever] = []
        # Loaded once, not per index version: it depends on the wheel, not the documents.
        self._dictionary = make_dictionary(settings)
        self.pipeline: AnswerPipeline = make_pipeline(settings, self.retriever)

    def retriever(self) -> HybridRetriever:
        """The retriever of the current version, reloaded when ingest switched versions."""
        current = self.store.current_id()
        if self._retriever is not None and current == self._version:
            return self._retriever
        with self._lock:
            if self._retriever is None or current != self._version:
                version = self.store.current()
                self._retire(self._retriever)
                self._retriever = open_retriever(
                    version,
                    make_embedder(self.settings),
                    backend=make_vector_backend(self.settings),
                    dictionary=self._dictionary,
                )
                self._version = version.version_id
            return self._retriever

    def _retire(self, old: HybridRetriever | None) -> None:
        """Close the vector store of the retriever replaced one switch ago (a Milvus client
        holds a server and a lock per version); the one just replaced may still be
        answering a request, so it is closed at the next switch."""
        if old is not None:
            self._retired.append(old)
        while len(self._retired) > 1:
            self._retired.pop(0).vectors.close()

    def answer_events(
        self,
        question: str,
        backend: str | None,
        history: list[Message],
        k: int | None,
    ) -> Iterator[StreamEvent]:
        """The pipeline's events for one question; a generating backend takes a queue place
        now (so a full queue is a 429 before any stream starts) and frees it when done."""
        backend = backend or self.settings.llm
        generating = backend != EXTRACTIVE
        if generating:
            self.queue.acquire()

        def events() -> Iterator[StreamEvent]:
            try:
                yield from self.pipeline.stream(question, k=k, backend=backend, history=history)
            finally:
                if generating:
                    self.queue.release()

        return events()


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.xinda
    return state


StateDep = Annotated[ServiceState, Depends(_state)]


def require_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Document routes need `X-API-Key`; compared in constant time; off without a key."""
    check_api_key(request.app.state.xinda.settings.api_key, x_api_key)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; `xinda serve` and the tests call this."""
    settings = settings or Settings()
    app = FastAPI(
        title="XinDa (芯答)",
        version="0.1.0",
        description="Cited answers from Chinese semiconductor-industry documents.",
    )
    app.state.xinda = ServiceState(settings)
    # Path prefixes whose bodies may be as large as an upload; a face mounted on this app
    # (the web UI) adds its own upload route here.
    app.state.upload_paths = ("/v1/documents",)
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key"],
        )

    def body_limit(path: str) -> int:
        if path.startswith(app.state.upload_paths):
            return settings.max_upload_mb * 1024 * 1024 + 64 * 1024
        return MAX_JSON_BYTES

    app.add_middleware(BodySizeLimit, limit_for=body_limit)

    @app.middleware("http")
    async def limits_and_ids(request: Request, call_next: Callable[..., Any]) -> Response:
        request_id = _request_id(request.headers.get("x-request-id", ""))
        token = current_request_id.set(request_id)
        limit = body_limit(request.url.path)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            response: Response = error_response(
                413, "payload_too_large", f"request body over {limit // 1024} KiB"
            )
        else:
            started = time.perf_counter()
            try:
                response = await call_next(request)
            except Exception:
                # Here rather than in the app-wide handler, so that the 500 still carries
                # the request id in its header and its log lines.
                log.exception("internal error on %s %s", request.method, request.url.path)
                response = error_response(500, "internal_error", "internal server error")
            fields = {
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
            log.info("request", extra={"fields": fields})
        current_request_id.reset(token)
        response.headers["X-Request-ID"] = request_id
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(state: StateDep) -> JSONResponse:
        """200 when the current index is loaded and matches the embedder, else 503 + reason."""
        try:
            retriever = await run_in_threadpool(state.retriever)
        except XinDaError as exc:
            return error_response(503, "not_ready", str(exc))
        # `vectors` was added for issue 9 (kind, index type, memory); the rest is unchanged.
        return JSONResponse(
            {
                "status": "ready",
                "version": state._version,
                "chunks": len(retriever.chunks),
                "vectors": retriever.vectors.describe(),
            }
        )

    @app.post("/v1/search", response_model=SearchResponse)
    async def search(body: SearchRequest, state: StateDep) -> dict[str, Any]:
        """Retrieval only (English queries also translated when an LLM backend is set)."""
        found = await run_in_threadpool(state.pipeline.search, body.query, k=body.k)
        return found.result.to_dict()

    @app.post("/v1/ask", response_model=AnswerResponse)
    async def ask(body: AskRequest, state: StateDep) -> Any:
        """Answer with citations; `stream: true` answers as server-sent events."""
        history = [Message(t.role, t.content) for t in body.history]
        events = state.answer_events(body.question, body.llm, history, body.k)
        if body.stream:
            return EventSourceResponse(_sse(events), ping=15)
        return (await _final_answer(events)).to_dict()

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, state: StateDep) -> Any:
        """OpenAI-compatible chat: the last user message is the question."""
        turns = [m for m in body.messages if m.role in ("user", "assistant") and m.content]
        if not turns or turns[-1].role != "user":
            raise BadInput("the last message must be a user message")
        question = turns[-1].content or ""
        history = [Message(m.role, m.content or "") for m in turns[:-1]]  # type: ignore[arg-type]
        events = state.answer_events(question, None, history, None)
        created = int(time.time())
        completion_id = "chatcmpl-" + uuid.uuid4().hex[:20]
        if body.stream:
            return EventSourceResponse(
                _openai_chunks(events, completion_id, created, body.model), ping=15
            )
        answer = await _final_answer(events)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": _with_sources(answer.to_dict())},
                    "finish_reason": "stop",
                }
            ],
            "citations": [c.to_dict() for c in answer.citations],
        }

    @app.get("/v1/documents", response_model=DocumentList)
    async def list_documents(state: StateDep) -> dict[str, Any]:
        """The documents of the current index version."""
        try:
            version = await run_in_threadpool(state.store.current, verify=False)
        except XinDaError:
            return {"documents": [], "version": None}
        docs = [DocumentInfo(**{**d.to_dict()}) for d in version.documents()]
        return {"documents": docs, "version": version.version_id}

    @app.post("/v1/documents", response_model=UploadResponse, dependencies=[Depends(require_key)])
    async def upload_document(
        state: StateDep, file: Annotated[UploadFile, File()]
    ) -> dict[str, Any]:
        """Parse an upload in a child process, index it as a new version, switch."""
        name = upload_name(file.filename or "upload")  # 415 before reading the body
        limit = state.settings.max_upload_mb * 1024 * 1024
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"file over {state.settings.max_upload_mb} MB")
        added = await run_in_threadpool(add_document, state.settings, data, name)
        return {
            "document": DocumentInfo(
                doc_id=added.doc_id, source=added.source, title=added.title, chunks=added.chunks
            ),
            "version": added.version,
            "chunks_in_index": added.chunks_in_index,
        }

    @app.delete(
        "/v1/documents/{doc_id}",
        response_model=DeleteResponse,
        dependencies=[Depends(require_key)],
    )
    async def delete_document(doc_id: str, state: StateDep) -> dict[str, Any]:
        """Remove a document from every part of the index."""
        builder = make_builder(state.settings)
        version = await run_in_threadpool(builder.delete, doc_id)
        return {"deleted": doc_id, "version": version.version_id}

    return app


_END = object()
_REQUEST_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _request_id(sent: str) -> str:
    """The client's id when it is a plain token (it is echoed into logs and a header),
    else a fresh one."""
    sent = sent[:64]
    if sent and set(sent) <= _REQUEST_ID_CHARS:
        return sent
    return uuid.uuid4().hex[:16]


async def _final_answer(events: Iterator[StreamEvent]) -> Answer:
    answer: Answer | None = None
    async for event in _in_thread(events):
        if event.event == "done":
            answer = event.data["answer"]
    if answer is None:  # the pipeline always ends with "done"; guard against a bug
        raise XinDaError("the answer pipeline ended without an answer")
    return answer


async def _in_thread(events: Iterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    """Run a blocking event generator in a worker thread, yielding without blocking the loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def work() -> None:
        try:
            for event in events:
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except BaseException as exc:  # handed to the event loop, raised there
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    threading.Thread(target=work, name="xinda-answer", daemon=True).start()
    while True:
        item = await queue.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


async def _sse(events: Iterator[StreamEvent]) -> AsyncIterator[dict[str, str]]:
    try:
        async for event in _in_thread(events):
            data = event.data
            if event.event == "done":
                data = data["answer"].to_dict()
            yield {"event": event.event, "data": json.dumps(data, ensure_ascii=False)}
    except XinDaError as exc:
        status, code = status_for(exc)
        body = {"code": code, "message": str(exc), "status": status}
        yield {"event": "error", "data": json.dumps(body, ensure_ascii=False)}
    except Exception:
        log.exception("stream failed")
        body = {"code": "internal_error", "message": "internal server error", "status": 500}
        yield {"event": "error", "data": json.dumps(body)}


async def _openai_chunks(
    events: Iterator[StreamEvent], completion_id: str, created: int, model: str
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        return json.dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            },
            ensure_ascii=False,
        )

    yield chunk({"role": "assistant", "content": ""})
    async for event in _in_thread(events):
        if event.event == "token":
            yield chunk({"content": event.data["text"]})
        elif event.event == "done":
            answer = event.data["answer"].to_dict()
            # The streamed tokens are the raw draft; send the checked answer as the final
            # content so clients that keep the last message see the cited version.
            yield chunk({"content": "\n\n" + _sources_block(answer)})
            yield chunk({}, "stop")
    yield "[DONE]"


def _sources_block(answer: dict[str, Any]) -> str:
    lines = [
        f"[{c['n']}] {c['source']} lines {c['line_start']}-{c['line_end']}"
        for c in answer["citations"]
    ]
    return "Sources:\n" + "\n".join(lines) if lines else ""


def _with_sources(answer: dict[str, Any]) -> str:
    block = _sources_block(answer)
    text = str(answer["answer"])
    return text + ("\n\n" + block if block else "")
