"""Closing the loop in Slack, end to end: declines and 👎 reach the gap queue, admins see it
with /kb gaps and answer in a modal, the answer is retrievable at once and the asker is told
in their thread; "Improve this answer" does the same for an answer that was wrong."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from bot.platforms.slack.blocks import (
    ACTION_ANSWER_GAP,
    ACTION_CONTACT_OK,
    FORM_ANSWER,
    FORM_QUESTION,
    FORM_SCOPES,
    SHORTCUT_IMPROVE,
)
from tests.fake_slack import (
    BOT_USER_ID,
    FORM,
    block_action_body,
    mention,
    message,
    message_action_body,
    signed_headers,
    view_submission_body,
)
from tests.test_slack import ADMIN, Bot, _button, bot, slack

__all__ = ["bot", "slack"]  # fixtures used by the tests below

DOG = "Can I bring my dog to the office?"
DOG_ANSWER = "Yes: dogs are welcome in the office on Fridays, on a lead."
# Close enough in meaning to DOG to share its gap (with the test embedder).
DOG_COLLEAGUE = "Could I bring my dog to the office?"
DOG_PRIVATELY = "can i bring my dog to the office please"
SPOOFING_DOG = (
    "Can I bring my [dog](https://evil.example) to the office? <!channel> "
    "<https://evil.example|https://hr.example>"
)


async def _gaps(bot: Bot, user: str = ADMIN) -> dict[str, Any]:
    key = await bot.command("gaps", user=user)
    await bot.slack.wait_for(lambda: bool(bot.slack.responses_to(key)))
    return bot.slack.responses_to(key)[0]


async def _interact(bot: Bot, body: bytes) -> tuple[int, str]:
    return await bot.post(body, signed_headers(body, content_type=FORM))


async def _click_gap_answer(bot: Bot, listing: dict[str, Any], user: str = ADMIN) -> str:
    """Click the first gap's "Answer" button in a /kb gaps listing; returns its response key."""
    button = next(
        block["accessory"]
        for block in listing["blocks"]
        if block.get("accessory", {}).get("action_id") == ACTION_ANSWER_GAP
    )
    key = uuid.uuid4().hex
    body = block_action_body(
        ACTION_ANSWER_GAP,
        button["value"],
        user_id=user,
        channel="DADMIN",
        message={"ts": "1.000001", "blocks": listing["blocks"]},
        response_url=bot.slack.response_url(key),
    )
    assert (await _interact(bot, body))[0] == 200
    return key


async def _submit(bot: Bot, view: dict[str, Any], values: dict[str, str], user: str = ADMIN) -> str:
    status, body = await _interact(bot, view_submission_body(view, values, user_id=user))
    assert status == 200
    return body


async def test_a_declined_question_reaches_the_queue_and_only_admins_see_it(bot: Bot) -> None:
    declined = await bot.answer_to(mention(f"<@{BOT_USER_ID}> {DOG}"))
    assert (
        "don't have" in declined["text"]
        or "not covered" in declined["text"].lower()
        or ("couldn't find" in declined["text"])
    )
    assert _button(declined, ACTION_CONTACT_OK)
    # The same question again, worded a little differently, by someone else.
    await bot.answer_to(mention(f"<@{BOT_USER_ID}> can I bring my dog to the office", user="UBOB"))

    refused = await _gaps(bot, user="UALICE")
    assert "only knowledge-base admins" in refused["text"]
    assert DOG not in json.dumps(refused)

    listing = json.dumps(await _gaps(bot), ensure_ascii=False)
    assert DOG in listing
    assert "asked 2 times" in listing and "I could not answer" in listing
    assert "Closest sources" in listing
    assert "UALICE" not in listing and "UBOB" not in listing  # nobody agreed to be contacted

    # Only the asker can agree to be contacted; then admins see who asked.
    for user, expected in (("UCAROL", "Only the person who asked"), ("UALICE", "can now see")):
        key = await bot.click(ACTION_CONTACT_OK, declined, user=user, channel="CGENERAL")
        await bot.slack.wait_for(lambda key=key: bool(bot.responses(key)))  # type: ignore[misc]
        assert expected in bot.responses(key)[0]
    listing = json.dumps(await _gaps(bot), ensure_ascii=False)
    assert "<@UALICE>" in listing and "UBOB" not in listing and "UCAROL" not in listing


async def test_a_downvoted_answer_reaches_the_queue_with_the_bots_answer(bot: Bot) -> None:
    question = "How many days of annual leave do I get?"
    reply = await bot.answer_to(mention(f"<@{BOT_USER_ID}> {question}"))
    assert "25 days" in reply["text"]
    key = await bot.vote(-1, reply, channel="CGENERAL")
    await bot.slack.wait_for(lambda: bool(bot.slack.responses_to(key)))
    response = bot.slack.responses_to(key)[0]
    assert ACTION_CONTACT_OK in json.dumps(response["blocks"])  # the voter asked it
    listing = json.dumps(await _gaps(bot), ensure_ascii=False)
    assert question in listing and "answer got 👎" in listing
    assert "Leave Policy" in listing


