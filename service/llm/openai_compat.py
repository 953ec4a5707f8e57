"""A Generator over any OpenAI-compatible chat completions server (llama.cpp, vLLM, OpenAI)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import openai

from ingest.errors import BackendTimeout, BackendUnavailable
from service.llm.base import GenerationOptions, Message

# Local servers ignore the key, but the client refuses to start without one.
_PLACEHOLDER_KEY = "not-needed"


class OpenAIGenerator:
    """Chat completions over HTTP through the official `openai` client."""

    name = "openai"
    can_stream = True

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.timeout_s = timeout_s
        self._api_key = api_key or _PLACEHOLDER_KEY
        self._client = openai.OpenAI(
            base_url=base_url, api_key=self._api_key, timeout=timeout_s, max_retries=max_retries
        )

    def __repr__(self) -> str:
        # The default repr would show nothing secret, but say so explicitly: never the key.
        return f"OpenAIGenerator(base_url={self.base_url!r}, model={self.model!r})"

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        """Yield the answer text piece by piece as the server sends it."""
        timeout = min(self.timeout_s, options.timeout_s)
        # httpx's timeout bounds each read, not the whole answer; the deadline bounds that.
        deadline = time.monotonic() + timeout
        try:
            chunks = self._client.chat.completions.create(
                **self._request(messages, options), stream=True, timeout=timeout
            )
            with chunks:
                for chunk in chunks:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
                    if time.monotonic() > deadline:
                        raise BackendTimeout(
                            f"LLM server at {self.base_url} did not finish within {timeout:g}s"
                        )
        except openai.OpenAIError as exc:
            raise self._translate(exc, timeout) from None

    def complete(self, messages: Sequence[Message], options: GenerationOptions) -> str:
        """The whole answer at once."""
        timeout = min(self.timeout_s, options.timeout_s)
        try:
            response = self._client.chat.completions.create(
                **self._request(messages, options), stream=False, timeout=timeout
            )
        except openai.OpenAIError as exc:
            raise self._translate(exc, timeout) from None
        if not response.choices:
            raise BackendUnavailable(f"LLM server at {self.base_url} returned no choices")
        return response.choices[0].message.content or ""

    def _request(self, messages: Sequence[Message], options: GenerationOptions) -> dict[str, Any]:
        # Role strings are the OpenAI ones already (base.Role), so the dicts pass as they are.
        chat = [{"role": m.role, "content": m.content} for m in messages]
        request: dict[str, Any] = {
            "model": self.model,
            "messages": chat,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
        }
        if options.stop:
            request["stop"] = list(options.stop)
        return request

    def _translate(self, exc: openai.OpenAIError, timeout: float) -> Exception:
        """Map an `openai` error to XinDa's hierarchy; the message names the URL, never the key."""
        where = f"LLM server at {self.base_url}"
        # APITimeoutError subclasses APIConnectionError, so it must be checked first.
        if isinstance(exc, openai.APITimeoutError):
            return BackendTimeout(f"{where} did not answer within {timeout:g}s")
        if isinstance(exc, openai.APIConnectionError):
            return BackendUnavailable(f"cannot reach {where}: is it running?")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            # The server's own message may echo part of the key, so it is left out.
            return BackendUnavailable(
                f"{where} rejected the API key (HTTP {exc.status_code}): check the configured key"
            )
        if isinstance(exc, openai.NotFoundError):
            return BackendUnavailable(
                f"{where} has no model {self.model!r} or no chat completions endpoint (HTTP 404)"
            )
        if isinstance(exc, openai.APIStatusError):
            detail = self._scrub(exc.message)[:200]
            return BackendUnavailable(f"{where} answered HTTP {exc.status_code}: {detail}")
        return BackendUnavailable(f"{where} failed: {self._scrub(str(exc))[:200]}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text
