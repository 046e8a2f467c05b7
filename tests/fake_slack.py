"""A loopback fake of the Slack Web API, and builders for the signed requests Slack sends a bot.

``FakeSlack`` answers the real ``slack_sdk`` ``AsyncWebClient`` pointed at ``slack.api_url``.
It speaks the wire protocol that client uses: ``{api_url}{method}`` by POST (JSON body,
form body, or only a query string) or GET (query string); the token as ``Authorization:
Bearer``; HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``; HTTP 429
with ``Retry-After`` in whole seconds for rate limits. Arguments from all three places are
merged into one dict. It keeps channel histories, reactions, hosted files, the bodies posted
to response URLs (Bolt's ``respond()``) and every call, and it can fail, rate-limit or slow
down the next calls of a method. Streamed replies (``chat.startStream``/``appendStream``/
``stopStream``) become messages in the history, refused as Slack refuses them: outside a DM
without ``recipient_user_id`` and ``recipient_team_id``, past ``MARKDOWN_TEXT_LIMIT``, or once
stopped (``message_not_in_streaming_state``); ``assistant.threads.setStatus`` calls are kept
in ``statuses``. An assistant thread's suggested prompts (``assistant.threads.setSuggestedPrompts``:
one to ``SUGGESTED_PROMPTS_LIMIT`` prompts, each with a non-empty ``title`` and ``message``) and
its title (``assistant.threads.setTitle``) are kept in ``prompts`` and ``titles`` by
``(channel, thread_ts)``; both need a DM channel (``D…``), as assistant threads are DMs.
Ephemeral messages are kept in ``ephemeral``, by ``message_ts``: Slack never returns them from
history, so only their poster and the fake know them. A ``context_actions`` block (the only
block Slack's ``feedback_buttons`` may sit in) is checked against ``slack_sdk``'s models of it
(its fields, at most five elements, each a ``feedback_buttons`` or ``icon_button`` whose
buttons have a ``plain_text`` text and a value): a message with one Slack would not take is
refused with ``invalid_blocks``, as Slack refuses it.

Deliberate simplifications: any channel id accepts posts; a call with no token gets
``not_authed`` and a wrong one ``invalid_auth`` (as Slack does); ``chat.getPermalink`` answers
for messages it never saw (the bot may link events the fake was not told about); a file
download without the bot token gets 403 (real Slack answers 200 with an HTML login page,
which would only make a test fail later and less clearly). ``conversations.info`` describes
a known channel as public and not shared unless ``channel_flags`` says otherwise (Slack's
``is_private``, ``is_shared``, ``is_ext_shared``, ``is_org_shared``, ``is_pending_ext_shared``).

Socket Mode: ``apps.connections.open`` (with the app-level token ``APP_TOKEN`` only) hands out
a ``ws://`` URL on the same server. A client connecting there gets Slack's ``hello``;
``socket_event`` pushes an ``events_api`` envelope to the newest open connection (Slack sends
each envelope to one of an app's connections) and ``socket_acks`` records the envelope ids the
client acknowledges. Pings are answered; closing the fake closes the sockets first.

The module-level builders produce Events API envelopes, slash command and ``block_actions``
bodies shaped like Slack's, and ``signed_headers`` signs them as Slack does, so tests can post
them to the bot's real ``/slack/events`` endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.web_request import FileField
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from tests.environment import core_environment
from tests.loopback import serve

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"
TEAM_DOMAIN = "example"
APP_ID = "A0001"
SIGNING_SECRET = "test-signing-secret"
VERIFICATION_TOKEN = "legacy-verification-token"
FORM = "application/x-www-form-urlencoded"
SOCKET_MODE_PATH = "/socket-mode"

# Web API methods that take the app-level token instead of the bot token.
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

Outcome = Literal["pending", "ok", "error", "rate_limited"]

_ts_counter = itertools.count(1)

# Arguments Slack accepts as JSON text inside a form or query string.
_JSON_ARGS = ("blocks", "attachments", "metadata")

_FILETYPES = {
    "md": "markdown",
    "txt": "text",
    "html": "html",
    "htm": "html",
    "pdf": "pdf",
    "docx": "docx",
    "csv": "csv",
    "json": "json",
}


# assistant.threads.setSuggestedPrompts takes at most this many prompts.
SUGGESTED_PROMPTS_LIMIT = 4
# chat.startStream/appendStream/stopStream take at most this much markdown_text per call.
MARKDOWN_TEXT_LIMIT = 12_000


def new_ts() -> str:
    """A unique message timestamp; later calls give larger ones (shared with ``FakeSlack``)."""
    return f"1700000100.{next(_ts_counter):06d}"


@dataclass(frozen=True)
class SlackCall:
    """One Web API call as the fake received it (``args`` merged from query, form and JSON)."""

    method: str
    args: dict[str, Any]
    token: str | None
    outcome: Outcome = "pending"
    error: str | None = None
    # When it arrived (``time.perf_counter``), for the benchmarks' latencies.
    at: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class _Fail:
    error: str


@dataclass(frozen=True)
class _RateLimit:
    retry_after: int


class _Refused(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class _HostedFile:
    info: dict[str, Any]
    content: bytes


@dataclass
class FakeSlack:
    """The fake workspace: state that tests seed and inspect, and the Web API handlers."""

    base_url: str = ""
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    calls: list[SlackCall] = field(default_factory=list)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reactions: set[tuple[str, str, str]] = field(default_factory=set)
    members: dict[str, list[str]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # e-mail -> member id
    channel_flags: dict[str, dict[str, bool]] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    socket_acks: list[str] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    prompts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    titles: dict[tuple[str, str], str] = field(default_factory=dict)
    ephemeral: dict[str, dict[str, Any]] = field(default_factory=dict)
    _responses_by_key: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _files: dict[str, _HostedFile] = field(default_factory=dict)
    _faults: dict[str, deque[_Fail | _RateLimit]] = field(default_factory=dict)
    _delays: dict[str, float] = field(default_factory=dict)
    _held: dict[str, asyncio.Event] = field(default_factory=dict)
    _tickets: set[str] = field(default_factory=set)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``AsyncWebClient`` (it joins method names onto it)."""
        return f"{self.base_url}/api/"

    # ---- inspection

    def calls_to(self, method: str) -> list[SlackCall]:
        """Successful calls of ``method``, in arrival order."""
        return [c for c in self.calls if c.method == method and c.outcome == "ok"]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Arguments of successful ``chat.postMessage`` calls (to ``channel``, if given)."""
        return [
            c.args
            for c in self.calls_to("chat.postMessage")
            if channel is None or c.args.get("channel") == channel
        ]

    def answers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The bot's messages as they stand, posted or streamed (and stopped), oldest first."""
        return [
            m
            for name, messages in self.history.items()
            if channel is None or name == channel
            for m in messages
            if m.get("bot_id") == BOT_ID and not m.get("streaming")
        ]

    def ephemerals(self) -> list[dict[str, Any]]:
        """Arguments of successful ``chat.postEphemeral`` calls."""
        return [c.args for c in self.calls_to("chat.postEphemeral")]

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections are open now."""
        return len(self._sockets)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """The stored message ``ts`` in ``channel`` (as Slack would return it)."""
        found = self._find(channel, ts)
        if found is None:
            raise KeyError(f"no message {ts} in {channel}")
        return dict(found)

    # The timeout is part of the contract so a failure can name what was awaited.
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Poll ``predicate`` every 20 ms until it holds; fail the test after ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() >= deadline:
                recent = ", ".join(f"{c.method}:{c.outcome}" for c in self.calls[-8:])
                raise AssertionError(
                    f"condition {getattr(predicate, '__qualname__', predicate)!s} still false "
                    f"after {timeout}s; last Slack calls: [{recent}]; "
                    f"{len(self.responses)} response_url posts"
                )
            await asyncio.sleep(0.02)

    # ---- seeding

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "UALICE",
        ts: str | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
    ) -> str:
        """Put a message in ``channel``'s history (a thread reply with ``thread_ts``)."""
        ts = ts or new_ts()
        msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts}
        msg["team"] = TEAM_ID
        if thread_ts:
            msg["thread_ts"] = thread_ts
        if bot_id:
            msg["bot_id"] = bot_id
        self.history.setdefault(channel, []).append(msg)
        return ts

    def remember(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store an event's message (from ``mention``/``message``) in history; returns it."""
        self.add_message(
            event["channel"],
            event.get("text", ""),
            user=event.get("user", "UALICE"),
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            bot_id=event.get("bot_id"),
        )
        return event

    def host_file(
        self, name: str, content: bytes, mimetype: str, *, user: str = "UALICE"
    ) -> dict[str, Any]:
        """Host ``content`` as a Slack file; returns the file object Slack would show."""
        file_id = f"F{len(self._files) + 1:04d}"
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        folder = f"{self.base_url}/files-pri/{TEAM_ID}-{file_id}"
        info: dict[str, Any] = {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": _FILETYPES.get(extension, extension or "binary"),
            "pretty_type": extension.upper() or "Binary",
            "user": user,
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "is_public": False,
            "size": len(content),
            "url_private": f"{folder}/{name}",
            "url_private_download": f"{folder}/download/{name}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{user}/{file_id}/{name}",
        }
        self._files[file_id] = _HostedFile(info, content)
        return dict(info)

    def response_url(self, key: str) -> str:
        """A response URL (as in slash command and interaction payloads) served by the fake."""
        return f"{self.base_url}/response/{key}"

    # ---- fault injection

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        self._faults.setdefault(method, deque()).extend(_Fail(error) for _ in range(times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``.

        slack_sdk parses the header with ``int()`` and sleeps that plus up to one second.
        """
        queue = self._faults.setdefault(method, deque())
        queue.extend(_RateLimit(retry_after) for _ in range(times))

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering every call of ``method``; 0 clears it."""
        if seconds > 0:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def hold(self, method: str) -> None:
        """Keep every call of ``method`` waiting until ``release(method)``."""
        self._held.setdefault(method, asyncio.Event())

    def release(self, method: str) -> None:
        if (gate := self._held.pop(method, None)) is not None:
            gate.set()

    # ---- HTTP handlers

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _bearer(request) or args.pop("token", None)
        index = len(self.calls)
        self.calls.append(SlackCall(method, args, token))

        def finish(outcome: Outcome, error: str | None = None) -> None:
            self.calls[index] = dataclasses.replace(self.calls[index], outcome=outcome, error=error)

        if seconds := self._delays.get(method):
            await asyncio.sleep(seconds)
        if (gate := self._held.get(method)) is not None:
            await gate.wait()
        queue = self._faults.get(method)
        fault = queue.popleft() if queue else None
        if isinstance(fault, _RateLimit):
            finish("rate_limited", "ratelimited")
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        try:
            handler = self._handlers().get(method)
            if handler is None:
                raise _Refused("unknown_method")
            if not token:
                raise _Refused("not_authed")
            if token != (self.app_token if method in _APP_TOKEN_METHODS else self.bot_token):
                raise _Refused("invalid_auth")
            if isinstance(fault, _Fail):
                raise _Refused(fault.error)
            payload = handler(args)
        except _Refused as refused:
            finish("error", refused.error)
            return web.json_response({"ok": False, "error": refused.error})
        finish("ok")
        return web.json_response({"ok": True, **payload})

    async def _download(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        hosted = self._files.get(slug.removeprefix(f"{TEAM_ID}-"))
        if hosted is None or request.match_info["name"] != hosted.info["name"]:
            return web.Response(status=404, text="file not found")
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(status=403, text="a bot token is required to download files")
        self.downloads.append(request.path)
        return web.Response(body=hosted.content, content_type=hosted.info["mimetype"])

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append(body)
        self._responses_by_key.setdefault(request.match_info["key"], []).append(body)
        return web.json_response({"ok": True})

    def responses_to(self, key: str) -> list[dict[str, Any]]:
        """The bodies posted to ``response_url(key)``, in order."""
        return self._responses_by_key.get(key, [])

    # ---- Socket Mode

    async def wait_for_socket(self, count: int = 1, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until at least ``count`` Socket Mode connections are open."""
        await self.wait_for(lambda: self.socket_connections >= count, timeout)

    async def socket_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str | None = None,
    ) -> str:
        """Send ``event`` as an ``events_api`` envelope over the newest open Socket Mode
        connection; returns the envelope id (``socket_acks`` gets it once the client acks).

        The payload is the ``event_callback`` envelope ``event_body`` builds. A redelivery has
        ``retry_attempt`` > 0 and, unless given, the reason ``"timeout"``.
        """
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise AssertionError("no Socket Mode client is connected")
        envelope_id = str(uuid.uuid4())
        if retry_reason is None:
            retry_reason = "timeout" if retry_attempt else ""
        await open_sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": "events_api",
                "payload": event_envelope(event, event_id=event_id),
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt,
                "retry_reason": retry_reason,
            }
        )
        return envelope_id

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid or missing ticket")
        ws = web.WebSocketResponse(autoping=True)  # answers the client's pings with pongs
        await ws.prepare(request)
        self._sockets.append(ws)
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": self.socket_connections,
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue  # ERROR ends the loop; CLOSE is answered by aiohttp
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
                    self.socket_acks.append(data["envelope_id"])
        except ConnectionError:
            pass  # the client went away mid-send
        finally:
            self._sockets.remove(ws)
        return ws

    async def _close_sockets(self, _app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # ---- Web API methods

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "apps.connections.open": self._connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "chat.startStream": self._start_stream,
            "chat.appendStream": self._append_stream,
            "chat.stopStream": self._stop_stream,
            "assistant.threads.setStatus": self._set_status,
            "assistant.threads.setSuggestedPrompts": self._set_suggested_prompts,
            "assistant.threads.setTitle": self._set_title,
            "reactions.add": self._reaction_add,
            "reactions.remove": self._reaction_remove,
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "conversations.members": self._members,
            "conversations.info": self._conversation_info,
            "usergroups.users.list": self._usergroup_users,
            "files.info": self._file_info,
            "users.lookupByEmail": self._lookup_by_email,
            "views.open": self._views_open,
        }

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Opens a modal: like Slack, refuses a missing trigger and the limits it checks."""
        _required(args, "trigger_id", "invalid_trigger_id")
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise _Refused("invalid_arguments")
        if len(view["title"]["text"]) > 24 or len(view.get("submit", {}).get("text", "")) > 24:
            raise _Refused("invalid_arguments")
        if len(view.get("blocks", [])) > 100 or len(view.get("private_metadata", "")) > 3000:
            raise _Refused("invalid_arguments")
        opened = {**view, "id": f"V{uuid.uuid4().hex[:10].upper()}"}
        self.views.append(opened)
        return {"view": opened}

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Example",
            "user": "supportbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        host = self.base_url.removeprefix("http://")
        return {"url": f"ws://{host}{SOCKET_MODE_PATH}?ticket={ticket}"}

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel", "channel_not_found")
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            raise _Refused("no_text")
        _check_blocks(args)
        ts = new_ts()
        msg: dict[str, Any] = {
            "type": "message",
            "ts": ts,
            "text": args.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
        }
        if args.get("blocks"):
            msg["blocks"] = args["blocks"]
        if args.get("thread_ts"):
            msg["thread_ts"] = str(args["thread_ts"])
            if parent := self._find(channel, msg["thread_ts"]):
                msg["parent_user_id"] = parent.get("user")
        self.history.setdefault(channel, []).append(msg)
        return {"channel": channel, "ts": ts, "message": dict(msg)}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel", "channel_not_found")
        user = _required(args, "user", "user_not_in_channel")
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            raise _Refused("no_text")
        _check_blocks(args)
        ts = new_ts()
        self.ephemeral[ts] = {"type": "message", "ts": ts, "channel": channel, "user": user,
                              "text": args.get("text", ""), "blocks": args.get("blocks") or [],
                              "thread_ts": args.get("thread_ts"), "bot_id": BOT_ID}  # fmt: skip
        return {"message_ts": ts}

    def _set_suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        """Up to ``SUGGESTED_PROMPTS_LIMIT`` prompts, each a ``title`` and a ``message``."""
        channel, thread_ts = self._assistant_thread(args)
        prompts = args.get("prompts")
        if isinstance(prompts, str):
            prompts = json.loads(prompts)
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= SUGGESTED_PROMPTS_LIMIT:
            raise _Refused("invalid_arguments")
        for prompt in prompts:
            if not isinstance(prompt, dict) or not prompt.get("title") or not prompt.get("message"):
                raise _Refused("invalid_arguments")
        self.prompts[(channel, thread_ts)] = {"title": args.get("title"), "prompts": prompts}
        return {}

    def _set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = self._assistant_thread(args)
        self.titles[(channel, thread_ts)] = _required(args, "title", "invalid_arguments")
        return {}

    def _assistant_thread(self, args: dict[str, Any]) -> tuple[str, str]:
        channel = _required(args, "channel_id", "channel_not_found")
        if not channel.startswith("D"):
            raise _Refused("channel_not_found")  # assistant threads live in the app's DM
        return channel, _required(args, "thread_ts", "invalid_thread_ts")

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel", "channel_not_found")
        ts = _required(args, "ts", "message_not_found")
        msg = self._find(channel, ts)
        if msg is None:
            raise _Refused("message_not_found")
        _check_blocks(args)
        if "text" in args:
            msg["text"] = args["text"]
        if "blocks" in args:
            msg["blocks"] = args["blocks"]
        msg["edited"] = {"user": BOT_USER_ID, "ts": new_ts()}
        return {"channel": channel, "ts": ts, "text": msg["text"], "message": dict(msg)}

    def _set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        """Records the status; an empty one clears it (as Slack does)."""
        channel = _required(args, "channel_id", "channel_not_found")
        thread_ts = _required(args, "thread_ts", "invalid_thread_ts")
        if "status" not in args:
            raise _Refused("invalid_arguments")
        self.statuses.append((channel, thread_ts, str(args["status"])))
        return {}

    def _start_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        """A streamed reply, as Slack starts one: in a thread, to one recipient outside DMs,
        at most ``MARKDOWN_TEXT_LIMIT`` characters per call."""
        channel = _required(args, "channel", "channel_not_found")
        thread_ts = _required(args, "thread_ts", "invalid_thread_ts")
        if not channel.startswith("D") and not (
            args.get("recipient_user_id") and args.get("recipient_team_id")
        ):
            raise _Refused("invalid_arguments")  # required when streaming to channels
        text = _markdown_text(args, required=False)
        ts = new_ts()
        msg: dict[str, Any] = {"type": "message", "ts": ts, "text": text, "thread_ts": thread_ts,
                               "user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID,
                               "team": TEAM_ID, "streaming": True}  # fmt: skip
        self.history.setdefault(channel, []).append(msg)
        return {"channel": channel, "ts": ts}

    def _append_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming(args)
        msg["text"] += _markdown_text(args, required=True)
        return {"channel": args["channel"], "ts": msg["ts"]}

    def _stop_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming(args)
        _check_blocks(args)
        msg["text"] += _markdown_text(args, required=False)
        if args.get("blocks"):
            msg["blocks"] = args["blocks"]
        msg["streaming"] = False
        return {"channel": args["channel"], "ts": msg["ts"], "message": dict(msg)}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        """Removes one of the bot's own messages, as ``chat.delete`` with a bot token may."""
        channel = _required(args, "channel", "channel_not_found")
        msg = self._find(channel, _required(args, "ts", "message_not_found"))
        if msg is None:
            raise _Refused("message_not_found")
        if msg.get("bot_id") != BOT_ID:
            raise _Refused("cant_delete_message")
        self.history[channel].remove(msg)
        return {"channel": channel, "ts": msg["ts"]}

    def _streaming(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel", "channel_not_found")
        msg = self._find(channel, _required(args, "ts", "invalid_ts"))
        if msg is None:
            raise _Refused("message_not_found")
        if not msg.get("streaming"):
            raise _Refused("message_not_in_streaming_state")
        return msg

    def _permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel", "channel_not_found")
        ts = _required(args, "message_ts", "message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        msg = self._find(channel, ts)
        if msg is not None and msg.get("thread_ts") not in (None, ts):
            link += f"?thread_ts={msg['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _reaction_add(self, args: dict[str, Any]) -> dict[str, Any]:
        key = self._reaction_key(args)
        if key in self.reactions:
            raise _Refused("already_reacted")
        self.reactions.add(key)
        return {}

    def _reaction_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        key = self._reaction_key(args)
        if key not in self.reactions:
            raise _Refused("no_reaction")
        self.reactions.discard(key)
        return {}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_channel(args)
        ts = _required(args, "ts", "thread_not_found")
        parent = self._find(channel, ts)
        if parent is None:
            raise _Refused("thread_not_found")
        replies = [m for m in self.history[channel] if m.get("thread_ts") == ts and m["ts"] != ts]
        head = dict(parent)
        if replies:
            head |= {"thread_ts": ts, "reply_count": len(replies)}
        thread = [head, *sorted((dict(m) for m in replies), key=_ts_key)]
        return _page(thread, args, "messages", default_limit=1000)

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_channel(args)
        inclusive = str(args.get("inclusive", "0")).lower() in ("1", "true")
        latest = Decimal(str(args["latest"])) if args.get("latest") else None
        oldest = Decimal(str(args["oldest"])) if args.get("oldest") else None

        def wanted(m: dict[str, Any]) -> bool:
            if m.get("thread_ts") not in (None, m["ts"]):
                return False  # thread replies are only in conversations.replies
            ts = Decimal(m["ts"])
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                return False
            return oldest is None or ts > oldest or (ts == oldest and inclusive)

        found = sorted((dict(m) for m in self.history[channel] if wanted(m)), key=_ts_key)
        return _page(found[::-1], args, "messages", default_limit=100)

    def _members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel", "channel_not_found")
        if channel not in self.members:
            raise _Refused("channel_not_found")
        page = _page(self.members[channel], args, "members", default_limit=100)
        page.pop("has_more")
        return page

    def _conversation_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel", "channel_not_found")
        if channel not in self.history and channel not in self.members:
            raise _Refused("channel_not_found")
        flags = {"is_private": False, "is_shared": False, "is_ext_shared": False,
                 "is_org_shared": False, "is_pending_ext_shared": False}  # fmt: skip
        info = {"id": channel, "name": _channel_name(channel), "is_channel": True, **flags}
        return {"channel": info | self.channel_flags.get(channel, {})}

    def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        group = _required(args, "usergroup", "no_such_subteam")
        if group not in self.usergroups:
            raise _Refused("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.emails.get(_required(args, "email", "users_not_found").lower())
        if user is None:
            raise _Refused("users_not_found")
        return {"user": {"id": user, "team_id": TEAM_ID}}

    def _file_info(self, args: dict[str, Any]) -> dict[str, Any]:
        hosted = self._files.get(_required(args, "file", "file_not_found"))
        if hosted is None:
            raise _Refused("file_not_found")
        return {"file": dict(hosted.info), "comments": [], "response_metadata": {"next_cursor": ""}}

    # ---- helpers

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.history.get(channel, []) if m["ts"] == ts), None)

    def _known_channel(self, args: dict[str, Any]) -> str:
        channel = _required(args, "channel", "channel_not_found")
        if channel not in self.history and channel not in self.members:
            raise _Refused("channel_not_found")
        self.history.setdefault(channel, [])
        return channel

    def _reaction_key(self, args: dict[str, Any]) -> tuple[str, str, str]:
        channel = _required(args, "channel", "channel_not_found")
        ts = _required(args, "timestamp", "message_not_found")
        name = _required(args, "name", "invalid_name")
        return (channel, ts, name)


@asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Serve a ``FakeSlack`` on a loopback port for the duration of the block."""
    slack = FakeSlack()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", slack._api)
    app.router.add_get("/files-pri/{slug}/download/{name}", slack._download)
    app.router.add_get("/files-pri/{slug}/{name}", slack._download)
    app.router.add_post("/response/{key}", slack._response)
    app.router.add_get(SOCKET_MODE_PATH, slack._socket)
    app.on_shutdown.append(slack._close_sockets)
    async with serve(app) as base_url:
        slack.base_url = base_url
        yield slack


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.content_type in (FORM, "multipart/form-data"):
            for key, value in (await request.post()).items():
                args[key] = value.file.read() if isinstance(value, FileField) else value
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str) and args[key].startswith(("[", "{")):
            args[key] = json.loads(args[key])
    return args


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token.strip():
        return None
    return token.strip()


def _required(args: dict[str, Any], name: str, error: str) -> str:
    value = args.get(name)
    if not value:
        raise _Refused(error)
    return str(value)


def _check_blocks(args: dict[str, Any]) -> None:
    """Refuses a ``context_actions`` block that ``slack_sdk``'s model of it does not take as
    it is (an unknown field, a missing one, an element of the wrong kind, too many)."""
    for block in args.get("blocks") or []:
        if not isinstance(block, dict) or block.get("type") != "context_actions":
            continue
        try:
            parsed = Block.parse(block)
            if parsed is None:
                raise _Refused("invalid_blocks")
            parsed.validate_json()
        except (SlackObjectFormationError, KeyError, TypeError) as e:
            raise _Refused("invalid_blocks") from e
        elements = block.get("elements") or []
        kinds = {e.get("type") for e in elements if isinstance(e, dict)}
        if not 1 <= len(elements) <= 5 or not kinds <= {"feedback_buttons", "icon_button"}:
            raise _Refused("invalid_blocks")
        if parsed.to_dict() != block:
            raise _Refused("invalid_blocks")  # a field the model does not know, or misspelt
        for element in elements:
            if element.get("type") == "feedback_buttons" and not all(
                _feedback_button_ok(element.get(side)) for side in _FEEDBACK_SIDES
            ):
                raise _Refused("invalid_blocks")


_FEEDBACK_SIDES = ("positive_button", "negative_button")


def _feedback_button_ok(button: Any) -> bool:
    """Slack's limits on a feedback button: plain text of at most 75 characters, a value of
    at most 2000, an accessibility label of at most 75."""
    if not isinstance(button, dict):
        return False
    text, value = button.get("text") or {}, button.get("value")
    return (
        text.get("type") == "plain_text"
        and 0 < len(str(text.get("text") or "")) <= 75
        and isinstance(value, str)
        and 0 < len(value) <= 2000
        and len(str(button.get("accessibility_label") or "")) <= 75
    )


def _markdown_text(args: dict[str, Any], *, required: bool) -> str:
    text = str(args.get("markdown_text") or "")
    if required and not text:
        raise _Refused("invalid_arguments")
    if len(text) > MARKDOWN_TEXT_LIMIT:
        raise _Refused("msg_too_long")
    return text


def _ts_key(message: dict[str, Any]) -> Decimal:
    return Decimal(message["ts"])


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _page(
    items: list[Any], args: dict[str, Any], key: str, *, default_limit: int
) -> dict[str, Any]:
    """Slack's cursor pagination: ``limit`` items from ``cursor`` and the next cursor, or ""."""
    try:
        limit = int(args.get("limit") or default_limit)
        offset = 0
        if args.get("cursor"):
            offset = int(base64.b64decode(str(args["cursor"])).decode().removeprefix("offset:"))
    except ValueError as e:
        raise _Refused("invalid_cursor") from e
    end = offset + max(limit, 1)
    more = end < len(items)
    return {
        key: items[offset:end],
        "has_more": more,
        "response_metadata": {"next_cursor": _encode_cursor(end) if more else ""},
    }


# ---- requests Slack sends to the bot


def bot_environment(
    slack: FakeSlack, *, database_url: str, redis_url: str, **extra: str
) -> dict[str, str]:
    """The settings of a bot that talks to ``slack`` over HTTP, on the given services;
    ``extra`` adds or overrides (``""`` unsets)."""
    slack_settings = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }
    return core_environment(
        database_url=database_url, redis_url=redis_url, **(slack_settings | extra)
    )


def signed_headers(
    body: bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
    retry_num: int | None = None,
) -> dict[str, str]:
    """Headers of a Slack request carrying ``body``, signed with ``secret`` (v0 HMAC-SHA256)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """The Events API ``event_callback`` envelope around ``event``, as JSON bytes."""
    return json.dumps(event_envelope(event, event_id=event_id)).encode()


def event_envelope(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """The Events API ``event_callback`` envelope around ``event`` (a Socket Mode payload)."""
    context = {"et": event.get("type"), "tid": TEAM_ID, "aid": APP_ID}
    if "channel" in event:
        context["cid"] = event["channel"]
    envelope: dict[str, Any] = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + base64.b64encode(json.dumps(context).encode()).decode(),
    }
    return envelope


def url_verification_body(challenge: str) -> bytes:
    """The handshake Slack sends when the events URL is configured."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body).encode()


def mention(
    text: str,
    *,
    channel: str = "CGENERAL",
    user: str = "UALICE",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An ``app_mention`` event; ``text`` should contain ``<@UBOT>`` as Slack's would."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "team": TEAM_ID,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def assistant_thread_started(
    *, channel: str = "DALICE", user: str = "UALICE", context_channel: str | None = None
) -> dict[str, Any]:
    """An ``assistant_thread_started`` event: the user opened a new thread in the app's
    assistant pane (``context_channel`` is the channel they were viewing, if any)."""
    thread_ts = new_ts()
    context: dict[str, Any] = {"team_id": TEAM_ID, "enterprise_id": None}
    if context_channel:
        context["channel_id"] = context_channel
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": user,
            "context": context,
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": new_ts(),
    }


def message(
    text: str,
    *,
    channel: str = "DALICE",
    user: str = "UALICE",
    channel_type: str = "im",
    ts: str | None = None,
    thread_ts: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
    previous_text: str = "",
) -> dict[str, Any]:
    """A ``message`` event (``channel_type`` "im", "channel", "group" or "mpim").

    With ``files`` it is a ``file_share`` message. With ``subtype="message_changed"`` it is the
    edit notice: ``ts`` is the edited message's, ``text``/``previous_text`` its new/old text.
    """
    ts = ts or new_ts()
    body: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts}
    body["team"] = TEAM_ID
    if bot_id:
        body |= {"bot_id": bot_id, "app_id": APP_ID if bot_id == BOT_ID else "AOTHER"}
    else:
        body["client_msg_id"] = str(uuid.uuid4())
    if thread_ts:
        body["thread_ts"] = thread_ts
    if subtype == "message_changed":
        event_ts = new_ts()
        previous = {**body, "text": previous_text}
        edited = {**body, "edited": {"user": user, "ts": event_ts}}
        return {
            "type": "message",
            "subtype": "message_changed",
            "message": edited,
            "previous_message": previous,
            "channel": channel,
            "hidden": True,
            "ts": event_ts,
            "event_ts": event_ts,
            "channel_type": channel_type,
        }
    if files:
        subtype = subtype or "file_share"
        body |= {"files": files, "upload": False, "display_as_bot": False}
    if subtype:
        body["subtype"] = subtype
    return {**body, "channel": channel, "event_ts": ts, "channel_type": channel_type}


def slash_command_body(
    text: str,
    *,
    command: str = "/kb",
    user_id: str = "UALICE",
    channel_id: str = "CGENERAL",
    response_url: str,
    trigger_id: str = "trig",
) -> bytes:
    """A slash command POST body, form-encoded in the field order Slack uses."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id),
        "user_id": user_id,
        "user_name": _user_name(user_id),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def block_action_body(
    action_id: str,
    value: str,
    *,
    user_id: str = "UALICE",
    channel: str = "CGENERAL",
    message: dict[str, Any],
    response_url: str,
) -> bytes:
    """A ``block_actions`` payload for a button click on ``message`` (needs its ``ts``).

    The button's ``block_id`` and label come from ``message["blocks"]`` when it has a button
    with ``action_id``; otherwise ``"feedback"`` and ``"x"``. For Slack's ``feedback_buttons``
    the action is of that type, with the text of the button whose value ``value`` is.
    """
    block_id, label, kind = "feedback", "x", "button"
    for block in message.get("blocks") or []:
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        for element in elements:
            if element.get("action_id") == action_id:
                block_id = block.get("block_id", block_id)
                label = element.get("text", {}).get("text", label)
                if element.get("type") == "feedback_buttons":
                    # Slack sends the pressed button's text and value, as a feedback_buttons action.
                    kind = "feedback_buttons"
                    for side in _FEEDBACK_SIDES:
                        if element[side].get("value") == value:
                            label = element[side]["text"]["text"]
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": _user_name(user_id),
            "name": _user_name(user_id),
            "team_id": TEAM_ID,
        },
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:12]}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": _channel_name(channel)},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": value,
                "type": kind,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission_body(
    view: dict[str, Any], values: dict[str, str], *, user_id: str = "UALICE"
) -> bytes:
    """A ``view_submission`` payload: ``values`` maps each input block's id to the text typed
    (the action id of each modal input here equals its block id)."""
    state = {
        block_id: {block_id: {"type": "plain_text_input", "value": value}}
        for block_id, value in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": _user_name(user_id), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:12]}",
        "view": {**view, "team_id": TEAM_ID, "app_id": APP_ID, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def message_action_body(
    callback_id: str,
    message: dict[str, Any],
    *,
    user_id: str = "UALICE",
    channel: str = "CGENERAL",
    response_url: str,
) -> bytes:
    """A message shortcut (``message_action``) payload, chosen on ``message``."""
    payload = {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:12]}",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": _user_name(user_id), "team_id": TEAM_ID},
        "channel": {"id": channel, "name": _channel_name(channel)},
        "is_enterprise_install": False,
        "enterprise": None,
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "message_ts": message["ts"],
        "message": message,
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def _user_name(user_id: str) -> str:
    return user_id.removeprefix("U").lower() or "someone"


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return channel_id[1:].lower()
