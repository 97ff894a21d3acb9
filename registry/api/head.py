"""HEAD on every GET route. Litestar's `@get` handlers answer GET only (HEAD is 405), and its
middleware runs after routing; so the app itself takes a HEAD request as the GET it stands for and
sends the response's start (status and every header, Content-Length included) without the body."""

from __future__ import annotations

from typing import Any

from litestar import Litestar


class HeadAsGet(Litestar):
    """The registry's Litestar app: HEAD is answered by the GET route of the same path."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await super().__call__(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Any) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                # The first body message ends the response: a stream (the event feed) is not run.
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def then_gone() -> Any:
            # Once the (empty) response is sent the client is done: a streaming handler stops.
            if finished:
                return {"type": "http.disconnect"}
            return await receive()

        await super().__call__({**scope, "method": "GET"}, then_gone, headers_only)
