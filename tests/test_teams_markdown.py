"""Markdown from the model becomes Teams card text, one TextBlock per block, and plain text."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from bot.platforms.teams.markdown import to_card_blocks, to_plain_text

NBSP = "\u00a0"

# Teams reads a TextBlock's Markdown as CommonMark restricted to a subset; checking our output
# with a CommonMark renderer (strikethrough on, as in markdown-it's default) shows what a
# client would make of it.
_COMMONMARK = MarkdownIt("commonmark").enable("strikethrough")
_CARD_ELEMENTS = {"p", "strong", "em", "ul", "ol", "li", "a", "br"}


def rendered(block: str) -> str:
    """A card text as CommonMark HTML, failing if it uses an element a card cannot show."""
    output: str = _COMMONMARK.render(block)
    elements = set(re.findall(r"</?([a-z0-9]+)", output))
    assert elements <= _CARD_ELEMENTS, f"{block!r} renders {sorted(elements - _CARD_ELEMENTS)}"
    return output


def shown(block: str) -> str:
    """The text a reader sees for a card text, with its whitespace collapsed."""
    output = re.sub(r"</?(?:p|li|ul|ol|br)(?: [^>]*)?/?>", " ", rendered(block))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", output)).split())


def one_block(markdown: str) -> str:
    blocks = to_card_blocks(markdown)
    assert len(blocks) == 1, blocks
    return blocks[0]


# to_card_blocks: a whole answer

ANSWER = """\
## Carry-over

You can carry over up to **5 days** of unused annual leave [1]. Anything above that \
is *forfeited* on 31 March [2][3].

To request a carry-over:

