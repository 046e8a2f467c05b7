"""A loopback OpenAI-compatible chat completions server for driving the real ``openai`` client.

Each test scripts the replies: text (a normal completion), an HTTP status (429, 500, ...),
``HANG`` (never answers in time) or ``MALFORMED`` (a 200 that is not a completion). When the
script runs out, ``default`` answers. ``delay`` slows every answer down (a slow model). Every
request body is kept for assertions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback import serve

HANG = "<hang>"
MALFORMED = "<malformed>"
Reply = str | int


@dataclass
class FakeOpenAI:
    base_url: str = ""
    script: list[Reply] = field(default_factory=list)
    default: Callable[[dict[str, Any]], Reply] = lambda _body: "NOT_COVERED"
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0

    def user_prompts(self) -> list[str]:
        return [r["messages"][-1]["content"] for r in self.requests]

    def all_prompts(self) -> list[str]:
        """Every message of every request (system, earlier turns and user)."""
        return [m["content"] for r in self.requests for m in r["messages"]]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        reply = self.script.pop(0) if self.script else self.default(body)
        await asyncio.sleep(self.delay)
        if reply == HANG:
            await asyncio.sleep(3)  # longer than the tests' client timeout
        if reply == MALFORMED:
            return web.json_response({"id": "x", "object": "chat.completion", "choices": []})
        if isinstance(reply, int):
            return web.json_response(
                {"error": {"message": "scripted failure", "type": "server_error"}},
                status=reply,
                headers={"retry-after-ms": "10"},
            )
        return web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        )


def leave_answers(body: dict[str, Any]) -> str:
    """A model that knows the test leave policy: rewrites follow-ups, answers with a citation."""
    prompt = body["messages"][-1]["content"]
    if "Employee:" in prompt:  # the follow-up rewrite
        return "Does the 25 days of annual leave include public holidays?"
    return "Everyone gets 25 days of annual leave plus public holidays [1]."


@asynccontextmanager
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake._handle)
    async with serve(app) as base_url:
        fake.base_url = f"{base_url}/v1"
        yield fake
