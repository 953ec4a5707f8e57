"""The Gradio page at /ui: chat on the left, cited sources on the right, controls and
uploads below. Calls the app's own ServiceState in-process, as the HTTP routes do."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr

from index.progress import Progress
from ingest.errors import BadInput, XinDaError
from service.api import ServiceState
from service.documents import AddedDocument, add_document, check_api_key, upload_name
from service.errors import PayloadTooLarge
from service.language import detect_language
from service.settings import Settings
from ui.conversation import Turn, history_messages
from ui.render import (
    EMPTY_PANEL,
    Pending,
    chat_messages,
    error_html,
    escape,
    sources_panel,
    streaming_html,
    upload_error_html,
    upload_summary_html,
)

log = logging.getLogger("xinda.ui")
EXAMPLES: tuple[str, ...] = (
    "先进封装的主要技术有哪些？",
    "中国大陆封测三大厂是哪几家？",
    "What is a chiplet?",
    "What is hybrid bonding?",
)
BACKEND_LABELS: dict[str, str] = {
    "extractive": "抽取式 extractive",
    "local": "本地模型 local",
    "openai": "OpenAI 兼容 openai",
}
UPLOAD_TYPES: tuple[str, ...] = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


@dataclass(frozen=True, slots=True)
class PageOptions:
    """What the page offers, decided at the edge from the settings."""

    backends: tuple[str, ...]  # the configured answer backends, the default first
    k: int
    uploads_enabled: bool  # False without XINDA_API_KEY: the API refuses uploads too
    max_upload_mb: int


class UploadProgress:
    """Adapts Gradio's progress bar to the index builder's Progress protocol."""

    def __init__(self, bar: gr.Progress) -> None:
        self.bar = bar
        self.description = ""
        self.total = 1
        self.done = 0

    def start(self, description: str, total: int) -> None:
        """Begin a stage."""
        self.description, self.total, self.done = description, max(total, 1), 0
        self.bar((0, self.total), desc=description)

    def advance(self, steps: int = 1) -> None:
        """Record finished steps."""
        self.done = min(self.done + steps, self.total)
        self.bar((self.done, self.total), desc=self.description)


Outputs = tuple[Any, Any, Any, Any]  # chat messages, sources panel, turns, question box


def build_page(state: ServiceState, options: PageOptions) -> gr.Blocks:
    """The Blocks of the chat page over `state`'s pipeline and index."""

    def ask(question: str, turns: list[Turn], backend: str, k: float) -> Iterator[Outputs]:
        question = (question or "").strip()
        turns = list(turns or [])
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        language = detect_language(question)
        pending = Pending(len(turns) + 1, question, language)
        shown = [*chat_messages(turns), {"role": "user", "content": escape(question)}]

        # Later updates leave the question box alone: the user may type the next question
        # while this answer streams in.
        def view(assistant: str, panel: Any = None) -> Outputs:
            chat = [*shown, {"role": "assistant", "content": assistant}]
            return chat, gr.skip() if panel is None else panel, gr.skip(), gr.skip()

        yield (
            view(streaming_html("", language, retrieved=False))[0],
            sources_panel(turns, pending),
            gr.skip(),
            "",
        )
        text = ""
        try:
            events = state.answer_events(
                question, backend, history_messages(turns), int(k) or options.k
            )
            for event in events:
                if event.event == "sources":
                    pending = replace(pending, hits=tuple(event.data["hits"]))
                    yield view(
                        streaming_html(text, language, retrieved=True),
                        sources_panel(turns, pending),
                    )
                elif event.event == "token":
                    text += event.data["text"]
                    yield view(streaming_html(text, language, retrieved=True))
                elif event.event == "done":
                    turns = [*turns, Turn.from_answer(pending.number, event.data["answer"])]
                    yield chat_messages(turns), sources_panel(turns), turns, gr.skip()
        except XinDaError as exc:
            yield view(error_html(str(exc), language), sources_panel(turns, pending))
        except Exception:  # a bug: a line in the chat, the traceback in the server log
            log.exception("answering in the web UI failed")
            yield view(error_html("internal error", language), sources_panel(turns, pending))

    def clear() -> tuple[list[dict[str, str]], str, list[Turn], str]:
        return [], EMPTY_PANEL, [], ""

    def upload(path: str | None, key: str, bar: gr.Progress = gr.Progress()) -> tuple[str, Any]:  # noqa: B008
        try:
            added = upload_from_page(state.settings, path, key, UploadProgress(bar))
        except XinDaError as exc:
            kept = path is not None and Path(path).exists()  # else the user must pick it again
            return upload_error_html(str(exc)), gr.skip() if kept else None
        return upload_summary_html(added), None

    page = gr.Blocks(
        title="芯答 XinDa",
        analytics_enabled=False,
        fill_width=True,
        delete_cache=(3600, 3600),  # uploaded files leave Gradio's folder within two hours
    )
    with page:
        turns_state = gr.State([])
        gr.HTML(
            "<h1>芯答 XinDa</h1><p>半导体产业文档问答，答案附引用出处 · "
            "Cited answers from Chinese semiconductor-industry documents</p>",
            elem_id="xinda-header",
            js_on_load=None,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat = gr.Chatbot(
                    label="对话 Chat",
                    show_label=False,
                    elem_id="xinda-chat",
                    height=560,
                    render_markdown=False,  # messages are HTML from ui.render, escaped there
                    sanitize_html=True,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=[],  # a copy button would copy the message's HTML
                    placeholder="用中文或英文提问 · Ask in Chinese or English",
                )
                question = gr.Textbox(
                    placeholder="输入问题后按 Enter · Type a question and press Enter",
                    show_label=False,
                    elem_id="xinda-question",
                    max_length=2000,
                    autofocus=True,
                    submit_btn="提问 Ask",
                )
                with gr.Row(elem_id="xinda-examples"):
                    example_buttons = [
                        gr.Button(text, size="sm", variant="secondary") for text in EXAMPLES
                    ]
                with gr.Row():
                    backend = gr.Radio(
                        choices=[(BACKEND_LABELS[b], b) for b in options.backends],
                        value=options.backends[0],
                        label="回答方式 Backend",
                        elem_id="xinda-backend",
                    )
                    k = gr.Slider(1, 20, value=options.k, step=1, label="检索段落数 Passages (k)")
                    clear_button = gr.Button(
                        "清空对话 Clear chat", size="sm", variant="stop", scale=0, min_width=120
                    )
                with gr.Accordion("添加文档 Add a document", open=False, elem_id="xinda-upload"):
                    if not options.uploads_enabled:
                        gr.Markdown(
                            "上传已关闭：服务器未设置 `XINDA_API_KEY`。"
                            " Uploads are off: the server has no `XINDA_API_KEY`."
                        )
                    upload_file = gr.File(
                        label=f"txt, md, html, pdf, docx · ≤ {options.max_upload_mb} MB",
                        file_types=list(UPLOAD_TYPES),
                        type="filepath",
                        elem_id="xinda-upload-file",
                        height=140,
                    )
                    with gr.Row():
                        api_key = gr.Textbox(
                            type="password",
                            label="API key (XINDA_API_KEY)",
                            elem_id="xinda-api-key",
                            scale=3,
                        )
                        upload_button = gr.Button(
                            "上传并索引 Upload & index",
                            variant="primary",
                            interactive=options.uploads_enabled,
                            elem_id="xinda-upload-button",
                            scale=1,
                        )
                    upload_status = gr.HTML("", elem_id="xinda-upload-status", js_on_load=None)
            with gr.Column(scale=2, min_width=360, elem_id="xinda-sources-col"):
                gr.Markdown("### 来源 Sources")
                sources = gr.HTML(EMPTY_PANEL, elem_id="xinda-sources", js_on_load=None)

        outputs = [chat, sources, turns_state, question]
        ask_options: dict[str, Any] = {
            "fn": ask,
            "outputs": outputs,
            "show_progress": "hidden",  # the chat shows its own status while it streams
            "concurrency_limit": state.settings.llm_queue,
            "concurrency_id": "ask",
            "api_visibility": "private",
        }
        question.submit(inputs=[question, turns_state, backend, k], **ask_options)
        for button in example_buttons:
            button.click(inputs=[button, turns_state, backend, k], **ask_options)
        clear_button.click(clear, outputs=outputs, api_visibility="private")
        chat.clear(clear, outputs=outputs, api_visibility="private")  # the chat's own 🗑
        upload_button.click(
            upload,
            inputs=[upload_file, api_key],
            outputs=[upload_status, upload_file],
            concurrency_limit=1,  # one index writer at a time
            api_visibility="private",
        )
    return page


def upload_from_page(
    settings: Settings, path: str | None, key: str | None, progress: Progress | None = None
) -> AddedDocument:
    """The page's upload: the key first, then the file Gradio saved, through the same code
    path as POST /v1/documents. Gradio's copy is deleted once read; the index keeps the text."""
    check_api_key(settings.api_key, key.strip() if key else None)
    if not path:
        raise BadInput("choose a file first / 请先选择文件")
    file = Path(path)
    name = upload_name(file.name)
    limit = settings.max_upload_mb * 1024 * 1024
    try:
        if file.stat().st_size > limit:
            raise PayloadTooLarge(f"file over {settings.max_upload_mb} MB")
        data = file.read_bytes()
    except FileNotFoundError:
        raise BadInput("the file is no longer on the server; choose it again") from None
    finally:
        file.unlink(missing_ok=True)
    return add_document(settings, data, name, progress)


def available_backends(default: str, local_model: Path, openai_configured: bool) -> tuple[str, ...]:
    """The answer backends this server can run, the configured default first."""
    usable = ["extractive"]
    if local_model.is_file():
        usable.append("local")
    if openai_configured:
        usable.append("openai")
    return (default, *[b for b in usable if b != default]) if default in usable else tuple(usable)
