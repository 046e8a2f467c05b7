"""Markdown from the model becomes Slack mrkdwn, cut to fit Block Kit sections."""

from __future__ import annotations

import pytest

from bot.platforms.slack.mrkdwn import SECTION_LIMIT, escape, split_for_blocks, to_mrkdwn

# to_mrkdwn: a whole answer


def test_a_realistic_answer_end_to_end() -> None:
    answer = """\
You can carry over up to **5 days** of unused annual leave [1]. Anything above that \
is forfeited on 31 March [2][3].

To request a carry-over:

- Ask your manager *before* 1 December [1].
- Log it in [Workday](https://workday.example.com/leave?type=carry&year=2025).
- Keep the confirmation email.

| Employee type | Carry-over limit |
|---------------|------------------|
| Full-time     | 5 days           |
| Part-time     | Pro rata [2]     |

See the [full policy](https://intranet.example.com/hr/leave#carry-over) for details [1, 2].
"""
    assert to_mrkdwn(answer) == (
        "You can carry over up to *5 days* of unused annual leave [1]. Anything above that "
        "is forfeited on 31 March [2][3].\n"
        "\n"
        "To request a carry-over:\n"
        "\n"
        "• Ask your manager _before_ 1 December [1].\n"
        "• Log it in <https://workday.example.com/leave?type=carry&amp;year=2025|Workday>.\n"
        "• Keep the confirmation email.\n"
        "\n"
        "• Employee type: Full-time · Carry-over limit: 5 days\n"
        "• Employee type: Part-time · Carry-over limit: Pro rata [2]\n"
        "\n"
        "See the <https://intranet.example.com/hr/leave#carry-over|full policy> "
        "for details [1, 2]."
    )


def test_empty_input_gives_empty_output() -> None:
    assert to_mrkdwn("") == ""
    assert to_mrkdwn("  \n\n ") == ""


def test_blocks_are_separated_by_one_blank_line_without_trailing_whitespace() -> None:
    assert to_mrkdwn("\n\nfirst   \n\n\n\nsecond\t\n\n") == "first\n\nsecond"


# Escaping


def test_ampersand_and_angle_brackets_are_escaped() -> None:
    assert to_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_escape_only_touches_the_three_control_characters() -> None:
    assert escape("<a href='x'>*R&D*</a> | [1]") == "&lt;a href='x'&gt;*R&amp;D*&lt;/a&gt; | [1]"


def test_html_entities_are_decoded_then_escaped_again() -> None:
    assert to_mrkdwn("&amp; &lt;tag&gt; &copy;") == "&amp; &lt;tag&gt; ©"


def test_inline_html_is_shown_as_escaped_text() -> None:
    assert to_mrkdwn("Press <kbd>Ctrl</kbd> <script>alert(1)</script>") == (
        "Press &lt;kbd&gt;Ctrl&lt;/kbd&gt; &lt;script&gt;alert(1)&lt;/script&gt;"
    )


def test_an_html_block_is_shown_as_escaped_text() -> None:
    assert to_mrkdwn("<script>\nalert('hi')\n</script>\n\nafter") == (
        "&lt;script&gt;\nalert('hi')\n&lt;/script&gt;\n\nafter"
    )


def test_slack_control_sequences_written_by_the_model_are_neutralised() -> None:
    assert to_mrkdwn("<!channel> hi <@U123>") == "&lt;!channel&gt; hi &lt;@U123&gt;"


# Emphasis


def test_bold_in_both_spellings() -> None:
    assert to_mrkdwn("**bold** and __bold__") == "*bold* and *bold*"


def test_italic_in_both_spellings() -> None:
    assert to_mrkdwn("*italic* and _italic_") == "_italic_ and _italic_"


def test_strikethrough() -> None:
    assert to_mrkdwn("~~gone~~") == "~gone~"


def test_bold_italic() -> None:
    assert to_mrkdwn("***both***") == "_*both*_"


# Links and images


def test_http_https_and_mailto_links() -> None:
    assert to_mrkdwn("[a](http://a.example) [b](https://b.example/x?q=1) [c](mailto:c@x.io)") == (
        "<http://a.example|a> <https://b.example/x?q=1|b> <mailto:c@x.io|c>"
    )


def test_ampersand_in_a_url_is_escaped() -> None:
    assert to_mrkdwn("[t](https://x.io/?a=1&b=2)") == "<https://x.io/?a=1&amp;b=2|t>"


def test_pipe_and_angle_bracket_in_link_text_cannot_end_the_link() -> None:
    assert to_mrkdwn("[a | b > c](https://x.io)") == "<https://x.io|a ¦ b &gt; c>"


def test_formatting_inside_link_text_is_kept() -> None:
    assert to_mrkdwn("[**Leave** policy](https://x.io)") == "<https://x.io|*Leave* policy>"


def test_a_javascript_link_loses_its_url() -> None:
    assert to_mrkdwn("Click [here](javascript:alert(1)) now") == "Click here now"


