"""Reading a `text/event-stream` body: the client side of the streamed `/v1/ask`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event, data) for each event in the lines of an event stream, as each one ends.

    An event ends at a blank line; comment lines (`: ping`) are skipped; several `data:`
    lines join with newlines, as the SSE spec says. An event without a name is "message".
    """
    event, data = "", list[str]()
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data or event:
                yield event or "message", "\n".join(data)
            event, data = "", list[str]()
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data or event:
        yield event or "message", "\n".join(data)
