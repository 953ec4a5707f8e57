"""Request body limits enforced while the body streams in.

The `Content-Length` check in the app refuses honest oversized requests at once; a chunked
upload has no length, and the multipart parser would otherwise spool all of it to disk
before the route could look at its size. Counting bytes as they arrive stops it at the limit.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response


class BodySizeLimit:
    """ASGI middleware: answer 413 once a body passes its path's limit.

    Past the limit the app is told the client went away (so the multipart parser stops
    reading) and whatever it answers is dropped in favour of the 413.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        seen = 0
        too_large = False
        started = False

        async def counted() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            reply = error_response(
                413, "payload_too_large", f"request body over {limit // 1024} KiB"
            )
            await reply(scope, receive, send)