async def test_an_admins_answer_is_retrievable_at_once_and_the_asker_is_told_in_the_thread(
    bot: Bot,
) -> None:
    question = bot.slack.remember(mention(f"<@{BOT_USER_ID}> {DOG}"))
    await bot.answer_to(question)
    listing = await _gaps(bot)

    # A non-admin's click opens nothing.
    key = await _click_gap_answer(bot, listing, user="UALICE")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "only knowledge-base admins" in bot.responses(key)[0]
    assert bot.slack.views == []

    await _click_gap_answer(bot, listing)
    await bot.slack.wait_for(lambda: bool(bot.slack.views))
    [view] = bot.slack.views
    assert view["title"]["text"] == "Answer a question"
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert fields[FORM_QUESTION]["initial_value"] == DOG
    assert fields[FORM_SCOPES]["initial_value"] == "public"

    # Bad input stays in the modal with the reason, and changes nothing.
    errors = json.loads(
        await _submit(bot, view, {FORM_QUESTION: DOG, FORM_ANSWER: " ", FORM_SCOPES: "public"})
    )
    assert errors["response_action"] == "errors" and FORM_ANSWER in errors["errors"]
    errors = json.loads(
        await _submit(
            bot, view, {FORM_QUESTION: DOG, FORM_ANSWER: DOG_ANSWER, FORM_SCOPES: "Not A Scope!"}
        )
    )
    assert FORM_SCOPES in errors["errors"]
    errors = json.loads(
        await _submit(
            bot,
            view,
            {FORM_QUESTION: DOG, FORM_ANSWER: DOG_ANSWER, FORM_SCOPES: "public"},
            user="UALICE",
        )
    )
    assert "only knowledge-base admins" in errors["errors"][FORM_ANSWER]
    assert len(await bot.core.kb.store.list_documents()) == 2

    await _submit(bot, view, {FORM_QUESTION: DOG, FORM_ANSWER: DOG_ANSWER, FORM_SCOPES: "public"})
    await bot.slack.wait_for(
        lambda: any(DOG_ANSWER in m["text"] for m in bot.slack.posted("CGENERAL"))
    )
    notice = next(m for m in bot.slack.posted("CGENERAL") if DOG_ANSWER in m["text"])
    assert notice["thread_ts"] == question["ts"]
    assert "An admin has answered your question" in notice["text"]
    await bot.slack.wait_for(lambda: bool(bot.slack.posted(ADMIN)))
    assert "Saved your answer" in bot.slack.posted(ADMIN)[0]["text"]
    assert "told the asker" in bot.slack.posted(ADMIN)[0]["text"]

    [document] = [d for d in await bot.core.kb.store.list_documents() if d.title == DOG]
    assert document.owner == f"<@{ADMIN}>" and document.scopes == ("public",)
    again = await bot.answer_to(mention(f"<@{BOT_USER_ID}> {DOG}", user="UDAVE"))
    assert "dogs are welcome in the office on Fridays" in again["text"]
    assert DOG in json.dumps(again["blocks"])  # cited by its question, without a link
    assert "supportbot:answers" not in json.dumps(again["blocks"])
    assert "No open questions" in (await _gaps(bot))["text"]
    async with bot.core.kb.engine.connect() as connection:
        kinds = (await connection.execute(text("SELECT kind FROM answer_examples"))).scalars()
        assert list(kinds) == ["admin"]


