"""Closing the loop in Teams, end to end: a decline reaches the gap queue, an admin sees it
with ``kb gaps`` and answers it in the card's form, the answer is retrievable at once and the
asker is told in their reply chain; "Improve this answer" does the same for a wrong answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import text

from bot.platforms.teams.cards import INPUT_ANSWER, INPUT_QUESTION, INPUT_SCOPES
from bot.service.settings import Settings
from tests.fake_teams import (
    ALICE,
    BOB,
    FakeBotConnector,
    TeamsUser,
    card_submit,
    channel_mention,
)
from tests.fake_teams import personal_message as personal
from tests.test_teams import (
    ADMIN,
    QUESTION,
    TeamsBot,
    _environment,
    access_file,
    card_text,
    connector,
    running_bot,
)

__all__ = ["access_file", "connector"]  # fixtures used by the tests below

DOG = "Can I bring my dog to the office?"
DOG_ANSWER = "Yes: dogs are welcome in the office on Fridays, on a lead."
SPOOFING_DOG = "Can I bring my [dog](https://evil.example) to the office?"


@pytest.fixture
async def bot(
    database_url: str, redis_url: str, access_file: Any, connector: FakeBotConnector
) -> AsyncIterator[TeamsBot]:
    settings: Settings = _environment(database_url, redis_url, access_file)
    async with running_bot(settings, connector) as running:
        yield running


def _actions(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return list(reply["attachments"][0]["content"]["actions"])


def _show_card_submit(show_card: dict[str, Any], **inputs: str) -> dict[str, Any]:
    """What Teams sends for the Submit in an Action.ShowCard form: its data plus the inputs."""
    [submit] = show_card["card"]["actions"]
    return {**submit["data"], **inputs}


def _gap_forms(listing: dict[str, Any]) -> list[dict[str, Any]]:
    body = listing["attachments"][0]["content"]["body"]
    return [
        action
        for item in body
        for element in item.get("items", [])
        if element["type"] == "ActionSet"
        for action in element["actions"]
    ]


async def test_a_decline_reaches_the_queue_and_an_admins_answer_reaches_everyone(
    bot: TeamsBot,
) -> None:
    url = bot.connector.service_url
    question = channel_mention(DOG, service_url=url)
    declined = await bot.ask(question)
    assert "couldn't find this" in card_text(declined)
    assert "May they see who asked" in card_text(declined)
    consent = next(a for a in _actions(declined) if a["title"].startswith("🙋"))

    # Nobody but an admin sees the queue; the asker's name only once she agrees.
    refused = await bot.ask(personal("kb gaps", service_url=url))
    assert "only knowledge-base admins" in refused["text"]
    listing = await bot.ask(personal("kb gaps", user=ADMIN, service_url=url))
    shown = str(listing["attachments"][0]["content"])
    assert DOG in shown and "I could not answer" in shown and ALICE.name not in shown
    for user, expected in ((BOB, "Only the person who asked"), (ALICE, "can now see")):
        press = card_submit(
            consent["data"], conversation=question["conversation"], user=user,
            service_url=url, reply_to_id=declined["id"],
        )  # fmt: skip
        assert expected in (await bot.ask(press))["text"]
    listing = await bot.ask(personal("kb gaps", user=ADMIN, service_url=url))
    assert f"May be contacted: {ALICE.name}" in str(listing["attachments"][0]["content"])

    [form] = _gap_forms(listing)
    assert form["type"] == "Action.ShowCard"
    inputs = {i["id"]: i for i in form["card"]["body"]}
    assert inputs[INPUT_QUESTION]["value"] == DOG and inputs[INPUT_SCOPES]["value"] == "public"
    filled = {INPUT_QUESTION: DOG, INPUT_ANSWER: DOG_ANSWER, INPUT_SCOPES: "public"}

    # A non-admin's submit (a forwarded card, say) changes nothing; nor does a bad scope.
    for user, values, expected in (
        (ALICE, filled, "only knowledge-base admins"),
        (ADMIN, {**filled, INPUT_SCOPES: "Not A Scope!"}, "is not a scope name"),
        (ADMIN, {**filled, INPUT_ANSWER: "  "}, "Please write the answer"),
    ):
        press = card_submit(
            _show_card_submit(form, **values), user=user, service_url=url,
            reply_to_id=listing["id"],
        )  # fmt: skip
        assert expected in (await bot.ask(press))["text"]
    assert len(await bot.core.kb.store.list_documents()) == 2

    press = card_submit(
        _show_card_submit(form, **filled), user=ADMIN, service_url=url, reply_to_id=listing["id"]
    )
    saved = await bot.ask(press)
    assert "Saved your answer to #" in saved["text"] and "told the asker" in saved["text"]
    # The asker hears in the reply chain of her question.
    await bot.connector.wait_for(
        lambda: any(DOG_ANSWER in (m.get("text") or "") for m in bot.messages_to(question))
    )
    notice = next(m for m in bot.messages_to(question) if DOG_ANSWER in (m.get("text") or ""))
    assert "An admin has answered your question" in notice["text"]
    assert notice["conversation"]["id"] == question["conversation"]["id"]

    again = await bot.ask(personal(DOG, user=BOB, service_url=url))
    assert "dogs are welcome in the office on Fridays" in card_text(again)
    assert f"1. {DOG}" in card_text(again)  # cited by its question, without a link
    empty = await bot.ask(personal("kb gaps", user=ADMIN, service_url=url))
    assert "No open questions" in empty["text"]


async def test_an_admin_improves_an_answer_from_its_card(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    question = channel_mention(QUESTION, service_url=url)
    reply = await bot.ask(question)
    improve = _actions(reply)[-1]
    assert improve["title"] == "Improve this answer" and improve["mode"] == "secondary"
    inputs = {i["id"]: i for i in improve["card"]["body"]}
    assert "25 days" in inputs[INPUT_ANSWER]["value"] and "[1]" not in inputs[INPUT_ANSWER]["value"]

    better = "From 2027 everyone gets 27 days of annual leave, plus public holidays."
    values = {INPUT_QUESTION: QUESTION, INPUT_ANSWER: better, INPUT_SCOPES: ""}
    for user, expected in ((ALICE, "only knowledge-base admins"), (ADMIN, "Saved your answer")):
        press = card_submit(
            _show_card_submit(improve, **values), conversation=question["conversation"],
            user=user, service_url=url, reply_to_id=reply["id"],
        )  # fmt: skip
        assert expected in (await bot.ask(press))["text"]
    await bot.connector.wait_for(
        lambda: any(better in (m.get("text") or "") for m in bot.messages_to(question))
    )
    notice = next(m for m in bot.messages_to(question) if better in (m.get("text") or ""))
    assert "improved the answer" in notice["text"]
    again = await bot.ask(personal(QUESTION, user=BOB, service_url=url))
    assert "27 days" in card_text(again)
    async with bot.core.kb.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT kind, answer FROM answer_examples"))).all()
    [(kind, answer)] = rows
    assert kind == "admin" and better in answer and "[" in answer  # cites its own document


def _links(markdown: str) -> list[str]:
    """The links a CommonMark renderer (as Teams') makes of ``markdown``."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    inline = [child for token in tokens for child in token.children or []]
    return [str(t.attrs.get("href")) for t in inline if t.type == "link_open"]


async def _answer_first_gap(bot: TeamsBot, scopes: str) -> str:
    url = bot.connector.service_url
    listing = await bot.ask(personal("kb gaps", user=ADMIN, service_url=url))
    form = _gap_forms(listing)[0]
    filled = {INPUT_QUESTION: DOG, INPUT_ANSWER: DOG_ANSWER, INPUT_SCOPES: scopes}
    press = card_submit(
        _show_card_submit(form, **filled), user=ADMIN, service_url=url, reply_to_id=listing["id"]
    )
    return str((await bot.ask(press))["text"])


async def test_a_markdown_link_in_a_question_is_not_a_link_in_its_notice(bot: TeamsBot) -> None:
    question = channel_mention(SPOOFING_DOG, service_url=bot.connector.service_url)
    await bot.ask(question)
    assert "told the asker" in await _answer_first_gap(bot, "public")
    await bot.connector.wait_for(
        lambda: any(DOG_ANSWER in (m.get("text") or "") for m in bot.messages_to(question))
    )
    notice = next(m for m in bot.messages_to(question) if DOG_ANSWER in (m.get("text") or ""))
    assert _links(notice["text"]) == []
    assert r"\[dog\](https://evil.example)" in notice["text"]


async def test_an_hr_answer_to_a_channel_gap_reaches_each_asker_in_their_personal_chat(
    bot: TeamsBot,
) -> None:
    url = bot.connector.service_url
    questions = [
        channel_mention(DOG, user=BOB, service_url=url),  # BOB (an admin too) may see hr
        channel_mention(DOG, user=ALICE, service_url=url),
    ]
    for question in questions:
        await bot.ask(question)
    assert "told 2 askers" in await _answer_first_gap(bot, "hr")

    def personal_chat(user: TeamsUser) -> list[str]:
        """What the bot told ``user`` in their personal chat about an admin's answer."""
        chat = bot.connector.activities(user.personal_conversation_id)
        texts = [a.get("text") or "" for a in chat]
        return [text for text in texts if text.startswith("An admin has")]

    await bot.connector.wait_for(lambda: bool(personal_chat(BOB)) and bool(personal_chat(ALICE)))
    [to_bob], [to_alice] = personal_chat(BOB), personal_chat(ALICE)
    assert DOG_ANSWER in to_bob and f"“{DOG}”" in to_bob
    assert DOG_ANSWER not in to_alice and "only some teams" in to_alice
    for question in questions:  # nothing in the channel's reply chains
        assert not any(DOG_ANSWER in (m.get("text") or "") for m in bot.messages_to(question))
