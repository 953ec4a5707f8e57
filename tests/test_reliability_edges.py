"""Auth, CORS, error bodies, structured logs (issue 8, B9 and item 10) and the ban on
unsafe deserialisation (B6's neighbour): attacks through the real app on a tiny index."""

from __future__ import annotations

import ast
import hmac
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba
import pytest
from fastapi.testclient import TestClient
from tiny_index import build_tiny_home

import service.api
import service.documents
from service.api import create_app
from service.log_format import configure_json_logging
from service.settings import Settings

KEY = "edge-key-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("ingest", "index", "service", "ui", "evals")
FILES = {"file": ("a.md", b"# t\n\ntext.\n", "text/markdown")}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    base = tmp_path_factory.mktemp("edges")
    return build_tiny_home(base / "home", models_dir, base / "docs")


def _client(home: Path, **overrides: Any) -> TestClient:
    settings = Settings(**{"home": home, "llm": "extractive", "api_key": KEY, **overrides})
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture()
def client(home: Path) -> Iterator[TestClient]:
    with _client(home) as c:
        yield c


# -- auth --------------------------------------------------------------------------------
def test_document_routes_refuse_missing_and_wrong_keys(client: TestClient) -> None:
    near_miss = KEY[:-1] + ("x" if KEY[-1] != "x" else "y")
    for headers, status in [
        ({}, 401),
        ({"X-API-Key": ""}, 401),
        ({"X-API-Key": near_miss}, 403),
        ({"X-API-Key": KEY + " "}, 403),
        ({"X-API-Key": KEY.upper()}, 403),
    ]:
        assert client.post("/v1/documents", files=FILES, headers=headers).status_code == status
        assert client.delete("/v1/documents/nope", headers=headers).status_code == status


def test_the_key_is_compared_in_constant_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(service.documents.hmac, "compare_digest", recording)
    assert client.delete("/v1/documents/nope", headers={"X-API-Key": "guess"}).status_code == 403
    assert calls == [(b"guess", KEY.encode())]
    assert client.delete("/v1/documents/nope", headers={"X-API-Key": KEY}).status_code == 404
    assert len(calls) == 2
    for module in (service.api, service.documents):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert not re.search(r"(?:x_api_key|given)\s*[!=]=|==\s*(?:x_api_key|given)", source), (
            "plain == on the key"
        )


# -- CORS --------------------------------------------------------------------------------
def _preflight(client: TestClient, origin: str) -> dict[str, str]:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-API-Key",
    }
    response = client.options("/v1/documents", headers=headers)
    return {k.lower(): v for k, v in response.headers.items()}


def test_cors_is_closed_unless_configured(home: Path, client: TestClient) -> None:
    assert "access-control-allow-origin" not in _preflight(client, "https://evil.example")
    simple = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in simple.headers}
    with _client(home, cors_origins="https://ok.example") as open_to_one:
        assert "access-control-allow-origin" not in _preflight(open_to_one, "https://evil.example")
        allowed = _preflight(open_to_one, "https://ok.example")
        assert allowed.get("access-control-allow-origin") == "https://ok.example"


# -- errors and logs ----------------------------------------------------------------------
SECRET = "/srv/secret/xinda/internal.py"


def _explode(*_: Any, **__: Any) -> Any:
    raise RuntimeError(f"boom in {SECRET} line 42")


@pytest.fixture()
def log_lines() -> Iterator[io.StringIO]:
    handler = configure_json_logging()
    stream = io.StringIO()
    handler.setStream(stream)
    yield stream
    import logging

    logging.getLogger("xinda").removeHandler(handler)


