"""The fake OpenAI server's streamed replies (``"stream": true``): server-sent events of
``chat.completion.chunk`` objects, as OpenAI sends them, then ``data: [DONE]``.

A reply is cut into ``chunk_chars`` pieces sent ``pause`` seconds apart. ``STALL`` in a reply
is a model stalling there: the text before it is sent, then nothing for longer than the
tests' client timeout, and the stream is never finished.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

STALL = "<stall>"
STALL_SECONDS = 3.0


async def stream_reply(
    request: web.Request, body: dict[str, Any], reply: str, *, chunk_chars: int, pause: float
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    text, stalls, _ = reply.partition(STALL)
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
            "model": body["model"]}  # fmt: skip

    async def send(payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps({**base, **payload})
        await response.write(f"data: {data}\n\n".encode())

    for start in range(0, len(text), chunk_chars):
        delta = {"content": text[start : start + chunk_chars]}
        if start == 0:
            delta["role"] = "assistant"
        await send({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        await asyncio.sleep(pause)
    if stalls:
        await asyncio.sleep(STALL_SECONDS)
        return response
    await send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        await send({"choices": [], "usage": usage})
    await send("[DONE]")
    await response.write_eof()
    return response
