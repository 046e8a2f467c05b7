"""Slack mrkdwn from the Markdown an LLM writes.

The model answers in CommonMark with GitHub tables, but Slack's mrkdwn is another language:
``*bold*``, ``_italic_``, ``<url|text>`` links, no headings, no tables, and only ``&``, ``<``
and ``>`` to escape. Sent unchanged, an answer shows stray ``**`` and ``[text](url)``. We parse
with markdown-it-py and render its syntax tree instead of rewriting the raw text with regexes,
so code spans, backslash escapes, nesting and the ``[1]`` citation markers all come out right.

``split_for_blocks`` then cuts the result into pieces that fit a Block Kit section, and
``escape`` is Slack's escaping for text the adapter writes itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it.tree import SyntaxTreeNode

from bot.platforms.markdown_tree import (
    indent,
    inline_children,
    is_linkable,
    parse_markdown,
    plain_text,
)

SECTION_LIMIT = 3000  # characters in one Block Kit section's text

_LIST_TYPES = ("bullet_list", "ordered_list")
_BULLETS = ("•", "◦", "▪")  # by nesting depth; deeper lists keep the last one
_NESTED_INDENT = "    "
_QUOTE = "> "
_RULE = "———"
_CELL_SEPARATOR = " · "
# Slack ends a link's text at the first "|" and has no escape for it: show a look-alike.
_LINK_TEXT_PIPE = "¦"


def to_mrkdwn(markdown: str) -> str:
    """Convert Markdown (CommonMark, tables, strikethrough) into Slack mrkdwn.

    Links keep their URL only for http(s) and mailto; tables become one bullet per row;
    ``[1]``-style citation markers are left as written.
    """
    tree = parse_markdown(markdown)
    text = _blocks(tree.children, depth=0)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def split_for_blocks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split mrkdwn into non-empty pieces of at most ``limit`` characters.

    Cuts between paragraphs where it can, else between lines, else mid-line; each piece is
    packed as full as those cuts allow.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, not {limit}")
    pieces: list[str] = []
    current = ""
    for separator, unit in _units(text, limit):
        if current and len(current) + len(separator) + len(unit) <= limit:
            current += separator + unit
        else:
            pieces.append(current)
            current = unit
    pieces.append(current)
    return [piece for piece in (p.strip("\n") for p in pieces) if piece.strip()]


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>``: the only characters mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _units(text: str, limit: int) -> list[tuple[str, str]]:
    """The text as (separator, unit) pairs, each unit short enough to fit in a piece."""
    units: list[tuple[str, str]] = []
    for paragraph in text.split("\n\n"):
        if not paragraph.strip():
            continue
        if len(paragraph) <= limit:
            units.append(("\n\n", paragraph))
            continue
        for number, line in enumerate(paragraph.split("\n")):
            separator = "\n\n" if number == 0 else "\n"
            for start in range(0, max(len(line), 1), limit):
                units.append((separator if start == 0 else "", line[start : start + limit]))
    return units


# Blocks


def _blocks(nodes: Sequence[SyntaxTreeNode], depth: int) -> str:
    """Block nodes rendered one after another, separated by a blank line."""
    rendered = (_block(node, depth) for node in nodes)
    return "\n\n".join(text for text in rendered if text)


def _block(node: SyntaxTreeNode, depth: int) -> str:
    """One block; ``depth`` counts the lists around it, to pick the bullet of a sublist."""
    match node.type:
        case "paragraph":
            return _inline(inline_children(node))
        case "heading":
            text = _inline(inline_children(node), in_heading=True)
            return f"*{text}*" if text else ""
        case "bullet_list" | "ordered_list":
            return _list(node, depth)
        case "blockquote":
            return indent(_blocks(node.children, depth), _QUOTE)
        case "fence" | "code_block":
            code = escape(node.content.rstrip("\n"))
            return f"```\n{code}\n```"
        case "hr":
            return _RULE
        case "html_block":
            return escape(node.content.rstrip("\n"))
        case "table":
            return _table(node)
        case _:
            return _blocks(node.children, depth)


def _list(node: SyntaxTreeNode, depth: int) -> str:
    """A list, one line per item; a sublist is indented under its item."""
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1))
    bullet = _BULLETS[min(depth, len(_BULLETS) - 1)]
    items = (
        _list_item(item, f"{start + number}." if ordered else bullet, depth)
        for number, item in enumerate(node.children)
    )
    return "\n".join(items)


def _list_item(item: SyntaxTreeNode, marker: str, depth: int) -> str:
    """The marker, then the item's blocks: text under the first line's text, sublists indented.

    A loose item's paragraphs go on consecutive lines; a blank line would break up the list.
    """
    hanging = " " * (len(marker) + 1)
    parts: list[str] = []
    for child in item.children:
        if child.type in _LIST_TYPES:
            if not parts:
                parts.append(marker)  # the item opens with a sublist: the marker stands alone
            parts.append(indent(_list(child, depth + 1), _NESTED_INDENT))
        elif text := _block(child, depth):
            first = hanging if parts else f"{marker} "
            parts.append(indent(text, hanging, first=first))
    return "\n".join(parts) or marker


def _table(node: SyntaxTreeNode) -> str:
    """A table as one bullet per body row, each cell labelled with its column's header.

    Slack shows Markdown tables as raw pipes, and a wide table is unreadable on a phone.
    """
    rows = [row for section in node.children for row in section.children]
    if not rows:
        return ""
    headers = [_inline(inline_children(cell)) for cell in rows[0].children]
    lines: list[str] = []
    for row in rows[1:]:
        cells = [_inline(inline_children(cell)) for cell in row.children]
        labelled = [
            f"{header}: {cell}" if header else cell
            for header, cell in zip(headers, cells, strict=False)
            if cell
        ]
        if labelled:
            lines.append(f"{_BULLETS[0]} {_CELL_SEPARATOR.join(labelled)}")
    if not lines:  # a header row alone
        return _CELL_SEPARATOR.join(header for header in headers if header)
    return "\n".join(lines)


# Inline


def _inline(
    nodes: Sequence[SyntaxTreeNode], *, in_heading: bool = False, in_link: bool = False
) -> str:
    """Inline nodes as mrkdwn; a heading is bold already, and a link cannot hold a link."""
    return "".join(_inline_node(node, in_heading=in_heading, in_link=in_link) for node in nodes)


def _inline_node(node: SyntaxTreeNode, *, in_heading: bool, in_link: bool) -> str:
    def inner() -> str:
        return _inline(node.children, in_heading=in_heading, in_link=in_link)

    match node.type:
        case "text" | "html_inline":
            return escape(node.content)
        case "softbreak" | "hardbreak":
            return "\n"
        case "strong":
            return inner() if in_heading else f"*{inner()}*"
        case "em":
            return f"_{inner()}_"
        case "s":
            return f"~{inner()}~"
        case "code_inline":
            return f"`{escape(node.content)}`"
        case "link":
            return _link(node, _inline(node.children, in_heading=in_heading, in_link=True))
        case "image":
            return _image(node, in_link=in_link)
        case _:
            return inner() if node.children else escape(node.content)


def _link(node: SyntaxTreeNode, text: str) -> str:
    href = str(node.attrs.get("href", ""))
    if not is_linkable(href):
        return text
    url = escape(href)
    text = text.replace("|", _LINK_TEXT_PIPE)
    # An email autolink <a@b.com> has the href mailto:a@b.com: label it with the bare address.
    is_email = href.startswith("mailto:") and not plain_text(node).startswith("mailto:")
    if not text or (node.markup == "autolink" and not is_email):
        return f"<{url}>"
    return f"<{url}|{text}>"


def _image(node: SyntaxTreeNode, *, in_link: bool) -> str:
    """An image as a link to it, labelled with its alt text (just the text inside a link)."""
    alt = escape(plain_text(node)).replace("|", _LINK_TEXT_PIPE)
    src = str(node.attrs.get("src", ""))
    if in_link or not is_linkable(src):
        return alt
    return f"<{escape(src)}|{alt}>" if alt else f"<{escape(src)}>"
