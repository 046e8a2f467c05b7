"""Inline nodes (text, emphasis, links, images, line breaks) flattened into pieces.

Links keep their URL only for http(s) and mailto, percent-encoded where Teams' parser would cut
it short; any other link keeps just its text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it.tree import SyntaxTreeNode

from bot.platforms.markdown_tree import is_linkable, plain_text
from bot.platforms.teams.markdown.lines import render_line
from bot.platforms.teams.markdown.pieces import (
    BOLD,
    BREAK,
    ITALIC,
    Context,
    Piece,
    has_content,
    literal,
    markup,
    wrap,
)

_URL_BREAKERS = re.compile(r"[\s()<>]")


def inline_pieces(
    nodes: Sequence[SyntaxTreeNode],
    ctx: Context,
    *,
    in_heading: bool = False,
    in_link: bool = False,
    one_line: bool = False,
) -> list[Piece]:
    """Inline nodes as pieces; a heading is bold already, a link's text stays on one line."""
    return [
        piece
        for node in nodes
        for piece in _node_pieces(
            node, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line
        )
    ]


def _node_pieces(
    node: SyntaxTreeNode, ctx: Context, *, in_heading: bool, in_link: bool, one_line: bool
) -> list[Piece]:
    def inner() -> list[Piece]:
        return inline_pieces(
            node.children, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line
        )

    match node.type:
        case "text" | "html_inline" | "code_inline":
            return [literal(node.content, in_link)]
        case "softbreak":
            return [BREAK] if ctx.keep_lines and not one_line else [literal(" ", in_link)]
        case "hardbreak":
            return [literal(" ", in_link)] if one_line else [BREAK]
        case "strong":
            return inner() if in_heading or ctx.plain else wrap(inner(), BOLD)
        case "em":
            return inner() if ctx.plain else wrap(inner(), ITALIC)
        case "s":  # strikethrough does not show reliably in Teams: keep just the text
            return inner()
        case "link":
            return _link(node, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line)
        case "image":
            return _image(node, ctx, in_link=in_link)
        case _:
            return inner() if node.children else [literal(node.content, in_link)]


def _link(
    node: SyntaxTreeNode, ctx: Context, *, in_heading: bool, in_link: bool, one_line: bool
) -> list[Piece]:
    """A link with a safe URL; any other keeps only its text (a link cannot hold a link)."""
    href = str(node.attrs.get("href", ""))
    if in_link or not is_linkable(href):
        return inline_pieces(
            node.children, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line
        )
    text = inline_pieces(node.children, ctx, in_heading=in_heading, in_link=True, one_line=True)
    if ctx.plain:
        label = render_line(text, ctx).strip()
        # An autolink <https://x.io> or <a@b.com> is its own label.
        if not label or node.markup == "autolink" or href in (label, f"mailto:{label}"):
            return [literal(label or href)]
        return [*text, literal(f" ({href})")]
    if not has_content(text):
        text = [literal(href, in_link=True)]
    return [markup("["), *text, markup(f"]({_card_url(href)})")]


def _image(node: SyntaxTreeNode, ctx: Context, *, in_link: bool) -> list[Piece]:
    """An image as a link to it, labelled with its alt text (just the text inside a link)."""
    alt = plain_text(node)
    src = str(node.attrs.get("src", ""))
    if in_link or not is_linkable(src):
        return [literal(alt, in_link)]
    if ctx.plain:
        return [literal(f"{alt} ({src})" if alt else src)]
    return [markup("["), literal(alt or src, in_link=True), markup(f"]({_card_url(src)})")]


def _card_url(url: str) -> str:
    """The URL with ``(``, ``)``, ``<``, ``>`` and whitespace percent-encoded.

    markdown-it has encoded most unsafe characters already, but keeps parentheses, and Teams'
    own parser ends a link's URL at the first ``)`` or space.
    """
    return _URL_BREAKERS.sub(
        lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode()), url
    )
