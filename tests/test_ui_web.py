"""The chat page in a real headless Chromium against a real uvicorn server over the corpus
index (extractive backend): streaming sources then answer, zh and en, [n] → card, a
refusal with the closest passages, a follow-up with history, and an upload that is cited.

Each expectation comes from the same server's pipeline run in-process, not a fixed string.
Screenshots go to test-artifacts/ui/; timings are printed (run with -s to see them) and
written to test-artifacts/ui/timings.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from evals.server_proc import free_port
from service.api import ServiceState
from service.language import answer_language_ok
from service.llm.base import Message
from service.results import Answer
from service.settings import Settings
from ui.web import create_server_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "ui"
KEY = "ui-test-key-42"
ZH_Q = "先进封装的主要技术有哪些？"
EN_Q = "What is a chiplet?"
FOLLOW_UP = "这些技术由哪些厂商掌握？"
NA_ZH = "台积电2024年在南京工厂的月产能是多少片？"
UPLOAD_NAME = "ui-upload-note.md"
UPLOAD_TEXT = "# 芯答界面测试\n\n2026年，示例公司量子封装平台的良率达到了99.7%。\n"
UPLOAD_Q = "示例公司量子封装平台的良率是多少？"
TIMINGS: dict[str, dict[str, float]] = {}


@dataclass(frozen=True)
class RunningServer:
    """The test server's address and its in-process service state."""

    base: str
    state: ServiceState


def _chromium() -> str:
    """Chromium's path; skip without it on a developer machine, fail in CI."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: apt-get install chromium fonts-wqy-zenhei")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this")
    return path


@pytest.fixture(scope="module")
def server(corpus_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A uvicorn server on a free loopback port over a private copy of the corpus index."""
    home = tmp_path_factory.mktemp("ui-home")
    shutil.copytree(corpus_home / "index", home / "index", symlinks=True)
    (home / "models").symlink_to((corpus_home / "models").resolve(), target_is_directory=True)
    settings = Settings(home=home, llm="extractive", api_key=KEY)
    app = create_server_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="ui-test-server", daemon=True)
    thread.start()
    for _ in range(300):
        if uv.started:
            break
        time.sleep(0.1)
    assert uv.started, "uvicorn did not start"
    state: ServiceState = app.state.xinda
    state.retriever()  # load the index before anything is timed
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", state)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        if TIMINGS:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    """The chat page, freshly loaded; fails the test if it fetched anything off this host."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    tab = context.new_page()
    outside: list[str] = []
    tab.on(
        "request",
        lambda r: (
            None if r.url.startswith((server.base, "data:", "blob:")) else outside.append(r.url)
        ),
    )
    tab.goto(server.base + "/ui/")
    tab.wait_for_selector("#xinda-question textarea", timeout=60_000)
    yield tab
    context.close()
    assert not outside, f"the page fetched from other hosts: {outside[:5]}"


