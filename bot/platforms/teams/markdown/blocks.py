"""Block nodes into card text: paragraphs, headings, lists, quotes, code and tables.

Teams shows a single newline outside a list as a space, so each top-level block becomes a
``TextBlock`` of its own, and a line break inside one is a blank line, the break Teams
documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from markdown_it.tree import SyntaxTreeNode

from bot.platforms.markdown_tree import indent, inline_children, parse_markdown
from bot.platforms.teams.markdown.escaping import NBSP
from bot.platforms.teams.markdown.inline import inline_pieces
from bot.platforms.teams.markdown.lines import render_line, split_lines
from bot.platforms.teams.markdown.pieces import BOLD, BULLET, CARD, PLAIN, Context, literal, wrap
from bot.platforms.teams.markdown.tables import table

_LIST_TYPES = ("bullet_list", "ordered_list")


def to_card_blocks(markdown: str) -> list[str]:
    """Markdown → the texts of consecutive Adaptive Card TextBlocks, in Teams' Markdown subset.

    One text per paragraph, list, heading, quote, table or code block, to show with
    ``wrap: true``. Links keep their URL only for http(s) and mailto; tables become one bullet
    per row; ``[1]``-style citation markers are left as written.
    """
    tree = parse_markdown(markdown)
    rendered = (_tidy(_block(node, CARD)) for node in tree.children)
    return [text for text in rendered if text]


def to_plain_text(markdown: str) -> str:
    """The answer as plain text: no markup, links as ``text (url)``, lists as ``- item`` lines."""
    tree = parse_markdown(markdown)
    return _tidy(_blocks(tree.children, PLAIN))


def _tidy(text: str) -> str:
    """No trailing spaces on any line, no blank lines around the text."""
    return "\n".join(line.rstrip(" \t") for line in text.split("\n")).strip("\n")


def _blocks(nodes: Sequence[SyntaxTreeNode], ctx: Context) -> str:
    """Block nodes rendered one after another."""
    rendered = (_block(node, ctx) for node in nodes)
    return ctx.block_separator.join(text for text in rendered if text)


def _block(node: SyntaxTreeNode, ctx: Context) -> str:
    match node.type:
        case "paragraph":
            return _inline_block(inline_children(node), ctx)
        case "heading":
            return _heading(node, ctx)
        case "bullet_list" | "ordered_list":
            return _list(node, ctx)
        case "blockquote":
            return _blocks(node.children, replace(ctx, keep_lines=True))
        case "fence" | "code_block" | "html_block":
            return _verbatim(node.content, ctx)
        case "hr":
            return ""
        case "table":
            return table(node, ctx)
        case _:
            return _blocks(node.children, ctx)


def _inline_block(nodes: Sequence[SyntaxTreeNode], ctx: Context) -> str:
    """A paragraph: its inline content, cut into lines at its line breaks."""
    lines = (render_line(pieces, ctx) for pieces in split_lines(inline_pieces(nodes, ctx)))
    return ctx.newline.join(line for line in lines if line)


def _heading(node: SyntaxTreeNode, ctx: Context) -> str:
    """A heading as a line of its own, bold on a card (where bold inside it is dropped)."""
    pieces = inline_pieces(inline_children(node), ctx, in_heading=True, one_line=True)
    if ctx.plain:
        return render_line(pieces, ctx)
    return render_line(wrap(pieces, BOLD), ctx)


def _verbatim(content: str, ctx: Context) -> str:
    """Code or raw HTML: its lines as literal text, never interpreted.

    On a card a blank line cannot be shown, so blank lines are dropped.
    """
    lines = [line.rstrip() for line in content.rstrip("\n").split("\n")]
    if ctx.plain:
        return "\n".join(lines)
    rendered = (render_line([literal(line)], ctx) for line in lines if line.strip())
    return ctx.newline.join(rendered)


def _list(node: SyntaxTreeNode, ctx: Context) -> str:
    """A list, one line per item; a sublist is indented under its item's text."""
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1))
    inner = replace(ctx, in_list=True)
    items = (
        _list_item(item, f"{start + number}." if ordered else BULLET, inner)
        for number, item in enumerate(node.children)
    )
    return "\n".join(items)


def _list_item(item: SyntaxTreeNode, marker: str, ctx: Context) -> str:
    """The marker, then the item's blocks: text under the first line's text, sublists indented.

    The indent is the marker's width, where CommonMark expects an item's content. A loose item's
    paragraphs go on consecutive lines: a blank line would break up the list in Teams. On a card
    a marker with nothing after it gets a no-break space: alone under a line of text, ``-``
    would underline that text as a heading.
    """
    hanging = " " * (len(marker) + 1)
    bare = marker if ctx.plain else f"{marker} {NBSP}"
    parts: list[str] = []
    for child in item.children:
        text = _block(child, ctx)
        if not text:
            continue
        if child.type in _LIST_TYPES:
            if not parts:
                parts.append(bare)  # the item opens with a sublist
            if _cannot_interrupt_paragraph(child, ctx):
                parts.append("")
            parts.append(indent(text, hanging))
        else:
            parts.append(indent(text, hanging, first=hanging if parts else f"{marker} "))
    return "\n".join(parts) or bare


def _cannot_interrupt_paragraph(sublist: SyntaxTreeNode, ctx: Context) -> bool:
    """Whether a sublist needs a blank line above it to be read as a list, not as text.

    CommonMark lets only an ordered list starting at 1 interrupt a paragraph.
    """
    ordered = sublist.type == "ordered_list"
    return not ctx.plain and ordered and int(sublist.attrs.get("start", 1)) != 1
