"""The syntax tree of an answer's Markdown, which each chat platform renders its own way, and
the helpers every renderer needs."""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it.tree import SyntaxTreeNode

# The core's parser: the answers' links were checked with it.
from bot.core.commonmark import parse_markdown

__all__ = ["indent", "inline_children", "is_linkable", "parse_markdown", "plain_text"]

# What a rendered answer may link to; anything else stays text.
LINK_SCHEMES = ("http://", "https://", "mailto:")


def inline_children(node: SyntaxTreeNode) -> Sequence[SyntaxTreeNode]:
    """The inline nodes of a paragraph, heading or table cell."""
    return [grandchild for child in node.children for grandchild in child.children]


def indent(text: str, prefix: str, first: str | None = None) -> str:
    """Every line of ``text`` prefixed (the first with ``first`` if given); no trailing spaces."""
    lines: list[str] = []
    for number, line in enumerate(text.split("\n")):
        start = first if number == 0 and first is not None else prefix
        lines.append(start + line if line else start.rstrip())
    return "\n".join(lines)


def plain_text(node: SyntaxTreeNode) -> str:
    """The text inside a node with its formatting dropped, like an image's alt text."""
    if node.type in ("text", "code_inline"):
        return node.content
    return "".join(plain_text(child) for child in node.children)


def is_linkable(url: str) -> bool:
    """Whether a renderer may turn ``url`` into a link (web and mail addresses only)."""
    return url.lower().startswith(LINK_SCHEMES)