1. Ask your manager _before_ 1 December [1].
2. Log it in [Workday](https://workday.example.com/leave?type=carry&year=2025).
3. Keep the confirmation email.

| Employee type | Carry-over limit |
|---------------|------------------|
| Full-time     | 5 days           |
| Part-time     | Pro rata [2]     |

See the [full policy](https://intranet.example.com/hr/leave#carry-over) for details [1, 2].
"""


def test_a_realistic_answer_end_to_end() -> None:
    assert to_card_blocks(ANSWER) == [
        "**Carry-over**",
        "You can carry over up to **5 days** of unused annual leave [1]. Anything above that "
        "is _forfeited_ on 31 March [2][3].",
        "To request a carry-over:",
        "1. Ask your manager _before_ 1 December [1].\n"
        "2. Log it in [Workday](https://workday.example.com/leave?type=carry&year=2025).\n"
        "3. Keep the confirmation email.",
        "- Employee type: Full-time; Carry-over limit: 5 days\n"
        "- Employee type: Part-time; Carry-over limit: Pro rata [2]",
        "See the [full policy](https://intranet.example.com/hr/leave#carry-over) "
        "for details [1, 2].",
    ]


def test_every_block_of_the_answer_uses_only_what_a_card_can_show() -> None:
    for block in to_card_blocks(ANSWER):
        rendered(block)
    list_html = rendered(to_card_blocks(ANSWER)[3])
    assert list_html.startswith("<ol>\n<li>Ask your manager <em>before</em>")
    assert '<a href="https://workday.example.com/leave?type=carry&amp;year=2025">' in list_html


@pytest.mark.parametrize("markdown", ["", "  \n\n ", "---\n\n***", "#"])
def test_input_with_nothing_to_show_gives_no_blocks(markdown: str) -> None:
    assert to_card_blocks(markdown) == []


def test_blocks_have_no_blank_lines_or_trailing_whitespace_around_them() -> None:
    assert to_card_blocks("\n\nfirst   \n\n\n\nsecond\t\n\n") == ["first", "second"]


# Emphasis


@pytest.mark.parametrize(
    ("markdown", "card"),
    [
        ("**bold** and __bold__", "**bold** and **bold**"),
        ("*italic* and _italic_", "_italic_ and _italic_"),
        ("***both***", "_**both**_"),
        ("**bold _and italic_ here**", "**bold _and italic_ here**"),
        ("*italic **and bold** here*", "_italic **and bold** here_"),
        ("~~gone~~ but kept", "gone but kept"),
    ],
)
def test_emphasis(markdown: str, card: str) -> None:
    assert one_block(markdown) == card


def test_nested_emphasis_renders_as_nested_elements() -> None:
    assert rendered(one_block("**bold _and italic_ here**")) == (
        "<p><strong>bold <em>and italic</em> here</strong></p>\n"
    )


def test_italic_inside_a_word_uses_asterisks_since_underscores_would_show() -> None:
    card = one_block("un*believ*able")
    assert card == "un*believ*able"
    assert rendered(card) == "<p>un<em>believ</em>able</p>\n"


def test_italic_inside_italic_does_not_become_bold() -> None:
    card = one_block("_*twice*_")
    assert card == "*_twice_*"
    assert rendered(card) == "<p><em><em>twice</em></em></p>\n"


def test_two_italics_side_by_side_become_one() -> None:
    card = one_block("*one*_two_ three")
    assert card == "_onetwo_ three"
    assert rendered(card) == "<p><em>onetwo</em> three</p>\n"


def test_spaces_at_the_edges_of_bold_text_move_outside_it() -> None:
    card = one_block("Run **` make`** now")
    assert card == "Run  **make** now"
    assert rendered(card) == "<p>Run  <strong>make</strong> now</p>\n"


def test_bold_that_could_not_be_read_back_is_dropped_rather_than_shown_as_asterisks() -> None:
    # Without the code span's backticks, "**a)**b" would not be bold in CommonMark.
    assert one_block("**a)**`b`") == "a)b"


def test_italic_that_would_close_the_italic_around_it_is_dropped() -> None:
    # Once the code span's backticks are gone, both italics must be spelled "*", and the
    # inner opener, between two letters, would close the outer one.
    card = one_block("`v2`_in*line*,_ done")
    assert card == "v2*inline,* done"
    assert rendered(card) == "<p>v2<em>inline,</em> done</p>\n"


# Headings


def test_headings_become_bold_lines() -> None:
    assert to_card_blocks("# Leave\n\nBody\n\n### Carry-over\n\nSetext\n------") == [
        "**Leave**",
        "Body",
        "**Carry-over**",
        "**Setext**",
    ]


def test_bold_inside_a_heading_is_not_doubled() -> None:
    assert one_block("## The **new** rules _today_") == "**The new rules _today_**"


# Line breaks


def test_a_soft_line_break_is_a_space() -> None:
    assert one_block("one\ntwo\nthree") == "one two three"


def test_a_hard_line_break_is_a_blank_line_the_break_teams_shows() -> None:
    assert one_block("one  \ntwo\\\nthree") == "one\n\ntwo\n\nthree"


def test_emphasis_across_a_hard_break_is_closed_and_reopened() -> None:
    card = one_block("**bold a\\\nb** end")
    assert card == "**bold a**\n\n**b** end"
    assert rendered(card) == "<p><strong>bold a</strong></p>\n<p><strong>b</strong> end</p>\n"


def test_a_hard_break_in_a_list_item_is_a_line_under_the_item() -> None:
    assert one_block("- one  \n  two") == "- one\n  two"


def test_a_backslash_before_a_line_break_is_escaped_so_it_shows() -> None:
    card = one_block("- one\\ \\\n  two")  # "one\", then a hard break
    assert card == "- one\\\\\n  two"
    assert shown(card) == "one\\ two"


# Code


def test_inline_code_is_its_text_escaped() -> None:
    card = one_block("Run `a < b && **c**` now")
    assert card == "Run a < b && \\*\\*c\\*\\* now"
    assert shown(card) == "Run a < b && **c** now"


def test_a_fenced_code_block_is_its_lines_with_no_markup_read_in_them() -> None:
    markdown = "```python\nif a < b:\n    print('**not bold** [x](y)')\n```"
    card = one_block(markdown)
    assert card == f"if a < b:\n\n{NBSP * 4}print('\\*\\*not bold\\*\\* [x\\](y)')"
    assert shown(card) == "if a < b: print('**not bold** [x](y)')"


def test_an_indented_code_block_loses_its_blank_lines() -> None:
    assert to_card_blocks("Text\n\n    x = 1\n\n    y = x & 2\n") == ["Text", "x = 1\n\ny = x & 2"]


def test_code_lines_that_look_like_blocks_stay_text() -> None:
    card = one_block("```\n- item\n# title\n1. one\n> quote\n<b>\n---\n```")
    assert card == "\\- item\n\n\\# title\n\n1\\. one\n\n\\> quote\n\n\\<b>\n\n\\---"
    assert shown(card) == "- item # title 1. one > quote <b> ---"


# Blockquotes and rules


def test_a_blockquote_is_its_text_with_each_line_kept() -> None:
    markdown = "> Policy says **no**.\n> Really.\n>\n> - one\n\nafter"
    assert to_card_blocks(markdown) == ["Policy says **no**.\n\nReally.\n\n- one", "after"]


def test_a_nested_blockquote() -> None:
    assert one_block("> outer\n>\n> > inner") == "outer\n\ninner"


def test_a_horizontal_rule_is_dropped() -> None:
    assert to_card_blocks("above\n\n---\n\nbelow") == ["above", "below"]


# Links


def test_http_https_and_mailto_links_are_kept() -> None:
    markdown = "[a](http://a.example) [b](https://b.example/x?q=1) [c](mailto:c@x.io)"
    assert one_block(markdown) == markdown


@pytest.mark.parametrize(
    ("markdown", "card"),
    [
        ("Click [here](javascript:alert(1)) now", "Click here now"),
        ("[a](JavaScript:alert(1))", "a"),
        ("[a](ftp://x.io/f) [b](/wiki/leave) [c](#top)", "a b c"),
        ("[d](data:text/html,hi) [e](vbscript:x)", "d e"),
    ],
)
def test_a_link_with_an_unsafe_or_relative_url_keeps_only_its_text(
    markdown: str, card: str
) -> None:
    assert one_block(markdown) == card


def test_parentheses_in_a_url_are_encoded_so_the_link_does_not_end_early() -> None:
    card = one_block("[Foo](https://en.wikipedia.org/wiki/Foo_(bar)) [1]")
    assert card == "[Foo](https://en.wikipedia.org/wiki/Foo_%28bar%29) [1]"
    assert '<a href="https://en.wikipedia.org/wiki/Foo_%28bar%29">Foo</a> [1]' in rendered(card)


def test_spaces_in_a_url_are_encoded() -> None:
    assert one_block("[a](<https://x.io/a b>)") == "[a](https://x.io/a%20b)"


def test_brackets_in_link_text_are_escaped() -> None:
    card = one_block("[Policy [1]](https://x.io)")
    assert card == "[Policy \\[1\\]](https://x.io)"
    assert rendered(card) == '<p><a href="https://x.io">Policy [1]</a></p>\n'


def test_formatting_inside_link_text_is_kept() -> None:
    assert one_block("[**Leave** policy](https://x.io)") == "[**Leave** policy](https://x.io)"


def test_autolinks_and_empty_link_text_show_the_address() -> None:
    assert one_block("See <https://x.io/leave>, <hr@x.io> or [](https://x.io).") == (
        "See [https://x.io/leave](https://x.io/leave), [hr@x.io](mailto:hr@x.io) "
        "or [https://x.io](https://x.io)."
    )


def test_an_exclamation_mark_before_a_link_does_not_make_it_an_image() -> None:
    card = one_block("Wow\\![docs](https://x.io)")
    assert card == "Wow\\![docs](https://x.io)"
    assert rendered(card) == '<p>Wow!<a href="https://x.io">docs</a></p>\n'


# Images


def test_images_become_links_labelled_with_their_alt_text() -> None:
    assert one_block("![Org *chart*](https://x.io/org.png) ![](https://x.io/a.png)") == (
        "[Org chart](https://x.io/org.png) [https://x.io/a.png](https://x.io/a.png)"
    )


def test_an_image_inside_a_link_is_just_its_alt_text() -> None:
    assert one_block("[![Logo](https://x.io/l.png)](https://x.io)") == "[Logo](https://x.io)"


def test_an_image_with_an_unsafe_source_is_just_its_alt_text() -> None:
    assert one_block("![pic](javascript:alert(1))") == "pic"


# Raw HTML


def test_inline_html_is_shown_as_text() -> None:
    markdown = "Press <kbd>Ctrl</kbd> <script>alert(1)</script>"
    card = one_block(markdown)
    assert card == "Press \\<kbd>Ctrl\\</kbd> \\<script>alert(1)\\</script>"
    assert shown(card) == markdown


def test_an_html_block_is_shown_as_text() -> None:
    blocks = to_card_blocks("<script>\nalert('hi')\n</script>\n\nafter")
    assert blocks == ["\\<script>\n\nalert('hi')\n\n\\</script>", "after"]
    assert shown(blocks[0]) == "<script> alert('hi') </script>"


def test_angle_brackets_that_cannot_start_a_tag_are_left_alone() -> None:
    assert one_block("a < b > c <= d") == "a < b > c <= d"


# Citation markers


@pytest.mark.parametrize(
    "markdown",
    [
        "One [1]. Two [2][3]. Three [1, 2]. Four ([4]), five [5]: six [6]; seven [7]!",
        "**Rule**[1] and _note_ [2].",
        "[1] says so, and [2]: Leave policy, section 2",
        "[1]: Leave policy, section 2",
    ],
)
def test_citation_markers_stay_exactly_as_written(markdown: str) -> None:
    card = one_block(markdown)
    assert card == markdown
    assert shown(card) == to_plain_text(markdown)


def test_a_marker_that_would_make_a_link_definition_is_escaped() -> None:
    card = one_block("\\[1\\]: https://x.io")
    assert card == "\\[1]: https://x.io"
    assert shown(card) == "[1]: https://x.io"


# Escaping: the text a reader sees is the source's text


@pytest.mark.parametrize(
    ("markdown", "card"),
    [
        ("snake_case_name and x_y", "snake_case_name and x_y"),
        ("2 * 3 = 6 and a * b", "2 * 3 = 6 and a * b"),
        ("a\\*b\\*c", "a\\*b\\*c"),
        ("\\*not italic\\*", "\\*not italic\\*"),
        ("\\_not italic\\_", "\\_not italic\\_"),
        ("\\*\\*not bold\\*\\*", "\\*\\*not bold\\*\\*"),
        ("foo\\_(bar)", "foo\\_(bar)"),
        # CommonMark 0.31 counts a symbol such as "€" as punctuation, so "_" before it closes.
        ("\\_a price\\_€", "\\_a price\\_€"),
        ("\\`not code\\`", "\\`not code\\`"),
        ("C:\\Users\\me", "C:\\Users\\me"),
        ("a backslash at the end \\\\", "a backslash at the end \\\\"),
        ("\\- not a list", "\\- not a list"),
        ("\\+ not a list", "\\+ not a list"),
        ("\\* not a list", "\\* not a list"),
        ("1\\. not a list", "1\\. not a list"),
        ("2024\\) not a list", "2024\\) not a list"),
        ("-1 is not a list", "-1 is not a list"),
        ("\\# not a heading", "\\# not a heading"),
        ("#hashtag", "#hashtag"),
        ("\\> not a quote", "\\> not a quote"),
        ("\\---", "\\---"),
        ("\\***", "\\***"),
        ("\\===", "\\==="),
        ("\\[docs\\](https://x.io)", "[docs\\](https://x.io)"),
        ("&amp;copy; and AT&T", "\\&copy; and AT&T"),
        ("\\~~not struck~~", "\\~\\~not struck\\~\\~"),
        ("about ~5 days", "about ~5 days"),
        ("\\<b>not bold\\</b>", "\\<b>not bold\\</b>"),
    ],
)
def test_literal_markup_is_escaped_only_where_it_would_be_read(markdown: str, card: str) -> None:
    assert one_block(markdown) == card
    assert shown(card) == to_plain_text(markdown)


# Lists


def test_bullet_lists_use_dashes_and_a_new_bullet_character_starts_a_new_block() -> None:
    assert to_card_blocks("- one\n- two\n\n* three") == ["- one\n- two", "- three"]


def test_a_numbered_list_keeps_its_start_number() -> None:
    card = one_block("3. three\n4. four\n7. five")
    assert card == "3. three\n4. four\n5. five"
    assert rendered(card).startswith('<ol start="3">')


def test_a_numbered_list_with_parenthesis_delimiters() -> None:
    assert one_block("1) first\n2) second") == "1. first\n2. second"


def test_nested_lists_are_indented_to_their_items_text() -> None:
    card = one_block("- a\n  - b\n    - c\n- d")
    assert card == "- a\n  - b\n    - c\n- d"
    assert rendered(card).count("<ul>") == 3


def test_lists_nest_inside_each_other() -> None:
    markdown = "1. Ask\n   - your manager\n   - HR\n2. Wait\n   1. a day\n   2. a week"
    card = one_block(markdown)
    assert card == markdown
    assert rendered(card).count("<ol>") == 2


def test_a_nested_numbered_list_not_starting_at_one_gets_a_blank_line_to_stay_a_list() -> None:
    card = one_block("- Steps:\n\n  3. three\n  4. four")
    assert card == "- Steps:\n\n  3. three\n  4. four"
    assert '<ol start="3">' in rendered(card)


def test_a_loose_item_keeps_its_paragraphs_together_under_its_text() -> None:
    markdown = "- First para.\n\n  Second para.\n- Next item\n\n10. Ten\n\n    More ten."
    assert to_card_blocks(markdown) == [
        "- First para.\n  Second para.\n- Next item",
        "10. Ten\n    More ten.",
    ]


def test_code_inside_a_list_item_is_indented_under_the_text() -> None:
    markdown = "1. Run:\n\n   ```\n   make <x>\n   ```\n2. Done"
    assert one_block(markdown) == "1. Run:\n   make \\<x>\n2. Done"


def test_an_empty_item_holds_a_no_break_space_so_it_cannot_underline_a_heading() -> None:
    card = one_block("- a\n\n  -")
    assert card == f"- a\n  - {NBSP}"
    assert "<h2>" not in _COMMONMARK.render(card)
    assert rendered(card).count("<li>") == 2


def test_an_item_opening_with_a_sublist() -> None:
    card = one_block("- - inner")
    assert card == f"- {NBSP}\n  - inner"
    assert rendered(card).count("<ul>") == 2


def test_item_text_that_looks_like_a_marker_is_escaped() -> None:
    card = one_block("- \\- dash\n- 1\\. one\n- \\# hash")
    assert card == "- \\- dash\n- 1\\. one\n- \\# hash"
    assert rendered(card).count("<li>") == 3


# Tables


def test_table_rows_become_labelled_bullets() -> None:
    markdown = (
        "| Plan | Days | Notes |\n|:--|--:|:-:|\n| Basic | 20 | *none* |\n| Pro | 25 | `a<b` |"
    )
    assert one_block(markdown) == (
        "- Plan: Basic; Days: 20; Notes: _none_\n- Plan: Pro; Days: 25; Notes: a\\<b"
    )


def test_table_cells_with_an_escaped_pipe_keep_the_pipe_as_text() -> None:
    assert one_block("| A |\n|---|\n| x \\| y |") == "- A: x | y"


def test_table_skips_empty_cells_and_empty_rows() -> None:
    markdown = "| A | B |\n|---|---|\n| x |   |\n|   |   |\n|   | y |"
    assert one_block(markdown) == "- A: x\n- B: y"


def test_table_without_header_text_lists_the_cells() -> None:
    assert one_block("|  |  |\n|--|--|\n| a | b |\n| c | d |") == "- a; b\n- c; d"


def test_table_with_only_a_header_row() -> None:
    assert one_block("| A | B |\n|---|---|") == "A; B"


def test_table_between_paragraphs_is_a_block_of_its_own() -> None:
    assert to_card_blocks("Before\n\n| K | V |\n|---|---|\n| a | 1 |\n\nAfter") == [
        "Before",
        "- K: a; V: 1",
        "After",
    ]


def test_a_citation_as_a_header_cannot_become_a_link_definition() -> None:
    card = one_block("| [1] |\n|---|\n| https://x.io |")
    assert card == "- \\[1]: https://x.io"
    assert shown(card) == "[1]: https://x.io"


def test_an_entity_cannot_form_across_a_cell_separator() -> None:
    card = one_block("| &#1 | b |\n|---|---|")
    assert card == "\\&#1; b"
    assert shown(card) == "&#1; b"


# to_plain_text


def test_plain_text_of_a_realistic_answer() -> None:
    assert to_plain_text(ANSWER) == (
        "Carry-over\n"
        "\n"
        "You can carry over up to 5 days of unused annual leave [1]. Anything above that "
        "is forfeited on 31 March [2][3].\n"
        "\n"
        "To request a carry-over:\n"
        "\n"
        "1. Ask your manager before 1 December [1].\n"
        "2. Log it in Workday (https://workday.example.com/leave?type=carry&year=2025).\n"
        "3. Keep the confirmation email.\n"
        "\n"
        "- Employee type: Full-time; Carry-over limit: 5 days\n"
        "- Employee type: Part-time; Carry-over limit: Pro rata [2]\n"
        "\n"
        "See the full policy (https://intranet.example.com/hr/leave#carry-over) "
        "for details [1, 2]."
    )


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("[a](https://a.io) and [b](mailto:b@x.io)", "a (https://a.io) and b (mailto:b@x.io)"),
        ("<https://a.io/x> and <hr@x.io>", "https://a.io/x and hr@x.io"),
        ("[](https://a.io) [e](javascript:alert(1))", "https://a.io e"),
        (
            "![Chart](https://x.io/c.png) ![](https://x.io/d.png)",
            "Chart (https://x.io/c.png) https://x.io/d.png",
        ),
        ("![p](javascript:x) [![Logo](https://x.io/l.png)](https://x.io)", "p Logo (https://x.io)"),
    ],
)
def test_plain_text_links_show_their_url_after_their_text(markdown: str, plain: str) -> None:
    assert to_plain_text(markdown) == plain


def test_plain_text_has_no_markup_but_keeps_literal_characters() -> None:
    markdown = "# Head\n\n**bold** _it_ `code` ~~gone~~, snake_case, 2 * 3, \\*stars\\*"
    assert to_plain_text(markdown) == "Head\n\nbold it code gone, snake_case, 2 * 3, *stars*"


def test_plain_text_lists_are_dash_and_number_lines() -> None:
    assert to_plain_text("- a\n  - b\n- c\n\n3. d\n4. e") == "- a\n  - b\n- c\n\n3. d\n4. e"


def test_plain_text_keeps_code_verbatim() -> None:
    markdown = "```\nif x:\n    y = a*b\n\nz()\n```"
    assert to_plain_text(markdown) == "if x:\n    y = a*b\n\nz()"


def test_plain_text_breaks_quotes_tables_rules_and_html() -> None:
    markdown = (
        "one  \ntwo\nthree\n\n> a\n> b\n\n---\n\n| A | B |\n|---|---|\n| x | y |\n\n<b>hi</b>"
    )
    assert to_plain_text(markdown) == "one\ntwo three\n\na\nb\n\n- A: x; B: y\n\n<b>hi</b>"


def test_plain_text_of_nothing_is_empty() -> None:
    assert to_plain_text("") == ""
    assert to_plain_text(" \n\n---\n") == ""
