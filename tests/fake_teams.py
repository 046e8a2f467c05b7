"""A loopback fake of the Bot Connector service, a fake Bot Framework token issuer, and builders
of the activities Microsoft Teams posts to a bot.

``FakeBotConnector`` is the ``serviceUrl`` a Teams bot replies to. It answers the real
``botframework.connector.aio.ConnectorClient`` (which ``botbuilder``'s ``CloudAdapter`` uses)
with the Bot Connector REST API v3 as that client calls it: ``POST
{serviceUrl}v3/conversations/{conversationId}/activities`` (send), ``POST .../activities/{id}``
(reply), ``PUT``/``DELETE .../activities/{id}`` (update/delete), ``POST v3/conversations``
(create: a new post in a channel, or a 1:1 chat), ``GET .../members`` and
``.../members/{memberId}``. The client percent-encodes every path parameter (``19:x@thread.tacv2;
messageid=1`` arrives as ``19%3Ax%40thread.tacv2%3Bmessageid%3D1``); ``ConnectorCall.path`` keeps
the path as it arrived and ``conversation_id``/``activity_id`` hold the decoded values. Answers
are HTTP 200 ``{"id": ...}`` (201 for a created conversation), and errors carry the Bot
Connector's ``{"error": {"code": ..., "message": ...}}``. ``service_url`` has a path, like Teams'
``https://smba.trafficmanager.net/amer/{tenant}/``, and the API answers only under that path, so
a bot that drops the path from the ``serviceUrl`` it was given fails here as it would in Teams.

Streaming (``typing`` activities and a final message with a ``streaminfo`` entity) is checked
as Teams checks it (``_stream``) and kept in ``streams``, by stream id, update by update; the
stream's message shows its latest text. ``feedback_invoke`` builds Teams' own feedback.

Every activity the bot sends gets an id (epoch milliseconds, as Teams uses) and is kept, so
``update`` changes it and ``delete`` removes it. A new channel post made through
``create_conversation`` lives in the conversation ``{channel id};messageid={its id}``, which is
the reply chain (thread) Teams starts for it.

Deliberate simplifications: any conversation id accepts posts; a reply to an activity the fake
never saw is accepted (``CloudAdapter.continue_conversation`` replies to a fresh ``uuid1``, and
Teams posts such replies into the conversation); tokens are recorded (``ConnectorCall.headers``)
but not checked; a message over 28 KB of JSON gets 413 ``MessageSizeTooBig``, as in Teams;
``fail``/``rate_limit`` apply to the calls that write (send, reply, update, delete, create),
``delay`` to every API call. The connector client (msrest over ``requests`` with urllib3 2)
retries PUT, DELETE and GET on 429 and on most 5xx (honouring ``Retry-After``), but not
POST: a ``fail(500)`` or ``rate_limit`` on an update is used up by the retries.

Hosted files stand in for the pre-authenticated SharePoint/OneDrive download URLs Teams puts in
a ``application/vnd.microsoft.teams.file.download.info`` attachment: ``host_file`` returns a URL
on the same server that needs no token, and ``downloads`` records each download.

``TokenIssuer`` stands in for the Bot Framework's token service on both sides. Incoming: it
serves an OpenID metadata document and a JWKS whose key is endorsed for ``msteams``, and mints
RS256 tokens with the claims the Bot Framework puts in its tokens (``iss``
``https://api.botframework.com``, ``aud`` the bot's app id, ``serviceurl``, ``nbf``, ``exp``);
``forged`` and ``expired`` give tokens that must be refused. Outgoing: it is an OAuth 2.0
authority (over HTTPS with its own CA, as MSAL requires https) whose token endpoint gives the bot
an access token for its app id and password. ``TokenIssuer.config`` lists the
``ConfigurationBotFrameworkAuthentication`` keys that point the bot at it, and ``ca_bundle`` is a
CA file for ``REQUESTS_CA_BUNDLE``. The issuer runs on its own thread and event loop: the Bot
Framework library fetches the metadata, and MSAL the tokens, with blocking ``requests`` calls
made on the caller's event loop, which would never be answered by a server on that same loop.

The module-level builders return activities shaped like those Teams posts to a bot's
``/api/messages`` (as JSON-ready dicts), for personal chats, channel threads and group chats,
Adaptive Card ``Action.Submit``/``Action.Execute`` presses, files sent to the bot and
installations. As in Teams, message activities carry ``channelData.team``/``channel`` with the
id only (the team's name and AAD group id come in ``conversationUpdate``), and the General
channel's id is the team's id.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import ipaddress
import itertools
import json
import os
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from tests.loopback import serve

# ---- the tenant, the bot, its users, a team

TENANT_ID = "5a0c7f3e-9b1d-4e2a-8c6f-1d2e3f4a5b6c"
BOT_APP_ID = "0b6fe6d1-fece-44f7-9a48-56465e2d5ab8"
BOT_ID = f"28:{BOT_APP_ID}"
BOT_NAME = "Supportbot"
BOT_PASSWORD = "test-client-secret"
CHANNEL_ID = "msteams"
LOCALE = "en-US"
TIMEZONE = "Europe/London"
# The issuer of the tokens the Bot Framework sends a bot, and the scope a bot asks for to call it.
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com"
ENDORSEMENTS = ("msteams", "webchat", "skype", "directline", "emulator")

# Teams refuses a message (text, cards and all) over about 28 KB.
MAX_MESSAGE_BYTES = 28 * 1024
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"


@dataclass(frozen=True)
class TeamsUser:
    """A member of the tenant, as Teams and the Bot Connector describe them."""

    id: str
    name: str
    aad_object_id: str
    email: str
    given_name: str
    surname: str

    @property
    def user_principal_name(self) -> str:
        return self.email

    @property
    def personal_conversation_id(self) -> str:
        """The id of this user's 1:1 chat with the bot (stable, like Teams')."""
        digest = base64.urlsafe_b64encode(hashlib.sha256(self.id.encode()).digest()).decode()
        return f"a:1{digest.rstrip('=')}"

    def account(self) -> dict[str, Any]:
        """The ``from`` of an activity this user sends."""
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id}

    def member(self) -> dict[str, Any]:
        """The ``TeamsChannelAccount`` the Bot Connector returns for this user."""
        return {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad_object_id,
            "givenName": self.given_name,
            "surname": self.surname,
            "email": self.email,
            "userPrincipalName": self.user_principal_name,
            "tenantId": TENANT_ID,
            "userRole": "user",
        }


ALICE = TeamsUser(
    id="29:1RoUpTBW4Q-441hdtOBvbTym5ma0kYoPLdnN4SgLJVTrmuWCYSUbwYr_rkSkJJ39pTDLMtHkrn2kX2QdshmXCHg",
    name="Alice Archer",
    aad_object_id="6e4c7435-07e0-425f-b01f-8f1b3cfa2aa0",
    email="alice@contoso.example",
    given_name="Alice",
    surname="Archer",
)
BOB = TeamsUser(
    id="29:17bUvCasIPKfQIXHvNzcPjD86fwm6GkWc1PvCGP2-NSkNb7AyGYpjQ7Xw-XgTwaHW5JxZ4KMNDxn1kcL8fwX1Nw",
    name="Bob Baker",
    aad_object_id="b15a9416-0ad3-4172-9210-7beb711d3f70",
    email="bob@contoso.example",
    given_name="Bob",
    surname="Baker",
)
USERS = (ALICE, BOB)

TEAM_ID = "19:66P469zibfbsGI-_a0aN_toLTZpyzS6u7CT3TsXdgPw1@thread.tacv2"
TEAM_NAME = "Support"
TEAM_AAD_GROUP_ID = "d2b1a0f9-8e7d-4c6b-a5f4-e3d2c1b0a9f8"
# A team's General channel has the team's id.
GENERAL_CHANNEL_ID = TEAM_ID
HELPDESK_CHANNEL_ID = "19:6848757105754c8981c67612732d9aa7@thread.tacv2"
CHANNELS = {GENERAL_CHANNEL_ID: "General", HELPDESK_CHANNEL_ID: "Helpdesk"}
GROUP_CHAT_ID = "19:3f6b5c7a9e2d4b1c8a0f6e5d4c3b2a19@thread.v2"

_message_ids = itertools.count(1)


def new_message_id() -> str:
    """A unique Teams message id (epoch milliseconds); later calls give larger ones."""
    return str(1_700_000_000_000 + next(_message_ids) * 1000)


def thread_conversation_id(channel_id: str, root_id: str) -> str:
    """The conversation id of the reply chain under the post ``root_id`` in a channel."""
    return f"{channel_id};messageid={root_id}"


def _base_conversation_id(conversation_id: str) -> str:
    return conversation_id.split(";messageid=", 1)[0]


# ---- the Bot Connector

CallKind = Literal["send", "reply", "update", "delete", "create", "member", "members"]
_WRITES: frozenset[CallKind] = frozenset({"send", "reply", "update", "delete", "create"})

_ERROR_CODES = {
    400: ("BadArgument", "The request was invalid."),
    401: ("Unauthorized", "Authorization has been denied for this request."),
    403: ("BotNotInConversationRoster", "The bot is not part of the conversation roster."),
    404: ("ConversationNotFound", "Conversation not found."),
    412: ("PreconditionFailed", "The precondition for the request was not met."),
    413: ("MessageSizeTooBig", "Message size too big."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("ServiceError", "An internal service error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "The service is unavailable."),
}


@dataclass(frozen=True)
class ConnectorCall:
    """One Bot Connector API call as the fake received it.

    ``path`` is the request path as it arrived (percent-encoded); ``conversation_id`` and
    ``activity_id`` are the decoded path parameters; ``status`` is 0 until it was answered.
    """

    method: str
    path: str
    conversation_id: str | None
    activity_id: str | None
    body: Any
    headers: dict[str, str]
    kind: CallKind = "send"
    status: int = 0

    @property
    def authorization(self) -> str | None:
        """The ``Authorization`` header, if any."""
        return self.headers.get("Authorization")


@dataclass(frozen=True)
class CreatedConversation:
    """A ``POST v3/conversations`` the fake answered: the new id and what it was asked for."""

    id: str
    activity_id: str | None
    parameters: dict[str, Any]


@dataclass
class _Posted:
    conversation_id: str
    id: str
    reply_to: str | None  # the {activityId} of a reply's route
    activity: dict[str, Any]
    deleted: bool = False


@dataclass(frozen=True)
class _Fail:
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class _RateLimit:
    retry_after: int


@dataclass(frozen=True)
class _HostedFile:
    name: str
    data: bytes
    content_type: str


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class FakeBotConnector:
    """The fake Bot Connector: what the bot sent, seeded members, hosted files, fault controls."""

    base_url: str = ""
    service_path: str = f"/amer/{TENANT_ID}/"
    calls: list[ConnectorCall] = field(default_factory=list)
    created_conversations: list[CreatedConversation] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    members: dict[str, TeamsUser] = field(default_factory=lambda: {u.id: u for u in USERS})
    streams: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _posted: list[_Posted] = field(default_factory=list)
    _faults: deque[_Fail | _RateLimit] = field(default_factory=deque)
    _delays: deque[float] = field(default_factory=deque)
    _files: dict[str, _HostedFile] = field(default_factory=dict)

    @property
    def service_url(self) -> str:
        """The ``serviceUrl`` to put in activities (with a path and a trailing slash, as Teams')."""
        return f"{self.base_url}{self.service_path}"

    # ---- inspection

    def activities(
        self, conversation_id: str | None = None, type: str | None = "message"
    ) -> list[dict[str, Any]]:
        """Activities the bot sent by any route (with the ids the fake gave them), oldest first.

        Updates show in place and deleted activities are left out. ``conversation_id`` must
        match exactly (a channel thread's id includes ``;messageid=``); ``type=None`` gives
        every type (``typing`` too).
        """
        return [
            dict(p.activity)
            for p in self._posted
            if not p.deleted
            and (conversation_id is None or p.conversation_id == conversation_id)
            and (type is None or p.activity.get("type") == type)
        ]

    def replies_to(self, activity_id: str) -> list[dict[str, Any]]:
        """Activities the bot posted to ``.../activities/{activity_id}`` (reply route)."""
        return [
            dict(p.activity) for p in self._posted if p.reply_to == activity_id and not p.deleted
        ]

    def activity(self, activity_id: str) -> dict[str, Any]:
        """The activity the fake stored as ``activity_id`` (current state)."""
        for posted in self._posted:
            if posted.id == activity_id and not posted.deleted:
                return dict(posted.activity)
        raise KeyError(f"no activity {activity_id}")

    def calls_of(self, kind: CallKind) -> list[ConnectorCall]:
        """Answered calls of one kind ("send", "reply", "update", ...), in arrival order."""
        return [c for c in self.calls if c.kind == kind and c.status]

    # The timeout is part of the contract so a failure can name what was awaited.
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Poll ``predicate`` every 20 ms until it holds; fail the test after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                recent = ", ".join(
                    f"{c.method} {c.kind} {c.conversation_id}:{c.status}" for c in self.calls[-8:]
                )
                raise AssertionError(
                    f"condition {getattr(predicate, '__qualname__', predicate)!s} still false "
                    f"after {timeout}s; last connector calls: [{recent}]"
                )
            await asyncio.sleep(0.02)

    # ---- seeding

    def add_member(self, user: TeamsUser) -> None:
        """Make ``user`` known to ``GET .../members/{id}`` (``USERS`` are known already)."""
        self.members[user.id] = user

    def host_file(
        self, name: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> str:
        """Host ``data``; returns its download URL (pre-authenticated, like Teams')."""
        token = uuid.uuid4().hex
        self._files[token] = _HostedFile(name, data, content_type)
        return f"{self.base_url}/files/{token}/{quote(name)}"

    # ---- fault injection

    def fail(
        self, status: int, times: int = 1, *, code: str | None = None, message: str | None = None
    ) -> None:
        """Answer the next ``times`` writing calls with ``status`` and the connector's error JSON.

        ``code`` defaults by status: 403 ``BotNotInConversationRoster``, 404
        ``ConversationNotFound``, 400 ``BadArgument``, 500 ``ServiceError``...
        """
        default_code, default_message = _ERROR_CODES.get(status, ("ServiceError", "Error."))
        fault = _Fail(status, code or default_code, message or default_message)
        self._faults.extend(fault for _ in range(times))

    def rate_limit(self, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` writing calls with HTTP 429 and ``Retry-After`` seconds."""
        self._faults.extend(_RateLimit(retry_after) for _ in range(times))

    def delay(self, seconds: float, times: int = 1) -> None:
        """Sleep ``seconds`` before answering each of the next ``times`` API calls."""
        self._delays.extend(seconds for _ in range(times))

    # ---- HTTP handlers

    async def _api(self, request: web.Request, kind: CallKind) -> web.StreamResponse:
        conversation_id = request.match_info.get("conversation_id")
        activity_id = request.match_info.get("activity_id") or request.match_info.get("member_id")
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = (await request.read()).decode(errors="replace")
        index = len(self.calls)
        self.calls.append(
            ConnectorCall(
                request.method,
                request.raw_path,
                conversation_id,
                activity_id,
                body,
                dict(request.headers),
                kind,
            )
        )
        response = await self._answer(request, kind, conversation_id, activity_id, body)
        self.calls[index] = dataclasses.replace(self.calls[index], status=response.status)
        return response

    async def _answer(
        self,
        request: web.Request,
        kind: CallKind,
        conversation_id: str | None,
        activity_id: str | None,
        body: Any,
    ) -> web.StreamResponse:
        if self._delays:
            await asyncio.sleep(self._delays.popleft())
        if kind in _WRITES and self._faults:
            fault = self._faults.popleft()
            if isinstance(fault, _RateLimit):
                return _error_response(
                    429,
                    "TooManyRequests",
                    f"Too many requests. Retry after {fault.retry_after} seconds.",
                    headers={"Retry-After": str(fault.retry_after)},
                )
            return _error_response(fault.status, fault.code, fault.message)
        try:
            if kind == "create":
                return web.json_response(self._create(body, request), status=201)
            if kind == "member":
                return web.json_response(self._member(activity_id or ""))
            if kind == "members":
                return web.json_response([u.member() for u in self.members.values()])
            assert conversation_id is not None
            if kind in ("send", "reply"):
                if len(json.dumps(body)) > MAX_MESSAGE_BYTES:
                    raise _Refused(413, *_ERROR_CODES[413])
                reply_to = activity_id if kind == "reply" else None
                stream = _stream_info(body)
                if stream is not None:
                    return web.json_response(
                        {"id": self._stream(conversation_id, body, stream, reply_to)}
                    )
                new_id = self._store(conversation_id, _activity_body(body), reply_to=reply_to)
                return web.json_response({"id": new_id})
            assert activity_id is not None
            posted = self._find(conversation_id, activity_id)
            if kind == "update":
                posted.activity = {**_activity_body(body), "id": activity_id}
                return web.json_response({"id": activity_id})
            posted.deleted = True
            return web.Response(status=200)
        except _Refused as refused:
            return _error_response(refused.status, refused.code, refused.message)

    def _stream(
        self, conversation_id: str, body: Any, info: dict[str, Any], reply_to: str | None
    ) -> str:
        """One update of a streamed message, checked as Teams checks it: personal chats only;
        the first update starts the stream (its id is the ``streamId`` of the rest); sequence
        numbers rise; each streaming text extends the one before; the final message ends it
        and takes the stream's id."""
        if not conversation_id.startswith("a:"):
            raise _Refused(403, "ContentStreamNotAllowed", "Streaming is for personal chats.")
        kind, stream_id = info.get("streamType"), info.get("streamId")
        activity = _activity_body(body)
        if stream_id is None:
            if kind == "final" or info.get("streamSequence") != 1:
                raise _Refused(400, "BadArgument", "A stream starts with sequence 1.")
            stream_id = self._store(conversation_id, activity, reply_to=reply_to)
            self.streams[stream_id] = [activity]
            return stream_id
        updates = self.streams.get(stream_id)
        if updates is None or updates[-1].get("type") == "message":
            raise _Refused(403, "ContentStreamNotAllowed", "The stream has ended.")
        if kind == "final":
            if activity.get("type") != "message":
                raise _Refused(400, "BadArgument", "The final update is a message.")
        else:
            sequences = [_stream_info(u)["streamSequence"] for u in updates]  # type: ignore[index]
            if info.get("streamSequence", 0) <= max(sequences):
                raise _Refused(400, "BadArgument", "Stream sequence numbers must rise.")
            before = next((u["text"] for u in reversed(updates) if _streaming(u)), "")
            if kind == "streaming" and not str(activity.get("text", "")).startswith(before):
                raise _Refused(400, "BadArgument", "A streaming update extends the last one.")
        updates.append(activity)
        self._find(conversation_id, stream_id).activity = {**activity, "id": stream_id}
        return stream_id

    def _store(
        self,
        conversation_id: str,
        activity: dict[str, Any],
        *,
        reply_to: str | None = None,
        activity_id: str | None = None,
    ) -> str:
        new_id = activity_id or new_message_id()
        stored = {**activity, "id": new_id}
        self._posted.append(_Posted(conversation_id, new_id, reply_to, stored))
        return new_id

    def _find(self, conversation_id: str, activity_id: str) -> _Posted:
        for posted in self._posted:
            if (
                posted.id == activity_id
                and not posted.deleted
                and _base_conversation_id(posted.conversation_id)
                == _base_conversation_id(conversation_id)
            ):
                return posted
        raise _Refused(404, "ActivityNotFound", f"Activity {activity_id} not found.")

    def _create(self, body: Any, request: web.Request) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Refused(400, "BadArgument", "Conversation parameters are required.")
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        members = body.get("members") or []
        activity = body.get("activity")
        activity_id: str | None = None
        if channel:
            if not isinstance(activity, dict):
                raise _Refused(400, "BadArgument", "A new channel post needs an activity.")
            activity_id = new_message_id()
            conversation_id = thread_conversation_id(channel, activity_id)
        elif len(members) == 1 and isinstance(members[0], dict) and members[0].get("id"):
            member_id = str(members[0]["id"])
            user = self._lookup(member_id)
            if user is None:
                raise _Refused(404, "MemberNotFound", f"Member {member_id} not found.")
            conversation_id = user.personal_conversation_id
        else:
            raise _Refused(400, "BadArgument", "Give channelData.channel.id or one member.")
        if isinstance(activity, dict):
            activity_id = self._store(conversation_id, activity, activity_id=activity_id)
        self.created_conversations.append(CreatedConversation(conversation_id, activity_id, body))
        answer: dict[str, Any] = {"id": conversation_id, "serviceUrl": self.service_url}
        if activity_id:
            answer["activityId"] = activity_id
        return answer

    def _lookup(self, member_id: str) -> TeamsUser | None:
        for user in self.members.values():
            if member_id in (user.id, user.aad_object_id):
                return user
        return None

    def _member(self, member_id: str) -> dict[str, Any]:
        user = self._lookup(member_id)
        if user is None:
            raise _Refused(404, "MemberNotFoundInConversation", "The member was not found.")
        return user.member()

    async def _download(self, request: web.Request) -> web.StreamResponse:
        hosted = self._files.get(request.match_info["token"])
        if hosted is None or request.match_info["name"] != hosted.name:
            return web.Response(status=404, text="Not found")
        self.downloads.append(hosted.name)
        return web.Response(body=hosted.data, content_type=hosted.content_type)


def _stream_info(activity: Any) -> dict[str, Any] | None:
    entities = activity.get("entities") if isinstance(activity, dict) else None
    return next((e for e in entities or [] if e.get("type") == "streaminfo"), None)


def _streaming(activity: dict[str, Any]) -> bool:
    return (_stream_info(activity) or {}).get("streamType") == "streaming"


def feedback_invoke(
    reply_to_id: str,
    reaction: str,
    *,
    comment: str = "",
    user: TeamsUser = ALICE,
    conversation: dict[str, Any] | None = None,
    service_url: str,
) -> dict[str, Any]:
    """Teams' own 👍/👎 on the bot's message ``reply_to_id`` (``message/submitAction``), with
    the comment typed in Teams' form; ``conversation`` is where the message is (an activity's
    ``conversation``; default the user's 1:1 chat)."""
    return _activity(
        "invoke",
        user=user,
        conversation=dict(conversation or personal_conversation(user)),
        service_url=service_url,
        activity_id=f"f:{uuid.uuid4()}",
        channel_data=_tenant_channel_data(),
        name="message/submitAction",
        replyToId=reply_to_id,
        value={
            "actionName": "feedback",
            "actionValue": {
                "reaction": reaction,
                "feedback": json.dumps({"feedbackText": comment}),
            },
        },
    )


def _activity_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body.get("type"):
        raise _Refused(400, "BadArgument", "An activity with a type is required.")
    return dict(body)


def _error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


@asynccontextmanager
async def fake_connector() -> AsyncIterator[FakeBotConnector]:
    """Serve a ``FakeBotConnector`` on a loopback port for the duration of the block."""
    connector = FakeBotConnector()
    prefix = connector.service_path.rstrip("/")
    conversation = prefix + "/v3/conversations/{conversation_id}"

    def route(kind: CallKind) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await connector._api(request, kind)

        return handler

    app = web.Application()
    app.router.add_post(prefix + "/v3/conversations", route("create"))
    app.router.add_post(conversation + "/activities", route("send"))
    app.router.add_post(conversation + "/activities/{activity_id}", route("reply"))
    app.router.add_put(conversation + "/activities/{activity_id}", route("update"))
    app.router.add_delete(conversation + "/activities/{activity_id}", route("delete"))
    app.router.add_get(conversation + "/members", route("members"))
    app.router.add_get(conversation + "/members/{member_id}", route("member"))
    app.router.add_get("/files/{token}/{name}", connector._download)
    async with serve(app) as base_url:
        connector.base_url = base_url
        yield connector


# ---- activities Teams posts to the bot


def _timestamps() -> tuple[str, str]:
    now = dt.datetime.now(dt.UTC)
    fraction = f"{now.microsecond:06d}0"  # Teams sends seven digits
    utc = now.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
    local = now.astimezone(dt.timezone(dt.timedelta(hours=1)))
    return utc, local.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "+01:00"


def _client_info() -> dict[str, Any]:
    return {
        "locale": LOCALE,
        "country": "GB",
        "platform": "Windows",
        "timezone": TIMEZONE,
        "type": "clientInfo",
    }


def _bot_account() -> dict[str, Any]:
    return {"id": BOT_ID, "name": BOT_NAME}


def _activity(
    type: str,
    *,
    user: TeamsUser,
    conversation: dict[str, Any],
    service_url: str,
    activity_id: str | None,
    channel_data: dict[str, Any],
    **fields: Any,
) -> dict[str, Any]:
    """The fields every activity from Teams carries, then ``fields`` (None values left out)."""
    timestamp, local_timestamp = _timestamps()
    activity: dict[str, Any] = {
        "type": type,
        "id": activity_id or new_message_id(),
        "timestamp": timestamp,
        "localTimestamp": local_timestamp,
        "serviceUrl": service_url,
        "channelId": CHANNEL_ID,
        "from": user.account(),
        "conversation": conversation,
        "recipient": _bot_account(),
        "entities": [_client_info()],
        "channelData": channel_data,
        "locale": LOCALE,
        "localTimezone": TIMEZONE,
    }
    activity.update({key: value for key, value in fields.items() if value is not None})
    return activity


def personal_conversation(user: TeamsUser = ALICE) -> dict[str, Any]:
    """The ``conversation`` of ``user``'s 1:1 chat with the bot."""
    return {
        "conversationType": "personal",
        "tenantId": TENANT_ID,
        "id": user.personal_conversation_id,
    }


def channel_conversation(channel_id: str, root_id: str) -> dict[str, Any]:
    """The ``conversation`` of the reply chain under post ``root_id`` in a channel."""
    return {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": TENANT_ID,
        "id": thread_conversation_id(channel_id, root_id),
    }


def group_chat_conversation(chat_id: str = GROUP_CHAT_ID) -> dict[str, Any]:
    """The ``conversation`` of a group chat the bot was added to."""
    return {"isGroup": True, "conversationType": "groupChat", "tenantId": TENANT_ID, "id": chat_id}


def _tenant_channel_data() -> dict[str, Any]:
    return {"tenant": {"id": TENANT_ID}}


def _channel_channel_data(channel_id: str, team_id: str) -> dict[str, Any]:
    return {
        "teamsChannelId": channel_id,
        "teamsTeamId": team_id,
        "channel": {"id": channel_id},
        "team": {"id": team_id},
        "tenant": {"id": TENANT_ID},
    }


def _html(text: str) -> dict[str, Any]:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"contentType": "text/html", "content": f"<p>{escaped}</p>"}


def _mention_html(text: str) -> dict[str, Any]:
    span = (
        '<span itemtype="http://schema.skype.com/Mention" itemscope="" itemid="0">'
        f"{BOT_NAME}</span>"
    )
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"contentType": "text/html", "content": f"<p>{span}&nbsp;{escaped}</p>"}


def bot_mention() -> dict[str, Any]:
    """The ``mention`` entity of an @mention of the bot."""
    return {"type": "mention", "mentioned": _bot_account(), "text": f"<at>{BOT_NAME}</at>"}


def personal_message(
    text: str,
    *,
    user: TeamsUser = ALICE,
    service_url: str,
    activity_id: str | None = None,
    attachments: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message ``user`` sends the bot in their 1:1 chat (with Teams' ``text/html`` copy)."""
    return _activity(
        "message",
        user=user,
        conversation=personal_conversation(user),
        service_url=service_url,
        activity_id=activity_id,
        channel_data=_tenant_channel_data(),
        text=text,
        textFormat="plain",
        attachments=[*(attachments or []), _html(text)],
    )


def channel_mention(
    text: str,
    *,
    user: TeamsUser = ALICE,
    channel_id: str = HELPDESK_CHANNEL_ID,
    team_id: str = TEAM_ID,
    service_url: str,
    thread_id: str | None = None,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """A channel message that @mentions the bot: a new post, or a reply in ``thread_id``'s chain.

    Its conversation is ``{channel_id};messageid={root}`` where the root is the post itself or
    ``thread_id``; a reply also has ``replyToId`` = ``thread_id``, as Teams sends.
    """
    activity_id = activity_id or new_message_id()
    return _activity(
        "message",
        user=user,
        conversation=channel_conversation(channel_id, thread_id or activity_id),
        service_url=service_url,
        activity_id=activity_id,
        channel_data=_channel_channel_data(channel_id, team_id),
        text=f"<at>{BOT_NAME}</at> {text}",
        textFormat="plain",
        attachments=[_mention_html(text)],
        entities=[bot_mention(), _client_info()],
        replyToId=thread_id,
    )


def group_chat_mention(
    text: str,
    *,
    user: TeamsUser = ALICE,
    chat_id: str = GROUP_CHAT_ID,
    service_url: str,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """A group chat message that @mentions the bot."""
    return _activity(
        "message",
        user=user,
        conversation=group_chat_conversation(chat_id),
        service_url=service_url,
        activity_id=activity_id,
        channel_data=_tenant_channel_data(),
        text=f"<at>{BOT_NAME}</at> {text}",
        textFormat="plain",
        attachments=[_mention_html(text)],
        entities=[bot_mention(), _client_info()],
    )


def _card_channel_data(
    conversation: dict[str, Any], team_id: str, reply_to_id: str
) -> dict[str, Any]:
    channel_data: dict[str, Any] = {}
    if conversation.get("conversationType") == "channel":
        channel_id = _base_conversation_id(conversation["id"])
        channel_data |= {"channel": {"id": channel_id}, "team": {"id": team_id}}
    return {
        **channel_data,
        "tenant": {"id": TENANT_ID},
        "source": {"name": "message"},
        "legacy": {"replyToId": f"1:{reply_to_id}"},
    }


def card_submit(
    data: dict[str, Any],
    *,
    conversation: dict[str, Any] | None = None,
    user: TeamsUser = ALICE,
    service_url: str,
    reply_to_id: str,
    team_id: str = TEAM_ID,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """An Adaptive Card ``Action.Submit`` press: a message with ``value`` = ``data``, no text.

    ``conversation`` is where the card is (an activity's ``conversation``; default the user's
    1:1 chat) and ``reply_to_id`` the card activity's id.
    """
    conversation = conversation or personal_conversation(user)
    return _activity(
        "message",
        user=user,
        conversation=dict(conversation),
        service_url=service_url,
        activity_id=activity_id or f"f:{uuid.uuid4()}",
        channel_data=_card_channel_data(conversation, team_id, reply_to_id),
        replyToId=reply_to_id,
        value=data,
    )


def card_execute(
    verb: str,
    data: dict[str, Any],
    *,
    conversation: dict[str, Any] | None = None,
    user: TeamsUser = ALICE,
    service_url: str,
    reply_to_id: str,
    team_id: str = TEAM_ID,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """An Adaptive Card ``Action.Execute`` press: an ``adaptiveCard/action`` invoke."""
    conversation = conversation or personal_conversation(user)
    return _activity(
        "invoke",
        user=user,
        conversation=dict(conversation),
        service_url=service_url,
        activity_id=activity_id or f"f:{uuid.uuid4()}",
        channel_data=_card_channel_data(conversation, team_id, reply_to_id),
        name=ADAPTIVE_CARD_ACTION,
        replyToId=reply_to_id,
        value={
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "manual",
        },
    )


def file_attachment(
    name: str, download_url: str, *, file_type: str | None = None
) -> dict[str, Any]:
    """The attachment Teams adds when a user sends a file to a bot that supports files."""
    unique_id = str(uuid.uuid4()).upper()
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return {
        "contentType": FILE_DOWNLOAD_INFO,
        "contentUrl": (
            "https://contoso-my.sharepoint.com/personal/alice_contoso_example/Documents/"
            f"Microsoft%20Teams%20Chat%20Files/{quote(name)}"
        ),
        "name": name,
        "content": {
            "downloadUrl": download_url,
            "uniqueId": unique_id,
            "fileType": file_type or extension,
        },
    }


def file_message(
    name: str,
    download_url: str,
    *,
    user: TeamsUser = ALICE,
    service_url: str,
    file_type: str | None = None,
    text: str = "",
    activity_id: str | None = None,
) -> dict[str, Any]:
    """A 1:1 message carrying a file (``file_attachment``), with ``text`` if given."""
    attachments = [file_attachment(name, download_url, file_type=file_type)]
    if text:
        attachments.append(_html(text))
    return _activity(
        "message",
        user=user,
        conversation=personal_conversation(user),
        service_url=service_url,
        activity_id=activity_id,
        channel_data=_tenant_channel_data(),
        text=text or None,
        textFormat="plain",
        attachments=attachments,
    )


def conversation_update(
    *,
    members_added: Iterable[TeamsUser | str] = (BOT_ID,),
    conversation: dict[str, Any] | None = None,
    user: TeamsUser = ALICE,
    service_url: str,
    team_id: str = TEAM_ID,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """``members_added`` joined ``conversation`` (default: the bot installed in a 1:1 chat).

    Members are users or bare ids (``BOT_ID`` for the bot). With a channel conversation (a team
    install: use ``channel_conversation(GENERAL_CHANNEL_ID, ...)`` or a conversation with the
    team's id) it is a ``teamMemberAdded`` event with the team's name and AAD group id.
    """
    conversation = dict(conversation or personal_conversation(user))
    members = [
        {"id": m} if isinstance(m, str) else {"id": m.id, "aadObjectId": m.aad_object_id}
        for m in members_added
    ]
    if conversation.get("conversationType") == "channel":
        conversation["id"] = _base_conversation_id(conversation["id"])
        channel_data: dict[str, Any] = {
            "team": {"aadGroupId": TEAM_AAD_GROUP_ID, "name": TEAM_NAME, "id": team_id},
            "eventType": "teamMemberAdded",
            "tenant": {"id": TENANT_ID},
            "settings": {"selectedChannel": {"id": conversation["id"]}},
        }
    else:
        channel_data = _tenant_channel_data()
    update = _activity(
        "conversationUpdate",
        user=user,
        conversation=conversation,
        service_url=service_url,
        activity_id=activity_id or f"f:{uuid.uuid4()}",
        channel_data=channel_data,
        membersAdded=members,
    )
    update["from"] = {"id": user.id, "aadObjectId": user.aad_object_id}
    del update["entities"], update["locale"], update["localTimezone"]
    return update


# ---- the Bot Framework token issuer


@dataclass(frozen=True)
class TokenRequest:
    """A client-credentials request the issuer's token endpoint received (form fields)."""

    path: str
    form: dict[str, str]
    status: int


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: Sequence[str]) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "use": "sig", "kid": kid, "x5t": kid, "endorsements": list(endorsements)}


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = _new_rsa_key(), _new_rsa_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-teams test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "server.pem", "key.pem"))
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(_pem(server_key))
    return ca_file, cert_file, key_file


@asynccontextmanager
async def _serve_tls(app: web.Application, context: ssl.SSLContext) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class TokenIssuer:
    """The Bot Framework's token service, faked: OpenID metadata and keys, tokens both ways.

    Serve it with ``token_issuer()``. ``metadata_url`` is the OpenID metadata document
    (``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``); its ``jwks_uri`` lists one RSA key whose
    ``endorsements`` include ``msteams``. ``login_url`` is an OAuth authority (ADFS-style, which
    MSAL accepts without instance discovery) whose token endpoint grants client credentials for
    ``app_id``/``password`` and records each request in ``token_requests``; the access tokens it
    gave are in ``access_tokens``.
    """

    def __init__(
        self,
        *,
        app_id: str = BOT_APP_ID,
        password: str = BOT_PASSWORD,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        endorsements: Sequence[str] = ENDORSEMENTS,
    ) -> None:
        self.app_id = app_id
        self.password = password
        self.issuer = issuer
        self.endorsements = tuple(endorsements)
        self.kid = base64.urlsafe_b64encode(os.urandom(15)).decode()
        # A fresh path per issuer: botframework caches metadata per URL for the whole process.
        self.realm = uuid.uuid4().hex
        self.base_url = ""
        self.login_base_url = ""
        self.token_requests: list[TokenRequest] = []
        self.access_tokens: list[str] = []
        self.metadata_requests = 0
        self._key = _new_rsa_key()
        self._rogue_key = _new_rsa_key()
        self._directory = Path(tempfile.mkdtemp(prefix="fake-teams-"))
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ---- what a bot is configured with

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/{self.realm}/v1/.well-known/openidconfiguration"

    @property
    def keys_url(self) -> str:
        return f"{self.base_url}/{self.realm}/v1/.well-known/keys"

    @property
    def login_url(self) -> str:
        """The OAuth authority for outgoing tokens (``TO_CHANNEL_FROM_BOT_LOGIN_URL``)."""
        return f"{self.login_base_url}/adfs"

    @property
    def ca_bundle(self) -> str:
        """A CA bundle (the current ``REQUESTS_CA_BUNDLE``'s and this issuer's CA) to use as
        ``REQUESTS_CA_BUNDLE``, so ``requests`` (MSAL's HTTP client) trusts ``login_url``."""
        return str(self._directory / "bundle.pem")

    def config(self, **overrides: Any) -> dict[str, Any]:
        """``ConfigurationBotFrameworkAuthentication`` settings for a bot that trusts this issuer.

        Any of the ``TO_*`` keys switches botbuilder to its parameterized authentication, which
        then needs all of them (an unset issuer or scope is ``None``, not the public cloud's).
        Put ``ca_bundle`` in ``REQUESTS_CA_BUNDLE`` for outgoing calls.
        """
        return {
            "APP_ID": self.app_id,
            "APP_PASSWORD": self.password,
            "APP_TYPE": "SingleTenant",
            "APP_TENANTID": TENANT_ID,
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": self.metadata_url,
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": self.issuer,
            "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": self.metadata_url,
            "TO_CHANNEL_FROM_BOT_LOGIN_URL": self.login_url,
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": BOT_FRAMEWORK_SCOPE,
            **overrides,
        }

    # ---- tokens the channel sends the bot

    def claims(
        self, *, app_id: str | None = None, service_url: str, expires_in: int = 3600
    ) -> dict[str, Any]:
        """The claims of a Bot Framework token for a request to the bot."""
        now = int(time.time())
        return {
            "serviceurl": service_url,
            "nbf": now - 300,
            "exp": now + expires_in,
            "iss": self.issuer,
            "aud": app_id or self.app_id,
        }

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None) -> str:
        """Sign ``claims`` as the Bot Framework does (RS256, ``kid`` and ``x5t`` headers)."""
        headers = {"kid": self.kid, "x5t": self.kid, "typ": "JWT"}
        return jwt.encode(claims, key or self._key, algorithm="RS256", headers=headers)

    def issue(self, *, app_id: str | None = None, service_url: str, expires_in: int = 3600) -> str:
        """A valid token for a request carrying an activity whose ``serviceUrl`` is given."""
        return self.sign(self.claims(app_id=app_id, service_url=service_url, expires_in=expires_in))

    def forged(self, *, app_id: str | None = None, service_url: str) -> str:
        """The same claims and ``kid``, signed with a key that is not in the JWKS."""
        claims = self.claims(app_id=app_id, service_url=service_url)
        return self.sign(claims, key=self._rogue_key)

    def expired(self, *, app_id: str | None = None, service_url: str) -> str:
        """A properly signed token that expired 10 minutes ago (beyond the 5 minutes' skew)."""
        return self.issue(app_id=app_id, service_url=service_url, expires_in=-600)

    # ---- HTTP handlers (run on the issuer's own thread)

    async def _metadata(self, request: web.Request) -> web.Response:
        self.metadata_requests += 1
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base_url}/{self.realm}/v1/authorize",
                "jwks_uri": self.keys_url,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [_jwk(self._key, self.kid, self.endorsements)]})

    async def _login_metadata(self, request: web.Request) -> web.Response:
        authority = f"{self.login_base_url}/{request.match_info['tenant']}"
        return web.json_response(
            {
                "issuer": authority,
                "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                "token_endpoint": f"{authority}/oauth2/v2.0/token",
                "jwks_uri": f"{authority}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        if form.get("grant_type") != "client_credentials":
            status, answer = 400, _oauth_error("unsupported_grant_type", "AADSTS70003")
        elif form.get("client_id") != self.app_id:
            status, answer = 400, _oauth_error("unauthorized_client", "AADSTS700016")
        elif form.get("client_secret") != self.password:
            status, answer = 401, _oauth_error("invalid_client", "AADSTS7000215")
        else:
            now = int(time.time())
            token = self.sign(
                {
                    "aud": BOT_FRAMEWORK_SCOPE,
                    "iss": f"https://sts.windows.net/{TENANT_ID}/",
                    "appid": self.app_id,
                    "tid": TENANT_ID,
                    "iat": now,
                    "nbf": now,
                    "exp": now + 3600,
                    "ver": "1.0",
                }
            )
            self.access_tokens.append(token)
            status = 200
            answer = {"token_type": "Bearer", "expires_in": 3600, "access_token": token}
        self.token_requests.append(TokenRequest(request.path, form, status))
        return web.json_response(answer, status=status)

    # ---- the server thread

    def _start(self) -> None:
        ca_file, cert_file, key_file = _tls_files(self._directory)
        existing = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        bundle = Path(existing).read_bytes() if existing and Path(existing).is_file() else b""
        Path(self.ca_bundle).write_bytes(bundle + b"\n" + ca_file.read_bytes())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        self._thread = threading.Thread(
            target=self._run, args=(context,), name="fake-token-issuer", daemon=True
        )
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError("the token issuer did not start") from self._error
        if not self._ready.is_set():
            raise RuntimeError("the token issuer did not start in 30 s")

    def _run(self, context: ssl.SSLContext) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(context))
        except BaseException as error:  # reported by _start
            self._error = error
            self._ready.set()
        finally:
            loop.close()

    async def _main(self, context: ssl.SSLContext) -> None:
        self._stop = asyncio.Event()
        metadata = web.Application()
        metadata.router.add_get("/{realm}/v1/.well-known/openidconfiguration", self._metadata)
        metadata.router.add_get("/{realm}/v1/.well-known/keys", self._keys)
        login = web.Application()
        login.router.add_get("/{tenant}/.well-known/openid-configuration", self._login_metadata)
        login.router.add_get(
            "/{tenant}/v2.0/.well-known/openid-configuration", self._login_metadata
        )
        login.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        login.router.add_post("/{tenant}/oauth2/token", self._token)
        async with serve(metadata) as base_url, _serve_tls(login, context) as login_base_url:
            self.base_url, self.login_base_url = base_url, login_base_url
            self._ready.set()
            await self._stop.wait()

    def _close(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have just finished
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)
        for path in self._directory.iterdir():
            path.unlink()
        self._directory.rmdir()


def _oauth_error(error: str, code: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"{code}: the request was refused by the fake issuer.",
        "error_codes": [int(code.removeprefix("AADSTS"))],
    }


@asynccontextmanager
async def token_issuer(**options: Any) -> AsyncIterator[TokenIssuer]:
    """Serve a ``TokenIssuer`` (on its own thread) for the duration of the block."""
    issuer = TokenIssuer(**options)
    try:
        await asyncio.to_thread(issuer._start)
        yield issuer
    finally:
        await asyncio.to_thread(issuer._close)
