"""Notion blocks as HTML for the HTML loader.

HTML rather than Markdown because a heading's own ``id`` becomes its section's anchor: a
heading gets its block's id (without dashes), which is how Notion links to a block
(``page-url#blockid``), so citations open at the section in Notion.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

Block = Mapping[str, Any]

_HEADINGS = {"heading_1": "h2", "heading_2": "h3", "heading_3": "h4"}
_ITEMS = {"bulleted_list_item": "ul", "numbered_list_item": "ol", "to_do": "ul"}
_TEXT = {"paragraph": "p", "quote": "blockquote", "callout": "p", "toggle": "p"}


def rich_text(parts: Sequence[Mapping[str, Any]]) -> str:
    """A rich-text array as inline HTML: the plain text, links kept."""
    out = []
    for part in parts:
        text = html.escape(str(part.get("plain_text", "")))
        href = part.get("href")
        out.append(f'<a href="{html.escape(str(href))}">{text}</a>' if href else text)
    return "".join(out)


def blocks_html(blocks: Sequence[Block], children: Mapping[str, Sequence[Block]]) -> str:
    """``blocks`` (a page's, in order) as HTML; ``children`` holds the blocks nested under a
    block by its id (list items' sub-items, a toggle's content)."""
    out: list[str] = []
    open_list = ""
    for block in blocks:
        kind = str(block.get("type", ""))
        content = block.get(kind) or {}
        text = rich_text(content.get("rich_text") or [])
        nested = blocks_html(children.get(str(block.get("id")), ()), children)
        list_tag = _ITEMS.get(kind, "")
        if list_tag != open_list:
            if open_list:
                out.append(f"</{open_list}>")
            if list_tag:
                out.append(f"<{list_tag}>")
            open_list = list_tag
        if list_tag:
            out.append(f"<li>{text}{nested}</li>")
        elif kind in _HEADINGS:
            anchor = str(block.get("id", "")).replace("-", "")
            tag = _HEADINGS[kind]
            out.append(f'<{tag} id="{html.escape(anchor)}">{text}</{tag}>{nested}')
        elif kind in _TEXT:
            tag = _TEXT[kind]
            out.append(f"<{tag}>{text}</{tag}>{nested}")
        elif kind == "code":
            out.append(f"<pre><code>{text}</code></pre>")
        elif kind == "table_row":
            cells = "".join(f"<td>{rich_text(c)}</td>" for c in content.get("cells") or [])
            out.append(f"<tr>{cells}</tr>")
        elif kind == "table":
            out.append(f"<table>{nested}</table>")
        elif nested:
            out.append(nested)
    if open_list:
        out.append(f"</{open_list}>")
    return "".join(out)