def test_other_schemes_and_relative_links_keep_only_their_text() -> None:
    markdown = "[a](ftp://x.io/f) [b](/wiki/leave) [c](#top) [d](data:text/html,hi)"
    assert to_mrkdwn(markdown) == "a b c d"


def test_a_url_autolink() -> None:
    assert to_mrkdwn("See <https://x.io/leave>.") == "See <https://x.io/leave>."


def test_an_email_autolink_is_labelled_with_the_address() -> None:
    assert to_mrkdwn("Mail <hr@x.io>.") == "Mail <mailto:hr@x.io|hr@x.io>."


def test_images_become_links_labelled_with_their_alt_text() -> None:
    assert to_mrkdwn("![Org *chart*](https://x.io/org.png) ![](https://x.io/a.png)") == (
        "<https://x.io/org.png|Org chart> <https://x.io/a.png>"
    )


def test_an_image_inside_a_link_is_just_its_alt_text() -> None:
    assert to_mrkdwn("[![Logo](https://x.io/l.png)](https://x.io)") == "<https://x.io|Logo>"


def test_an_image_with_a_javascript_source_is_just_its_alt_text() -> None:
    assert to_mrkdwn("![pic](javascript:alert(1))") == "pic"


# Citation markers


def test_citation_markers_stay_exactly_as_written() -> None:
    markdown = "One [1]. Two [2][3]. Three [1, 2]. Four [1][2][3]. Escaped \\[4]."
    assert to_mrkdwn(markdown) == (
        "One [1]. Two [2][3]. Three [1, 2]. Four [1][2][3]. Escaped [4]."
    )


def test_citation_markers_next_to_formatting() -> None:
    assert to_mrkdwn("**Rule**[1] and _note_ [2]") == "*Rule*[1] and _note_ [2]"


# Code


def test_inline_code_is_kept_with_only_slack_escaping() -> None:
    assert to_mrkdwn("Run `a < b && **c**` now") == "Run `a &lt; b &amp;&amp; **c**` now"


def test_a_fenced_code_block_drops_its_language_and_is_not_converted() -> None:
    markdown = "```python\nif a < b:\n    print('**not bold** [x](y)')\n```"
    assert to_mrkdwn(markdown) == ("```\nif a &lt; b:\n    print('**not bold** [x](y)')\n```")


def test_an_indented_code_block() -> None:
    markdown = "Text\n\n    x = 1\n    y = x & 2\n"
    assert to_mrkdwn(markdown) == "Text\n\n```\nx = 1\ny = x &amp; 2\n```"


# Headings, rules, breaks


def test_headings_become_bold_lines() -> None:
    assert to_mrkdwn("# Leave\n\nBody\n\n### Carry-over\n\nSetext\n------") == (
        "*Leave*\n\nBody\n\n*Carry-over*\n\n*Setext*"
    )


def test_bold_inside_a_heading_is_not_doubled() -> None:
    assert to_mrkdwn("## The **new** rules _today_") == "*The new rules _today_*"


def test_horizontal_rule() -> None:
    assert to_mrkdwn("above\n\n---\n\nbelow") == "above\n\n———\n\nbelow"


def test_hard_and_soft_line_breaks_become_newlines() -> None:
    assert to_mrkdwn("one  \ntwo\\\nthree\nfour") == "one\ntwo\nthree\nfour"


# Lists


def test_bullet_list() -> None:
    assert to_mrkdwn("- one\n- two\n- three") == "• one\n• two\n• three"


def test_a_new_bullet_character_starts_a_new_list() -> None:
    assert to_mrkdwn("- one\n* two") == "• one\n\n• two"


def test_nested_bullets_are_indented_with_their_own_glyph() -> None:
    markdown = "- a\n  - b\n    - c\n      - d\n- e"
    assert to_mrkdwn(markdown) == ("• a\n    ◦ b\n        ▪ c\n            ▪ d\n• e")


def test_ordered_list_keeps_its_start_number() -> None:
    assert to_mrkdwn("3. three\n4. four\n7. five") == "3. three\n4. four\n5. five"


def test_ordered_list_with_parenthesis_delimiter() -> None:
    assert to_mrkdwn("1) first\n2) second") == "1. first\n2. second"


def test_lists_nest_inside_each_other() -> None:
    markdown = "1. Ask\n   - your manager\n   - HR\n2. Wait\n   1. a day\n   2. a week"
    assert to_mrkdwn(markdown) == (
        "1. Ask\n    ◦ your manager\n    ◦ HR\n2. Wait\n    1. a day\n    2. a week"
    )


def test_a_loose_item_keeps_its_paragraphs_together_under_its_text() -> None:
    markdown = "- First para.\n\n  Second para.\n- Next item\n\n10. Ten\n\n    More ten."
    assert to_mrkdwn(markdown) == (
        "• First para.\n  Second para.\n• Next item\n\n10. Ten\n    More ten."
    )


