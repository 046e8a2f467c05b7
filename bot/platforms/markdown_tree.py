"""The syntax tree of an answer's Markdown, which each chat platform renders its own way, and
the helpers every renderer needs."""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode


class _Parser(MarkdownIt):
    """CommonMark with tables and strikethrough, parsing links whatever their scheme.

    markdown-it refuses ``javascript:`` and similar URLs by leaving ``[text](url)`` as literal
    text; parsing them instead lets a renderer keep the text and drop the URL.
    """

    def __init__(self) -> None:
        super().__init__("commonmark")
        self.enable("table").enable("strikethrough")

    def validateLink(self, url: str) -> bool:
        return True


_PARSER = _Parser()


def parse_markdown(markdown: str) -> SyntaxTreeNode:
    """The tree of ``markdown`` (CommonMark plus GitHub tables and strikethrough)."""
    return SyntaxTreeNode(_PARSER.parse(markdown))


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
