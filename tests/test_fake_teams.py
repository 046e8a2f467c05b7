"""The Teams fakes against the real Bot Framework libraries: a ``CloudAdapter`` serving a small
bot on loopback HTTP, fed the builders' activities, replying through ``FakeBotConnector`` and
authenticating with ``TokenIssuer``'s tokens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
import pytest
from aiohttp import web
from botbuilder.core import InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import (
    TeamsActivityHandler,
    TeamsInfo,
    teams_get_channel_id,
    teams_get_team_info,
)
from botbuilder.core.teams.teams_activity_extensions import teams_get_channel_data
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from botbuilder.schema.teams import TeamInfo, TeamsChannelAccount

from tests.fake_teams import (
    ALICE,
    BOB,
    BOT_APP_ID,
    BOT_ID,
    FILE_DOWNLOAD_INFO,
    HELPDESK_CHANNEL_ID,
    TEAM_ID,
    TEAM_NAME,
    TENANT_ID,
    FakeBotConnector,
    TokenIssuer,
    card_execute,
    card_submit,
    channel_conversation,
    channel_mention,
    conversation_update,
    fake_connector,
    file_message,
    group_chat_mention,
    new_message_id,
    personal_message,
    thread_conversation_id,
    token_issuer,
)
from tests.loopback import serve

Action = Callable[[TurnContext], Awaitable[None]]


class RecordingBot(TeamsActivityHandler):  # type: ignore[misc]  # botbuilder is untyped
    """Replies ``echo: <text>`` (or runs ``action``); records turns and the errors they raised."""

    def __init__(self) -> None:
        self.turns: list[Activity] = []
        self.references: list[ConversationReference] = []
        self.errors: list[Exception] = []
        self.members_added: list[tuple[list[TeamsChannelAccount], TeamInfo | None]] = []
        self.action: Action | None = None

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        self.turns.append(turn_context.activity)
        self.references.append(TurnContext.get_conversation_reference(turn_context.activity))
        try:
            if self.action:
                await self.action(turn_context)
            else:
                text = TurnContext.remove_recipient_mention(turn_context.activity) or ""
                await turn_context.send_activity(f"echo: {text.strip()}")
        except Exception as error:
            self.errors.append(error)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        self.turns.append(turn_context.activity)
        verb = turn_context.activity.value["action"]["verb"]
        text_block = {"type": "TextBlock", "text": f"Recorded: {verb}"}
        card = {"type": "AdaptiveCard", "version": "1.4", "body": [text_block]}
        # Not on_adaptive_card_invoke: ActivityHandler serializes its answer into a dict and
        # CloudAdapter.process serializes that again, which fails (HTTP 500, botbuilder 4.17.1).
        body = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
        )
        return InvokeResponse(status=200, body=body)

    async def on_teams_members_added(
        self,
        teams_members_added: list[TeamsChannelAccount],
        team_info: TeamInfo | None,
        turn_context: TurnContext,
    ) -> None:
        self.members_added.append((teams_members_added, team_info))


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with fake_connector() as fake:
        yield fake


@pytest.fixture
async def issuer(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TokenIssuer]:
    async with token_issuer() as fake:
        # MSAL (through requests) must trust the issuer's HTTPS login endpoint.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_bundle)
        yield fake


@asynccontextmanager
async def bot_server(
    bot: RecordingBot, config: dict[str, Any] | None = None
) -> AsyncIterator[tuple[str, CloudAdapter]]:
    """The bot behind a ``CloudAdapter`` at ``/api/messages``; yields that URL and the adapter.

    Without ``config`` there is no app id, so authentication is off (as in local development).
    """
    auth = ConfigurationBotFrameworkAuthentication(SimpleNamespace(**(config or {})))
    adapter = CloudAdapter(auth)

    async def messages(request: web.Request) -> web.Response:
        response: web.Response | None = await adapter.process(request, bot)
        assert response is not None
        return response

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    async with serve(app) as base_url:
        yield f"{base_url}/api/messages", adapter


async def post(url: str, activity: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=activity, headers=headers) as response,
    ):
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


# ---- the builders


def test_builders_read_as_teams_activities() -> None:
    service_url = "https://smba.trafficmanager.net/amer/tenant/"
    personal = Activity().deserialize(personal_message("hello", service_url=service_url))
    channel = Activity().deserialize(channel_mention("hello", service_url=service_url))
    group = Activity().deserialize(group_chat_mention("hello", service_url=service_url))

    assert personal.conversation.conversation_type == "personal"
    # botbuilder maps ConversationAccount.tenant_id to "tenantID"; Teams sends "tenantId".
    assert personal.conversation.additional_properties["tenantId"] == TENANT_ID
    assert teams_get_channel_data(personal).tenant.id == TENANT_ID
    assert personal.from_property.aad_object_id == ALICE.aad_object_id
    assert personal.recipient.id == BOT_ID
    assert channel.conversation.id == thread_conversation_id(HELPDESK_CHANNEL_ID, channel.id)
    assert teams_get_channel_id(channel) == HELPDESK_CHANNEL_ID
    assert teams_get_team_info(channel).id == TEAM_ID
    assert group.conversation.conversation_type == "groupChat"
    for mentioned in (channel, group):
        assert TurnContext.remove_recipient_mention(mentioned).strip() == "hello"
    assert [e.type for e in channel.entities] == ["mention", "clientInfo"]


# ---- the Bot Connector


async def test_personal_reply_goes_to_the_reply_route(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    message = personal_message("hello", service_url=connector.service_url)
    async with bot_server(bot) as (url, _):
        status, _ = await post(url, message)

    assert status == 201  # CloudAdapter.process answers 201 when there is no invoke response
    await connector.wait_for(lambda: len(connector.replies_to(message["id"])) == 1)
    (call,) = connector.calls
    conversation = ALICE.personal_conversation_id
    assert call.path == (
        f"{connector.service_path}v3/conversations/{quote(conversation, safe='')}"
        f"/activities/{message['id']}"
    )
    assert (call.method, call.conversation_id, call.activity_id) == (
        "POST",
        conversation,
        message["id"],
    )
    reply = connector.replies_to(message["id"])[0]
    assert reply["text"] == "echo: hello"
    assert reply["from"]["id"] == BOT_ID and reply["recipient"]["id"] == ALICE.id
    assert call.authorization is None  # no app id: no token


async def test_channel_thread_reply_stays_in_the_thread(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    root = new_message_id()
    message = channel_mention(
        "where is the VPN guide?", service_url=connector.service_url, thread_id=root
    )
    async with bot_server(bot) as (url, _):
        await post(url, message)

    thread = thread_conversation_id(HELPDESK_CHANNEL_ID, root)
    assert message["replyToId"] == root and message["conversation"]["id"] == thread
    (call,) = connector.calls
    assert (call.conversation_id, call.activity_id) == (thread, message["id"])
    assert ";messageid=" not in call.path  # percent-encoded on the wire
    assert [a["text"] for a in connector.activities(thread)] == ["echo: where is the VPN guide?"]


async def test_fail_surfaces_as_an_error_response(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    connector.fail(403)
    async with bot_server(bot) as (url, _):
        await post(url, personal_message("first", service_url=connector.service_url))
        await post(url, personal_message("second", service_url=connector.service_url))

    (error,) = bot.errors
    assert isinstance(error, ErrorResponseException)
    assert error.response.status_code == 403
    assert error.error.error.code == "BotNotInConversationRoster"
    assert [a["text"] for a in connector.activities()] == ["echo: second"]


async def test_rate_limit_surfaces_with_retry_after(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    connector.rate_limit(retry_after=7)
    async with bot_server(bot) as (url, _):
        await post(url, personal_message("hello", service_url=connector.service_url))

    (error,) = bot.errors
    assert isinstance(error, ErrorResponseException)
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert len(connector.calls) == 1  # the connector client does not retry a POST


async def test_delay_holds_the_answer(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    connector.delay(0.4)
    async with bot_server(bot) as (url, _):
        started = time.monotonic()
        await post(url, personal_message("hello", service_url=connector.service_url))
        assert time.monotonic() - started >= 0.4
    assert len(connector.activities()) == 1


async def test_update_and_delete_change_what_was_sent(connector: FakeBotConnector) -> None:
    bot = RecordingBot()

    async def edit(turn_context: TurnContext) -> None:
        draft = await turn_context.send_activity("draft")
        final = MessageFactory.text("final")
        final.id = draft.id
        await turn_context.update_activity(final)
        temporary = await turn_context.send_activity("thinking…")
        await turn_context.delete_activity(temporary.id)

    bot.action = edit
    async with bot_server(bot) as (url, _):
        await post(url, personal_message("hello", service_url=connector.service_url))

    assert not bot.errors
    assert [c.kind for c in connector.calls] == ["reply", "update", "reply", "delete"]
    (kept,) = connector.activities(ALICE.personal_conversation_id)
    assert kept["text"] == "final"
    assert kept["id"] == connector.calls[1].activity_id  # the update addressed the draft


async def test_continue_conversation_posts_into_the_same_thread(
    connector: FakeBotConnector,
) -> None:
    bot = RecordingBot()
    root = new_message_id()
    async with bot_server(bot) as (url, adapter):
        await post(url, channel_mention("hi", service_url=connector.service_url, thread_id=root))

        async def later(turn_context: TurnContext) -> None:
            await turn_context.send_activity("the answer, later")

        await adapter.continue_conversation(bot.references[0], later, BOT_APP_ID)

    thread = thread_conversation_id(HELPDESK_CHANNEL_ID, root)
    assert [a["text"] for a in connector.activities(thread)] == ["echo: hi", "the answer, later"]
    proactive = connector.calls[-1]
    assert proactive.conversation_id == thread
    # CloudAdapter replies to its continuation activity's fresh uuid1, not to a Teams message.
    assert proactive.kind == "reply" and proactive.activity_id != root


async def test_create_conversation_starts_a_channel_thread(connector: FakeBotConnector) -> None:
    seen: list[str] = []

    async def follow_up(turn_context: TurnContext) -> None:
        seen.append(turn_context.activity.conversation.id)
        await turn_context.send_activity("follow-up")

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(SimpleNamespace()))
    parameters = ConversationParameters(
        is_group=True,
        channel_data={"channel": {"id": HELPDESK_CHANNEL_ID}},
        activity=MessageFactory.text("New policy published"),
    )
    await adapter.create_conversation(
        BOT_APP_ID, follow_up, parameters, "msteams", connector.service_url
    )

    (created,) = connector.created_conversations
    assert created.activity_id is not None
    thread = thread_conversation_id(HELPDESK_CHANNEL_ID, created.activity_id)
    assert seen == [created.id] == [thread]
    assert created.parameters["isGroup"] is True
    posts = connector.activities(thread)
    assert [a["text"] for a in posts] == ["New policy published", "follow-up"]
    assert posts[0]["id"] == created.activity_id


async def test_create_conversation_opens_a_personal_chat(connector: FakeBotConnector) -> None:
    seen: list[str] = []

    async def greet(turn_context: TurnContext) -> None:
        seen.append(turn_context.activity.conversation.id)
        await turn_context.send_activity("hello Bob")

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(SimpleNamespace()))
    parameters = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id=BOT_ID),
        members=[ChannelAccount(id=BOB.id)],
        tenant_id=TENANT_ID,
    )
    await adapter.create_conversation(
        BOT_APP_ID, greet, parameters, "msteams", connector.service_url
    )

    assert seen == [BOB.personal_conversation_id]
    assert connector.created_conversations[0].activity_id is None
    assert [a["text"] for a in connector.activities(BOB.personal_conversation_id)] == ["hello Bob"]


async def test_get_member_finds_known_members_only(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    found: list[TeamsChannelAccount] = []

    async def look_up(turn_context: TurnContext) -> None:
        found.append(await TeamsInfo.get_member(turn_context, ALICE.aad_object_id))
        await TeamsInfo.get_member(turn_context, "29:stranger")

    bot.action = look_up
    async with bot_server(bot) as (url, _):
        await post(url, personal_message("who am I?", service_url=connector.service_url))

    assert [(m.id, m.email, m.user_principal_name) for m in found] == [
        (ALICE.id, ALICE.email, ALICE.email)
    ]
    (error,) = bot.errors
    assert isinstance(error, ErrorResponseException) and error.response.status_code == 404


async def test_hosted_file_downloads(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    content = b"# VPN\nConnect first."
    url_of_file = connector.host_file("vpn guide.md", content)

    async def read_file(turn_context: TurnContext) -> None:
        (attachment,) = turn_context.activity.attachments
        assert attachment.content_type == FILE_DOWNLOAD_INFO
        async with (
            aiohttp.ClientSession() as session,
            session.get(attachment.content["downloadUrl"]) as response,
        ):
            data = await response.read()
        await turn_context.send_activity(f"{attachment.name}: {len(data)} bytes")

    bot.action = read_file
    message = file_message("vpn guide.md", url_of_file, service_url=connector.service_url)
    async with bot_server(bot) as (url, _):
        await post(url, message)

    assert not bot.errors
    assert connector.downloads == ["vpn guide.md"]
    assert [a["text"] for a in connector.activities()] == [f"vpn guide.md: {len(content)} bytes"]


async def test_card_submit_and_execute(connector: FakeBotConnector) -> None:
    bot = RecordingBot()

    async def thank(turn_context: TurnContext) -> None:
        await turn_context.send_activity("thanks")

    bot.action = thank
    card_id = new_message_id()
    thread = channel_conversation(HELPDESK_CHANNEL_ID, new_message_id())
    submit = card_submit(
        {"verb": "helpful"},
        conversation=thread,
        service_url=connector.service_url,
        reply_to_id=card_id,
    )
    execute = card_execute(
        "not_helpful", {"answer_id": "a1"}, service_url=connector.service_url, reply_to_id=card_id
    )
    async with bot_server(bot) as (url, _):
        assert (await post(url, submit))[0] == 201
        status, body = await post(url, execute)

    submitted, executed = bot.turns
    assert (submitted.value, submitted.text, submitted.reply_to_id) == (
        {"verb": "helpful"},
        None,
        card_id,
    )
    assert teams_get_channel_id(submitted) == HELPDESK_CHANNEL_ID
    assert executed.conversation.conversation_type == "personal"
    assert status == 200 and body["value"]["body"][0]["text"] == "Recorded: not_helpful"
    assert [c.activity_id for c in connector.calls] == [submit["id"]]  # "thanks" replied


async def test_team_install_reports_the_team_and_members(connector: FakeBotConnector) -> None:
    bot = RecordingBot()
    update = conversation_update(
        members_added=[BOT_ID, BOB],
        conversation=channel_conversation(TEAM_ID, new_message_id()),
        service_url=connector.service_url,
    )
    async with bot_server(bot) as (url, _):
        await post(url, update)

    ((members, team),) = bot.members_added
    assert team is not None and (team.id, team.name) == (TEAM_ID, TEAM_NAME)
    assert [m.id for m in members] == [BOT_ID, BOB.id]
    assert members[1].email == BOB.email  # from GET .../members/{id}
    assert [c.kind for c in connector.calls] == ["member"]  # TeamsActivityHandler looked Bob up


# ---- the token issuer


async def test_issued_token_is_accepted_and_the_reply_is_authorized(
    connector: FakeBotConnector, issuer: TokenIssuer
) -> None:
    bot = RecordingBot()
    token = issuer.issue(service_url=connector.service_url)
    async with bot_server(bot, issuer.config()) as (url, _):
        status, _ = await post(
            url, personal_message("hi", service_url=connector.service_url), token
        )

    assert status == 201 and len(bot.turns) == 1 and not bot.errors
    (request,) = issuer.token_requests
    assert request.form["client_id"] == BOT_APP_ID
    assert request.form["scope"] == "https://api.botframework.com/.default"
    assert connector.calls[0].authorization == f"Bearer {issuer.access_tokens[0]}"


@pytest.mark.parametrize("kind", ["missing", "forged", "expired", "other app", "other url"])
async def test_bad_tokens_are_refused(
    connector: FakeBotConnector, issuer: TokenIssuer, kind: str
) -> None:
    bot = RecordingBot()
    service_url = connector.service_url
    token = {
        "missing": None,
        "forged": issuer.forged(service_url=service_url),
        "expired": issuer.expired(service_url=service_url),
        "other app": issuer.issue(app_id="another-app", service_url=service_url),
        "other url": issuer.issue(service_url="https://smba.trafficmanager.net/emea/"),
    }[kind]
    async with bot_server(bot, issuer.config()) as (url, _):
        status, _ = await post(url, personal_message("hi", service_url=service_url), token)

    # CloudAdapter turns only PermissionError into 401; other auth failures escape as 500.
    assert status in (401, 500)
    assert not bot.turns and not connector.calls


async def test_authentication_refuses_for_the_right_reason(issuer: TokenIssuer) -> None:
    auth = ConfigurationBotFrameworkAuthentication(SimpleNamespace(**issuer.config()))
    service_url = "https://smba.trafficmanager.net/amer/tenant/"
    activity = Activity().deserialize(personal_message("hi", service_url=service_url))

    async def authenticate(token: str) -> object:
        return await auth.authenticate_request(activity, f"Bearer {token}")

    result = await authenticate(issuer.issue(service_url=service_url))
    assert result.claims_identity.claims["aud"] == BOT_APP_ID  # type: ignore[attr-defined]
    with pytest.raises(jwt.InvalidSignatureError):
        await authenticate(issuer.forged(service_url=service_url))
    with pytest.raises(jwt.ExpiredSignatureError):
        await authenticate(issuer.expired(service_url=service_url))
    with pytest.raises(PermissionError, match="AppId"):
        await authenticate(issuer.issue(app_id="another-app", service_url=service_url))
    with pytest.raises(PermissionError, match="serviceurl"):
        await authenticate(issuer.issue(service_url="https://elsewhere.example/"))
    # No header: the parameterized authentication fails on None.claims, not PermissionError.
    with pytest.raises((AttributeError, PermissionError)):
        await auth.authenticate_request(activity, "")


async def test_wrong_password_fails_the_outgoing_token(
    connector: FakeBotConnector, issuer: TokenIssuer
) -> None:
    bot = RecordingBot()
    token = issuer.issue(service_url=connector.service_url)
    async with bot_server(bot, issuer.config(APP_PASSWORD="wrong")) as (url, _):
        await post(url, personal_message("hi", service_url=connector.service_url), token)

    (error,) = bot.errors
    assert isinstance(error, PermissionError) and "invalid_client" in str(error)
    assert [r.status for r in issuer.token_requests] == [401]
    assert not connector.calls
