"""The Slack fake speaks the protocol the real slack_sdk client and Bolt's parser expect."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    FORM,
    SIGNING_SECRET,
    TEAM_ID,
    block_action_body,
    event_body,
    fake_slack,
    mention,
    message,
    signed_headers,
    slash_command_body,
)


async def test_thread_reply_with_blocks_is_read_back_by_conversations_replies() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        parent = slack.add_message("CGENERAL", "<@UBOT> how many vacation days?")
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*25* days"}}]

        posted = await client.chat_postMessage(
            channel="CGENERAL", thread_ts=parent, text="25 days", blocks=blocks
        )
        thread = await client.conversations_replies(channel="CGENERAL", ts=parent)

        assert posted["message"]["bot_id"] == BOT_ID
        assert [m["ts"] for m in thread["messages"]] == [parent, posted["ts"]]
        assert thread["messages"][1]["blocks"] == blocks
        assert thread["messages"][1]["user"] == BOT_USER_ID
        assert slack.posted("CGENERAL")[0]["blocks"] == blocks
        assert slack.calls_to("conversations.replies")[0].args == {
            "channel": "CGENERAL",
            "ts": parent,
        }
        assert {c.token for c in slack.calls} == {BOT_TOKEN}


def _feedback_block(**positive: Any) -> dict[str, Any]:
    button = {"text": {"type": "plain_text", "text": "👍"}, "value": "+1 a 1.2"}
    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": "feedback",
                "positive_button": {**button, **positive},
                "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": "-1"},
            }
        ],
    }


@pytest.mark.parametrize(
    "block",
    [
        _feedback_block(text={"type": "mrkdwn", "text": "*yes*"}),
        _feedback_block(value=""),
        _feedback_block(accessibility_label="x" * 76),
        _feedback_block(label="a field Slack does not know"),
        {"type": "context_actions", "elements": []},
        {"type": "context_actions", "elements": [{"type": "button", "text": "x"}]},
    ],
)
async def test_feedback_buttons_slack_would_refuse_are_refused(block: dict[str, Any]) -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        await client.chat_postMessage(channel="CGENERAL", text="ok", blocks=[_feedback_block()])
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="CGENERAL", text="25 days", blocks=[block])
        assert raised.value.response["error"] == "invalid_blocks"
        assert [m["text"] for m in slack.posted()] == ["ok"]


async def test_injected_error_raises_slack_api_error_then_service_resumes() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        slack.fail("chat.postMessage", "not_in_channel")

        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="CGENERAL", text="hi")
        await client.chat_postMessage(channel="CGENERAL", text="hi again")

        assert raised.value.response["error"] == "not_in_channel"
        assert [c.outcome for c in slack.calls] == ["error", "ok"]
        assert [m["text"] for m in slack.posted()] == ["hi again"]


async def test_wrong_token_and_unknown_method_are_refused_like_slack() -> None:
    async with fake_slack() as slack:
        wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
        with pytest.raises(SlackApiError) as raised:
            await wrong.auth_test()
        assert raised.value.response["error"] == "invalid_auth"

        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        with pytest.raises(SlackApiError) as raised:
            await client.api_call("users.nonsense")
        assert raised.value.response["error"] == "unknown_method"
        assert (await client.auth_test())["user_id"] == BOT_USER_ID


async def test_rate_limit_is_retried_by_the_sdk_handler() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(
            token=BOT_TOKEN,
            base_url=slack.api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        slack.rate_limit("chat.postMessage", retry_after=0)

        posted = await client.chat_postMessage(channel="CGENERAL", text="hello")

        assert posted["ok"]
        assert [c.outcome for c in slack.calls] == ["rate_limited", "ok"]
        assert len(slack.posted()) == 1


async def test_rate_limit_without_a_retry_handler_surfaces_429() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        slack.rate_limit("reactions.add", retry_after=7)

        with pytest.raises(SlackApiError) as raised:
            await client.reactions_add(channel="CGENERAL", timestamp="1.0", name="eyes")

        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "7"
        assert slack.reactions == set()


async def test_conversations_members_paginates_with_cursor() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        slack.members["CHR"] = ["U1", "U2", "U3", "U4", "U5"]

        first = await client.conversations_members(channel="CHR", limit=2)
        cursor = first["response_metadata"]["next_cursor"]
        second = await client.conversations_members(channel="CHR", limit=2, cursor=cursor)
        assert first["members"] == ["U1", "U2"]
        assert second["members"] == ["U3", "U4"]

        # The SDK's own iteration follows next_cursor (and rebinds the response as it goes).
        pages = [page["members"] async for page in first]
        assert pages == [["U1", "U2"], ["U3", "U4"], ["U5"]]
        with pytest.raises(SlackApiError) as raised:
            await client.conversations_members(channel="CNOPE")
        assert raised.value.response["error"] == "channel_not_found"


async def test_hosted_file_downloads_only_with_the_bot_token() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        hosted = slack.host_file("leave.md", b"# Leave\n25 days.", "text/markdown")

        info = (await client.files_info(file=hosted["id"]))["file"]
        async with aiohttp.ClientSession() as http:
            url = info["url_private_download"]
            async with http.get(url, headers={"Authorization": f"Bearer {BOT_TOKEN}"}) as ok:
                assert ok.status == 200
                assert ok.content_type == "text/markdown"
                assert await ok.read() == b"# Leave\n25 days."
            async with http.get(url) as refused:
                assert refused.status == 403

        assert info["url_private_download"].endswith(f"/{TEAM_ID}-{hosted['id']}/download/leave.md")
        assert len(slack.downloads) == 1


async def test_signed_headers_verify_and_tampering_does_not() -> None:
    body = event_body(mention("<@UBOT> hi"))
    headers = signed_headers(body)
    verifier = SignatureVerifier(SIGNING_SECRET)

    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"hi", b"ho"), headers)
    assert not verifier.is_valid_request(body, signed_headers(body, secret="other"))
    stale = signed_headers(body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)
    assert signed_headers(body, retry_num=1)["X-Slack-Retry-Num"] == "1"


async def test_bolt_parses_the_request_builders() -> None:
    posted: dict[str, Any] = {
        "type": "message",
        "ts": "1700000100.000009",
        "thread_ts": "1700000100.000001",
    }
    posted["blocks"] = [
        {
            "type": "actions",
            "block_id": "answer-feedback",
            "elements": [
                {
                    "type": "button",
                    "action_id": "helpful",
                    "text": {"type": "plain_text", "text": "Helpful"},
                }
            ],
        }
    ]
    clicked = AsyncBoltRequest(
        body=block_action_body(
            "helpful", "yes", message=posted, response_url="http://x/response/a"
        ).decode(),
        headers={"content-type": FORM},
    )
    assert clicked.body["actions"][0]["block_id"] == "answer-feedback"
    assert clicked.body["container"]["thread_ts"] == posted["thread_ts"]
    assert clicked.context.channel_id == "CGENERAL"
    assert clicked.context.user_id == "UALICE"
    assert clicked.context.response_url == "http://x/response/a"

    command = slash_command_body("add https://x", response_url="http://x/response/b")
    assert parse_qs(command.decode())["command"] == ["/kb"]
    slash = AsyncBoltRequest(body=command.decode(), headers={"content-type": FORM})
    assert slash.body["text"] == "add https://x"
    assert slash.context.team_id == TEAM_ID

    dm = message("see attached", files=[{"id": "F0001"}])
    event = AsyncBoltRequest(body=event_body(dm).decode(), headers={"content-type": "json"})
    assert event.body["event"]["subtype"] == "file_share"
    assert event.context.channel_id == "DALICE"
    edited = json.loads(event_body(message("new", subtype="message_changed")))["event"]
    assert edited["message"]["text"] == "new"
    assert "user" not in edited