def test_internal_errors_are_generic_and_logged_with_the_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    state = client.app.state.xinda  # type: ignore[attr-defined]
    monkeypatch.setattr(state.pipeline, "search", _explode)
    monkeypatch.setattr(state.pipeline, "stream", _explode)
    for path, body in [("/v1/search", {"query": "芯片"}), ("/v1/ask", {"question": "芯片"})]:
        response = client.post(path, json=body, headers={"X-Request-ID": "req-edge-1"})
        assert response.status_code == 500
        assert response.json() == {
            "error": {"code": "internal_error", "message": "internal server error"}
        }
        assert SECRET not in response.text and "Traceback" not in response.text
        assert response.headers["X-Request-ID"] == "req-edge-1"
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert records, "no log lines"
    errors = [r for r in records if r["level"] == "error"]
    assert errors and all(r.get("request_id") == "req-edge-1" for r in errors)
    assert SECRET in errors[0]["exc"]  # the detail stays in the server's log
    requests = [r for r in records if r["message"] == "request"]
    assert {(r["path"], r["status"], r["request_id"]) for r in requests} == {
        ("/v1/search", 500, "req-edge-1"),
        ("/v1/ask", 500, "req-edge-1"),
    }


def test_every_response_carries_a_clean_request_id(client: TestClient) -> None:
    fresh = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", fresh)
    hostile = client.get("/healthz", headers={"X-Request-ID": 'x"}\n{"level":"forged'})
    assert re.fullmatch(r"[0-9a-f]{16}", hostile.headers["X-Request-ID"])


def test_error_bodies_for_bad_requests_name_no_internals(client: TestClient) -> None:
    for response in [
        client.post("/v1/search", content=b"{not", headers={"Content-Type": "application/json"}),
        client.post("/v1/search", json={"query": "x", "k": "many"}),
        client.get("/v1/nope"),
        client.delete("/v1/documents/x" * 500, headers={"X-API-Key": KEY}),
    ]:
        assert 400 <= response.status_code < 500
        text = response.text
        assert "Traceback" not in text and str(ROOT) not in text and "site-packages" not in text
        assert set(response.json()) == {"error"}


# -- no unsafe deserialisation -----------------------------------------------------------
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve"}
UNSAFE_LOADERS = {"torch", "joblib", "pickle", "dill", "marshal", "cloudpickle"}


def unsafe_uses(source: str) -> list[int]:
    """Line numbers of code that can deserialise into arbitrary objects (code, not prose)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names.append(getattr(node, "module", None) or "")
            if any(n.split(".")[0] in UNSAFE_MODULES | {"joblib"} for n in names):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in {"load", "loads", "load_local"}
                and isinstance(func.value, ast.Name)
            ):
                if func.value.id in UNSAFE_LOADERS:
                    lines.append(node.lineno)
                loader = next((k.value for k in node.keywords if k.arg == "Loader"), None)
                if func.value.id == "yaml" and not (
                    isinstance(loader, ast.Name | ast.Attribute) and "Safe" in ast.unparse(loader)
                ):
                    lines.append(node.lineno)
            for kw in node.keywords:
                if kw.arg == "allow_dangerous_deserialization" or (
                    kw.arg == "allow_pickle"
                    and not (isinstance(kw.value, ast.Constant) and kw.value.value is False)
                ):
                    lines.append(node.lineno)
    return lines


def test_no_unsafe_deserialisation_in_the_product() -> None:
    offenders = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for n in unsafe_uses(source):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {source.splitlines()[n - 1]}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    "code",
    [
        "import pickle",
        "from pickle import loads",
        "import joblib",
        "np.load(f, allow_pickle=True)",
        "torch.load(p)",
        "joblib.load(p)",
        "FAISS.load_local(p, e, allow_dangerous_deserialization=True)",
        "yaml.load(s)",
        "marshal.loads(b)",
    ],
)
def test_the_ban_catches_what_it_bans(code: str) -> None:
    assert unsafe_uses(code), code


def test_the_ban_lets_safe_code_pass() -> None:
    safe = "np.load(f, allow_pickle=False)\njson.loads(s)\nyaml.load(s, Loader=yaml.SafeLoader)"
    assert unsafe_uses(safe) == []


def test_the_service_keeps_jiebas_cache_under_xinda_home(home: Path) -> None:
    jieba.dt.tmp_dir = None  # as a fresh process has it
    with _client(home):
        assert Path(jieba.dt.tmp_dir) == home / "cache"