async def test_improve_this_answer_replaces_a_wrong_answer_for_everyone(bot: Bot) -> None:
    question = bot.slack.remember(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
    reply = await bot.answer_to(question)
    reply = bot.slack.message("CGENERAL", reply["ts"])

    key = uuid.uuid4().hex
    body = message_action_body(
        SHORTCUT_IMPROVE, reply, user_id="UALICE", response_url=bot.slack.response_url(key)
    )
    assert (await _interact(bot, body))[0] == 200
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "only knowledge-base admins" in bot.responses(key)[0]
    assert bot.slack.views == []

    key = uuid.uuid4().hex
    body = message_action_body(
        SHORTCUT_IMPROVE, reply, user_id=ADMIN, response_url=bot.slack.response_url(key)
    )
    assert (await _interact(bot, body))[0] == 200
    await bot.slack.wait_for(lambda: bool(bot.slack.views))
    [view] = bot.slack.views
    assert view["title"]["text"] == "Improve this answer"
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert "25 days" in fields[FORM_ANSWER]["initial_value"]
    assert "[1]" not in fields[FORM_ANSWER]["initial_value"]

    better = "From 2027 everyone gets 27 days of annual leave, plus public holidays."
    await _submit(
        bot, view, {FORM_QUESTION: "How many days of annual leave do I get?",
                    FORM_ANSWER: better, FORM_SCOPES: "public"},
    )  # fmt: skip
    await bot.slack.wait_for(lambda: any(better in m["text"] for m in bot.slack.posted("CGENERAL")))
    notice = next(m for m in bot.slack.posted("CGENERAL") if better in m["text"])
    assert notice["thread_ts"] == question["ts"]
    assert "improved the answer" in notice["text"]
    again = await bot.answer_to(
        mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?", user="UDAVE")
    )
    assert "27 days" in again["text"]


async def test_the_shortcut_on_a_message_that_is_not_an_answer_explains_itself(bot: Bot) -> None:
    key = uuid.uuid4().hex
    body = message_action_body(
        SHORTCUT_IMPROVE,
        {"type": "message", "ts": "1.000002", "text": "hello", "user": "UALICE"},
        user_id=ADMIN,
        response_url=bot.slack.response_url(key),
    )
    assert (await _interact(bot, body))[0] == 200
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "not one of my answers" in bot.responses(key)[0]
    assert bot.slack.views == []


async def test_an_hr_answer_to_a_public_gap_reaches_askers_privately_and_dms_stay_apart(
    bot: Bot,
) -> None:
    # Two people ask in a public channel (one of them may see hr), a third in a DM.
    hr_person = bot.slack.remember(mention(f"<@{BOT_USER_ID}> {DOG}", user="UHRBOB"))
    await bot.answer_to(hr_person)
    colleague = bot.slack.remember(mention(f"<@{BOT_USER_ID}> {DOG_COLLEAGUE}"))
    await bot.answer_to(colleague)
    await bot.answer_to(message(DOG_PRIVATELY, user="UCAROL", channel="DCAROL"))

    listing = await _gaps(bot)
    shown = json.dumps(listing, ensure_ascii=False)
    assert "asked 2 times" in shown and "asked once" in shown  # the DM has a gap of its own
    await _click_gap_answer(bot, listing)  # the most asked: the channel's
    await bot.slack.wait_for(lambda: bool(bot.slack.views))
    [view] = bot.slack.views
    await _submit(bot, view, {FORM_QUESTION: DOG, FORM_ANSWER: DOG_ANSWER, FORM_SCOPES: "hr"})
    await bot.slack.wait_for(lambda: bool(bot.slack.posted(ADMIN)))
    assert "told 2 askers" in bot.slack.posted(ADMIN)[0]["text"]

    # Nothing in the public channel; the hr person hears with the answer, the other without.
    assert not any(DOG_ANSWER in m["text"] for m in bot.slack.posted("CGENERAL"))
    [to_hr] = bot.slack.posted("UHRBOB")
    assert DOG_ANSWER in to_hr["text"] and "thread_ts" not in to_hr
    assert f"“{DOG}”" in to_hr["text"] and DOG_COLLEAGUE not in to_hr["text"]
    [to_colleague] = bot.slack.posted("UALICE")
    assert DOG_ANSWER not in to_colleague["text"] and "only some teams" in to_colleague["text"]
    assert f"“{DOG_COLLEAGUE}”" in to_colleague["text"]
    # The DM's question is still waiting, and its words went nowhere.
    assert bot.slack.posted("DCAROL")[1:] == [] and bot.slack.posted("UCAROL") == []
    assert not any(DOG_PRIVATELY in m["text"] for m in bot.slack.posted())


async def test_a_gap_notice_shows_the_askers_links_and_mentions_as_plain_text(bot: Bot) -> None:
    question = bot.slack.remember(mention(f"<@{BOT_USER_ID}> {SPOOFING_DOG}"))
    await bot.answer_to(question)
    await _click_gap_answer(bot, await _gaps(bot))
    await bot.slack.wait_for(lambda: bool(bot.slack.views))
    [view] = bot.slack.views
    await _submit(bot, view, {FORM_QUESTION: DOG, FORM_ANSWER: DOG_ANSWER, FORM_SCOPES: "public"})
    await bot.slack.wait_for(
        lambda: any(DOG_ANSWER in m["text"] for m in bot.slack.posted("CGENERAL"))
    )
    notice = next(m for m in bot.slack.posted("CGENERAL") if DOG_ANSWER in m["text"])["text"]
    assert "<!channel>" not in notice and "&lt;!channel&gt;" in notice
    assert "<https://evil.example" not in notice and "<https://hr.example" not in notice
    assert "&lt;https://evil.example|https://hr.example&gt;" in notice
    assert "[dog](https://evil.example)" in notice  # shown as typed, not a link
