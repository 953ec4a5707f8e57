"""The web page's logic without a browser: which backends it offers, and its upload
refusals before anything is parsed or indexed: the key (constant time, off without one),
the type, the size; Gradio's copy of the file does not linger."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import BadInput, XinDaError
from service.errors import Forbidden, PayloadTooLarge, Unauthorized, UnsupportedMedia
from service.settings import Settings
from ui.page import available_backends, upload_from_page

KEY = "page-key"


def _settings(tmp_path: Path, **over: object) -> Settings:
    return Settings(**{"home": tmp_path / "home", "api_key": KEY, **over})  # type: ignore[arg-type]


def _file(tmp_path: Path, name: str = "note.md", size: int = 20) -> Path:
    path = tmp_path / name
    path.write_bytes(b"#" * size)
    return path


@pytest.mark.parametrize(
    ("configured", "given", "error"),
    [
        ("", KEY, Forbidden),  # no key configured: uploads are off, as in the API
        (KEY, "", Unauthorized),
        (KEY, "wrong", Forbidden),
    ],
)
def test_the_key_is_checked_first_and_the_file_kept(
    tmp_path: Path, configured: str, given: str, error: type[XinDaError]
) -> None:
    path = _file(tmp_path)
    with pytest.raises(error):
        upload_from_page(_settings(tmp_path, api_key=configured), str(path), given)
    assert path.exists()  # a retry with the right key needs no new upload


def test_no_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="choose a file"):
        upload_from_page(_settings(tmp_path), None, KEY)


def test_unsupported_type(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMedia):
        upload_from_page(_settings(tmp_path), str(_file(tmp_path, "x.exe")), KEY)


def test_too_large_is_refused_and_deleted(tmp_path: Path) -> None:
    path = _file(tmp_path, size=1024 * 1024 + 1)
    with pytest.raises(PayloadTooLarge):
        upload_from_page(_settings(tmp_path, max_upload_mb=1), str(path), f" {KEY} ")
    assert not path.exists()


def test_empty_file_is_refused_and_deleted(tmp_path: Path) -> None:
    path = _file(tmp_path, size=0)
    with pytest.raises(BadInput, match="empty"):
        upload_from_page(_settings(tmp_path), str(path), KEY)
    assert not path.exists()


def test_a_vanished_file_says_to_choose_it_again(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="choose it again"):
        upload_from_page(_settings(tmp_path), str(tmp_path / "gone.md"), KEY)


@pytest.mark.parametrize(
    ("default", "gguf", "openai", "expected"),
    [
        ("local", True, False, ("local", "extractive")),
        ("local", False, False, ("extractive",)),
        ("extractive", True, True, ("extractive", "local", "openai")),
        ("openai", False, True, ("openai", "extractive")),
    ],
)
def test_only_configured_backends_are_offered(
    tmp_path: Path, default: str, gguf: bool, openai: bool, expected: tuple[str, ...]
) -> None:
    model = tmp_path / "model.gguf"
    if gguf:
        model.write_bytes(b"GGUF")
    assert available_backends(default, model, openai) == expected