def test_code_inside_a_list_item_is_indented_under_the_text() -> None:
    markdown = "1. Run:\n\n   ```\n   make <x>\n   ```\n2. Done"
    assert to_mrkdwn(markdown) == "1. Run:\n   ```\n   make &lt;x&gt;\n   ```\n2. Done"


def test_an_empty_item_and_an_item_opening_with_a_sublist() -> None:
    assert to_mrkdwn("- \n- - inner") == "•\n•\n    ◦ inner"


# Blockquotes


def test_blockquote_lines_are_prefixed() -> None:
    markdown = "> Policy says **no**.\n> Really.\n>\n> - one\n\nafter"
    assert to_mrkdwn(markdown) == "> Policy says *no*.\n> Really.\n>\n> • one\n\nafter"


def test_nested_blockquote() -> None:
    assert to_mrkdwn("> outer\n>\n> > inner") == "> outer\n>\n> > inner"


# Tables


def test_table_rows_become_labelled_bullets_without_pipes() -> None:
    markdown = (
        "| Plan | Days | Notes |\n|:--|--:|:-:|\n| Basic | 20 | *none* |\n| Pro | 25 | `a<b` |"
    )
    assert to_mrkdwn(markdown) == (
        "• Plan: Basic · Days: 20 · Notes: _none_\n• Plan: Pro · Days: 25 · Notes: `a&lt;b`"
    )


def test_table_cells_with_a_pipe_escape_keep_the_pipe_as_text() -> None:
    assert to_mrkdwn("| A |\n|---|\n| x \\| y |") == "• A: x | y"


def test_table_without_header_text_joins_cells() -> None:
    assert to_mrkdwn("|  |  |\n|--|--|\n| a | b |\n| c | d |") == "• a · b\n• c · d"


def test_table_skips_empty_cells_and_rows() -> None:
    markdown = "| A | B |\n|---|---|\n| x |   |\n|   |   |\n|   | y |"
    assert to_mrkdwn(markdown) == "• A: x\n• B: y"


def test_table_with_only_a_header_row() -> None:
    assert to_mrkdwn("| A | B |\n|---|---|") == "A · B"


def test_table_between_paragraphs() -> None:
    assert to_mrkdwn("Before\n\n| K | V |\n|---|---|\n| a | 1 |\n\nAfter") == (
        "Before\n\n• K: a · V: 1\n\nAfter"
    )


# split_for_blocks


def test_split_empty_text_gives_no_pieces() -> None:
    assert split_for_blocks("") == []
    assert split_for_blocks("\n\n  \n\n") == []


def test_split_short_text_is_one_piece() -> None:
    assert split_for_blocks("Hello *there*\n\nBye") == ["Hello *there*\n\nBye"]


def test_split_default_limit_is_slacks_section_limit() -> None:
    assert SECTION_LIMIT == 3000
    text = "a" * 3000
    assert split_for_blocks(text) == [text]
    assert split_for_blocks(text + "a") == [text, "a"]


def test_split_packs_whole_paragraphs() -> None:
    a, b, c = "a" * 40, "b" * 40, "c" * 40
    assert split_for_blocks(f"{a}\n\n{b}\n\n{c}", limit=100) == [f"{a}\n\n{b}", c]


def test_split_fills_a_piece_up_to_exactly_the_limit() -> None:
    a, b = "a" * 49, "b" * 49
    assert split_for_blocks(f"{a}\n\n{b}\n\nc", limit=100) == [f"{a}\n\n{b}", "c"]


def test_split_a_paragraph_too_long_for_one_piece_at_lines() -> None:
    lines = [str(n) * 30 for n in range(5)]
    text = "\n".join(lines)  # 154 characters, one paragraph
    assert split_for_blocks(text, limit=100) == ["\n".join(lines[:3]), "\n".join(lines[3:])]


def test_split_a_single_overlong_line_is_hard_cut() -> None:
    assert split_for_blocks("x" * 250, limit=100) == ["x" * 100, "x" * 100, "x" * 50]


def test_split_hard_cut_rest_joins_the_next_line() -> None:
    text = "x" * 130 + "\n" + "y" * 20 + "\n\n" + "z" * 10
    assert split_for_blocks(text, limit=100) == [
        "x" * 100,
        "x" * 30 + "\n" + "y" * 20 + "\n\n" + "z" * 10,
    ]


def test_split_a_long_answer_respects_the_limit_and_paragraph_boundaries() -> None:
    paragraphs = [f"Paragraph {n}: " + "word " * 100 + f"[{n}]" for n in range(40)]
    text = to_mrkdwn("\n\n".join(paragraphs))
    pieces = split_for_blocks(text)
    assert len(pieces) > 1
    assert all(0 < len(piece) <= SECTION_LIMIT for piece in pieces)
    assert "\n\n".join(pieces) == text  # every cut fell between paragraphs
    for piece in pieces:
        assert piece.startswith("Paragraph ")
        assert piece.endswith("]")


def test_split_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        split_for_blocks("text", limit=0)