def _shot(tab: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _ask(tab: Page, question: str, turn: int, label: str) -> str:
    """Type a question, press Enter; time the first card and the full answer; the answer."""
    box = tab.locator("#xinda-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    tab.locator(f"#xinda-t{turn} .xinda-card").first.wait_for(state="visible", timeout=60_000)
    first_card = time.perf_counter() - started
    tab.locator(f"#xinda-t{turn}.xinda-done").wait_for(state="attached", timeout=120_000)
    done = time.perf_counter() - started
    TIMINGS[label] = {"first_source_card_s": round(first_card, 3), "full_answer_s": round(done, 3)}
    print(f"\n[ui timing] {label}: first source card {first_card:.2f} s, answer {done:.2f} s")
    bubble = tab.locator("#xinda-chat .xinda-answer, #xinda-chat .xinda-refused").last
    return str(bubble.inner_text()).strip()


def _assert_cards_match(tab: Page, turn: int, expected: Answer) -> None:
    """The page's cards show the files and lines the pipeline cites in-process."""
    assert expected.citations, "the in-process pipeline should answer this question"
    for c in expected.citations:
        card = tab.locator(f"#xinda-t{turn}-c{c.n}")
        meta = str(card.locator(".xinda-meta").text_content())
        chunk = c.hit.chunk
        assert chunk.source in meta
        assert f"{chunk.line_start}–{chunk.line_end}" in meta


def _strip_markers(text: str) -> str:
    return re.sub(r"\[\d+\]", "", text)


def test_root_redirects_to_the_page_and_the_api_still_answers(server: RunningServer) -> None:
    home = httpx.get(server.base + "/", follow_redirects=False)
    assert home.status_code in (302, 307) and home.headers["location"].endswith("/ui/")
    assert httpx.get(server.base + "/healthz").json() == {"status": "ok"}
    page = httpx.get(server.base + "/ui/")
    assert page.status_code == 200 and "gradio" in page.text.lower()


def test_chinese_question_then_click_on_a_citation(page: Page, server: RunningServer) -> None:
    text = _ask(page, ZH_Q, 1, "zh extractive")
    expected = server.state.pipeline.answer(ZH_Q, k=5, backend="extractive")
    assert text and answer_language_ok(_strip_markers(text), "zh")
    assert expected.answer.split("[")[0][:12] in text  # same answer as in-process
    _assert_cards_match(page, 1, expected)
    assert page.locator("#xinda-t1 .xinda-passage mark").count() >= 1  # quoted sentences
    assert "BM25" in page.locator("#xinda-t1-c1 .xinda-why").inner_text()
    _shot(page, "zh-answer")

    page.locator("#xinda-sources-col").evaluate("el => el.scrollTop = el.scrollHeight")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.locator("#xinda-t1-c1").evaluate("el => el.open = false")
    page.locator('#xinda-chat a.xinda-cite[href="#xinda-t1-c1"]').first.click()
    card = page.locator("#xinda-t1-c1")
    page.wait_for_function("document.getElementById('xinda-t1-c1').open === true")
    expect(card.locator(".xinda-passage")).to_be_in_viewport(timeout=5_000)
    _shot(page, "zh-clicked-citation-1")


def test_english_question(page: Page, server: RunningServer) -> None:
    text = _ask(page, EN_Q, 1, "en extractive")
    expected = server.state.pipeline.answer(EN_Q, k=5, backend="extractive")
    assert text and answer_language_ok(_strip_markers(text), "en")
    _assert_cards_match(page, 1, expected)
    assert "Why this passage" in page.locator("#xinda-t1-c1 .xinda-why").inner_text()
    _shot(page, "en-answer")


def test_follow_up_is_answered_with_the_history(page: Page, server: RunningServer) -> None:
    first = server.state.pipeline.answer(ZH_Q, k=5, backend="extractive")
    history = [Message("user", ZH_Q), Message("assistant", first.answer)]
    expected = server.state.pipeline.answer(FOLLOW_UP, k=5, backend="extractive", history=history)
    _ask(page, ZH_Q, 1, "zh extractive (before follow-up)")
    _ask(page, FOLLOW_UP, 2, "zh follow-up extractive")
    why = str(page.locator("#xinda-t2 .xinda-why").first.text_content())
    assert expected.searched and expected.searched.split()[0] in why  # the rewritten query
    if expected.refused:
        assert page.locator("#xinda-t2").get_attribute("data-state") == "refused"
    else:
        _assert_cards_match(page, 2, expected)
    assert page.locator(".xinda-earlier #xinda-t1").count() == 1  # first turn folded below
    _shot(page, "zh-follow-up")
    page.get_by_role("button", name="清空对话 Clear chat").click()
    page.locator(".xinda-empty").wait_for(timeout=10_000)


def test_refusal_says_so_and_shows_the_closest_passages(page: Page, server: RunningServer) -> None:
    text = _ask(page, NA_ZH, 1, "zh refusal extractive")
    expected = server.state.pipeline.answer(NA_ZH, k=5, backend="extractive")
    assert expected.refused
    assert text == expected.answer
    assert "文档中没有这个问题的答案" in page.locator("#xinda-t1").inner_text()
    assert page.locator("#xinda-t1 .xinda-card").count() == len(expected.hits)
    _shot(page, "zh-refusal")


def test_upload_needs_the_key_and_the_new_file_is_cited(
    page: Page, server: RunningServer, tmp_path: Path
) -> None:
    note = tmp_path / UPLOAD_NAME
    note.write_text(UPLOAD_TEXT, encoding="utf-8")
    page.get_by_role("button", name="添加文档 Add a document").click()
    page.locator("#xinda-upload-file input[type=file]").set_input_files(str(note))
    page.locator("#xinda-upload-file").get_by_text(UPLOAD_NAME).wait_for(timeout=30_000)
    status = page.locator("#xinda-upload-status")

    def upload(key: str, outcome: str) -> str:
        page.locator("#xinda-api-key input").fill(key)
        page.locator("#xinda-upload-button").click()
        status.get_by_text(outcome).wait_for(timeout=180_000)
        return str(status.inner_text())

    assert "wrong API key" in upload("not-the-key", "✗")  # the file stays selected
    started = time.perf_counter()
    summary = upload(KEY, "✓")
    assert "✓" in summary and UPLOAD_NAME in summary, summary
    print(f"\n[ui timing] upload + index of a small .md: {time.perf_counter() - started:.2f} s")
    _shot(page, "upload-done")

    text = _ask(page, UPLOAD_Q, 1, "zh uploaded fact extractive")
    expected = server.state.pipeline.answer(UPLOAD_Q, k=5, backend="extractive")
    assert expected.citations and expected.citations[0].hit.chunk.source == UPLOAD_NAME
    assert "99.7%" in text
    assert UPLOAD_NAME in str(page.locator("#xinda-t1-c1 .xinda-meta").text_content())
    _shot(page, "upload-cited")
