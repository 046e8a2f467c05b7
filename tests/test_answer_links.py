"""Links in answers: only to the cited sources' hosts. Any other link the model writes is shown
as its words and its URL, clickable nowhere: in the core's text, in Slack's blocks and in
Teams' cards."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.core.links import restrict_links, stray_links
from bot.core.types import Citation
from bot.platforms.slack.mrkdwn import to_mrkdwn
from bot.platforms.teams.markdown import to_card_blocks
from tests.fake_openai import fake_openai
from tests.fake_slack import BOT_USER_ID, fake_slack, mention
from tests.fake_teams import FakeBotConnector, group_chat_mention
from tests.test_slack import _settings as slack_settings
from tests.test_slack import running_bot as running_slack_bot
from tests.test_teams import _environment as teams_settings
from tests.test_teams import access_file, card_text, connector
from tests.test_teams import running_bot as running_teams_bot

__all__ = ["access_file", "connector"]  # fixtures used by the tests below

LEAVE = Citation(n=1, doc_id="d1", title="Leave Policy", section="", url="https://hb.test/leave")
HOSTS = {"hb.test"}
# What a model talked into it might write: each must come out with no link off hb.test.
SPOOFED = [
    "Reset it at [the HR portal](https://evil.example/reset) [1].",
    "[HR portal](https://hb.test.evil.example/login)",
    "[HR portal](https://hb.test@evil.example/login)",
    "[HR portal](HTTPS://EVIL.EXAMPLE/)",
    "[HR portal](//evil.example/login)",
    "[HR portal](javascript:alert(document.cookie))",
    "[HR portal](data:text/html;base64,PHNjcmlwdD4=)",
    "[HR portal](<https://evil.example/a b> 'title')",
    "[HR portal]( https://evil.example\n'on the next line' )",
    "[**HR** _portal_](https://evil.example/`x`)",
    "![badge](https://evil.example/pixel.png)",
    "[![logo](https://hb.test/logo.png)](https://evil.example)",
    "<https://evil.example/reset> or <payroll@evil.example>",
    "[HR portal][hr]\n\n[hr]: https://evil.example/reset",
    '[HR portal]\n\n[HR portal]: <https://evil.example> "Official"',
    "> [quoted][q]\n>\n> [q]: https://evil.example",
    "- [listed](https://evil.example)\n  - [nested](https://evil.example/2)",
    "| Portal |\n| --- |\n| [HR](https://evil.example) |",
    "[a](https://evil.example)[b](https://evil2.example)[c](https://hb.test/ok)",
    "[outer [inner](https://evil.example/1)](https://evil.example/2)",
    "[HR portal](https://xn--hb-test-evil.example/) [HR](https://bücher.example/)",
    "[x](https://evil.example\\))",
    "\\\\[HR portal](https://evil.example)",
]


# A link in Slack mrkdwn is <url> or <url|label>; in a Teams card, [label](url).
SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
CARD_LINK = re.compile(r"\]\(([^()\s]+)\)")


@pytest.mark.parametrize("markdown", SPOOFED)
def test_no_link_leaves_the_cited_hosts(markdown: str) -> None:
    restricted = restrict_links(markdown, [LEAVE])
    assert stray_links(restricted, HOSTS) == []
    slack_targets = SLACK_LINK.findall(to_mrkdwn(restricted))
    card_targets = CARD_LINK.findall("\n".join(to_card_blocks(restricted)))
    for target in [*slack_targets, *card_targets]:
        assert target.startswith("https://hb.test/"), (markdown, target)


def test_a_refused_link_keeps_its_words_and_shows_its_url() -> None:
    restricted = restrict_links(SPOOFED[0], [LEAVE])
    assert restricted == "Reset it at the HR portal (`https://evil.example/reset`) [1]."
    assert to_mrkdwn(restricted) == restricted  # code, not <url|label>
    assert to_card_blocks(restricted) == [
        "Reset it at the HR portal (https://evil.example/reset) [1]."
    ]


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        (
            "We offer a [monthly budget](spending.md#coworking) [1].",
            "We offer a monthly budget [1].",
        ),
        ("See [the form](../forms/leave.md) [1].", "See the form [1]."),
        # No scheme, but a host a chat client could turn into a link: its words alone too.
        ("Log in at [the portal](evil.example/login) [1].", "Log in at the portal [1]."),
        (
            "A protocol-relative [link](//evil.example/x).",
            "A protocol-relative link (`//evil.example/x`).",
        ),
    ],
)
def test_a_relative_link_keeps_only_its_words(markdown: str, shown: str) -> None:
    assert restrict_links(markdown, [LEAVE]) == shown


@pytest.mark.parametrize(
    "markdown",
    [
        "See [the leave form](https://hb.test/form) [1].",
        "See <https://hb.test/form> or [it](https://HB.test./form).",
        "No links at all [1].",
        "`[code](https://evil.example)` stays code.",
    ],
)
def test_links_to_the_cited_hosts_and_text_without_links_are_unchanged(markdown: str) -> None:
    assert restrict_links(markdown, [LEAVE]) == markdown


def test_a_source_without_a_web_page_allows_no_link() -> None:
    admin_answer = Citation(n=1, doc_id="d2", title="Admin answer", section="", url="kb:answer/7")
    restricted = restrict_links("See [this](https://hb.test/x) [1].", [admin_answer])
    assert restricted == "See this (`https://hb.test/x`) [1]."


def _spoofing_model(_body: dict[str, Any]) -> str:
    return (
        "Everyone gets 25 days of annual leave [1]. Book it in "
        "[the leave tool](https://hb.test/tool); reset your password at "
        "[the HR portal](https://evil.example/reset)."
    )


async def test_slack_blocks_show_a_foreign_link_as_text(database_url: str, redis_url: str) -> None:
    async with fake_slack() as slack, fake_openai() as llm:
        llm.default = _spoofing_model
        settings = slack_settings(slack, database_url, redis_url, OPENAI_BASE_URL=llm.base_url)
        async with running_slack_bot(settings, slack) as bot:
            reply = await bot.answer_to(mention(f"<@{BOT_USER_ID}> How much annual leave?"))
    blocks = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "<https://hb.test/tool|the leave tool>" in blocks
    assert "the HR portal (`https://evil.example/reset`)" in blocks
    assert "<https://evil.example" not in blocks and "|the HR portal>" not in blocks
    assert "<https://evil.example" not in reply["text"]


async def test_teams_cards_show_a_foreign_link_as_text(
    database_url: str, redis_url: str, access_file: Path, connector: FakeBotConnector
) -> None:
    async with fake_openai() as llm:
        llm.default = _spoofing_model
        settings = teams_settings(
            database_url, redis_url, access_file, OPENAI_BASE_URL=llm.base_url
        )
        async with running_teams_bot(settings, connector) as bot:
            # In a group chat the answer is a card (personal chats stream it as text).
            question = group_chat_mention(
                "How much annual leave?", service_url=connector.service_url
            )
            reply = await bot.ask(question)
    text = card_text(reply)
    assert "[the leave tool](https://hb.test/tool)" in text
    assert "the HR portal (https://evil.example/reset)" in text
    assert "](https://evil.example" not in json.dumps(reply, ensure_ascii=False)
