"""What a replica taking over a Slack question finds of its predecessor's answer: a complete
answer stops it; a stream cut off mid-answer is removed before it answers; messages at the top
level of a DM are never touched."""

from __future__ import annotations

import json

from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.durable import earlier_answer, remove_cut_answers
from tests.fake_slack import BOT_ID, BOT_TOKEN, BOT_USER_ID, fake_slack


async def test_a_complete_answer_is_found_by_the_question_ts_in_its_buttons() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        question = slack.add_message("CHELP", f"<@{BOT_USER_ID}> how many days of leave?")
        await client.chat_postMessage(
            channel="CHELP",
            thread_ts=question,
            text="25 days [1]",
            blocks=[{"type": "actions", "block_id": f"answer:{question}", "elements": []}],
        )
        found = await earlier_answer(client, "CHELP", question, question)
    assert found.complete and found.cut == ()


async def test_a_cut_stream_is_found_and_removed_and_nothing_else() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        earlier = slack.add_message("CHELP", "an earlier question")
        before = slack.add_message("CHELP", "a note", thread_ts=earlier, bot_id=BOT_ID)
        question = slack.add_message("CHELP", "a follow-up?", thread_ts=earlier)
        stream = await client.chat_startStream(
            channel="CHELP",
            thread_ts=earlier,
            markdown_text="You get 25",
            recipient_user_id="UALICE",
            recipient_team_id="T1",
        )
        later = slack.add_message("CHELP", "a later notice", thread_ts=earlier, bot_id=BOT_ID)
        found = await earlier_answer(client, "CHELP", earlier, question)
        assert not found.complete and found.cut == (stream["ts"],)
        await remove_cut_answers(client, "CHELP", found.cut)
        left = [m["ts"] for m in slack.history["CHELP"]]
    assert stream["ts"] not in left
    assert {before, question, later} <= set(left)


async def test_top_level_messages_of_a_dm_are_never_taken_for_a_cut_stream() -> None:
    async with fake_slack() as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        question = slack.add_message("DALICE", "how many days of leave?")
        report = slack.add_message("DALICE", "Added expenses.md", bot_id=BOT_ID)
        found = await earlier_answer(client, "DALICE", None, question)
    assert not found.complete and found.cut == ()
    assert report in json.dumps(slack.history["DALICE"])
