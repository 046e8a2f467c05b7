"""Adaptive Card text from the Markdown an LLM writes.

The model answers in CommonMark with GitHub tables, but a Teams card's ``TextBlock`` shows only a
subset: ``**bold**``, ``_italic_``, ``- item`` and ``1. item`` lists and ``[text](url)`` links. No
headings, tables, code, images, quotes or HTML. Teams also shows a single newline outside a list
as a space, so each paragraph, list, heading, quote, table or code block becomes a ``TextBlock``
of its own, and a line break inside one is a blank line, the break Teams documents.

As for Slack, we parse with markdown-it-py and render its syntax tree rather than rewrite the raw
text with regexes. Inline content is first flattened into pieces (literal text, our own markup,
the ends of bold and italic spans, line breaks) so that literal text can be escaped knowing what
surrounds it: a backslash goes only where a CommonMark renderer would otherwise read markup, since
some Teams clients have shown escaping backslashes. ``snake_case``, ``2 * 3`` and the ``[1]``
citation markers are left as written.

``to_plain_text`` renders the same tree without any markup, for notifications and the card's
``fallbackText``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from markdown_it.tree import SyntaxTreeNode

from bot.platforms.markdown_tree import indent, inline_children, parse_markdown

_LINK_SCHEMES = ("http://", "https://", "mailto:")
_LIST_TYPES = ("bullet_list", "ordered_list")
_BULLET = "-"
_BOLD = "**"
_ITALIC = "_"
# "_" cannot open or close emphasis inside a word ("snake_case"); "*" can.
_ITALIC_IN_WORD = "*"
_LABEL_SEPARATOR = ": "
_CELL_SEPARATOR = "; "
# Leading spaces would turn a line into an indented code block; no-break spaces just indent it.
_NBSP = "\u00a0"
_TAB_WIDTH = 4

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_ENTITY = re.compile(r"&#?[0-9A-Za-z]+;")
_HEADING_MARK = re.compile(r"#{1,6}")
_ORDERED_MARK = re.compile(r"\d{1,9}[.)]")
_RULE_OR_UNDERLINE = re.compile(r"=+[ \t]*|-+[ \t]*|([-*_])(?:[ \t]*\1){2,}[ \t]*")
# After "[label]:", a URL then something that cannot start a title: no definition.
_NOT_A_DEFINITION = re.compile(r"[ \t]*[^\s<]\S*[ \t]+[^\s\"'(]")
_URL_BREAKERS = re.compile(r"[\s()<>]")


@dataclass(frozen=True)
class _Context:
    """How blocks render: as card Markdown or plain text, and where they sit."""

    plain: bool
    in_list: bool = False
    keep_lines: bool = False  # inside a quote, a soft line break keeps its line

    @property
    def newline(self) -> str:
        """Between two lines of one block; outside a list Teams needs a blank line for it."""
        return "\n" if self.plain or self.in_list else "\n\n"

    @property
    def block_separator(self) -> str:
        """Between two blocks inside a quote or a list item: a list cannot hold a blank line."""
        return "\n" if self.in_list else "\n\n"


_CARD = _Context(plain=False)
_PLAIN = _Context(plain=True)


def to_card_blocks(markdown: str) -> list[str]:
    """Markdown → the texts of consecutive Adaptive Card TextBlocks, in Teams' Markdown subset.

    One text per paragraph, list, heading, quote, table or code block, to show with
    ``wrap: true``. Links keep their URL only for http(s) and mailto; tables become one bullet
    per row; ``[1]``-style citation markers are left as written.
    """
    tree = parse_markdown(markdown)
    rendered = (_tidy(_block(node, _CARD)) for node in tree.children)
    return [text for text in rendered if text]


def to_plain_text(markdown: str) -> str:
    """The answer as plain text: no markup, links as ``text (url)``, lists as ``- item`` lines."""
    tree = parse_markdown(markdown)
    return _tidy(_blocks(tree.children, _PLAIN))


def _tidy(text: str) -> str:
    """No trailing spaces on any line, no blank lines around the text."""
    return "\n".join(line.rstrip(" \t") for line in text.split("\n")).strip("\n")


# Blocks


def _blocks(nodes: Sequence[SyntaxTreeNode], ctx: _Context) -> str:
    """Block nodes rendered one after another."""
    rendered = (_block(node, ctx) for node in nodes)
    return ctx.block_separator.join(text for text in rendered if text)


def _block(node: SyntaxTreeNode, ctx: _Context) -> str:
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
            return _table(node, ctx)
        case _:
            return _blocks(node.children, ctx)


def _inline_block(nodes: Sequence[SyntaxTreeNode], ctx: _Context) -> str:
    """A paragraph: its inline content, cut into lines at its line breaks."""
    lines = (_line(pieces, ctx) for pieces in _split_lines(_pieces(nodes, ctx)))
    return ctx.newline.join(line for line in lines if line)


def _heading(node: SyntaxTreeNode, ctx: _Context) -> str:
    """A heading as a line of its own, bold on a card (where bold inside it is dropped)."""
    pieces = _pieces(inline_children(node), ctx, in_heading=True, one_line=True)
    if ctx.plain:
        return _line(pieces, ctx)
    return _line(_wrap(pieces, _BOLD), ctx)


def _verbatim(content: str, ctx: _Context) -> str:
    """Code or raw HTML: its lines as literal text, never interpreted.

    On a card a blank line cannot be shown, so blank lines are dropped.
    """
    lines = [line.rstrip() for line in content.rstrip("\n").split("\n")]
    if ctx.plain:
        return "\n".join(lines)
    rendered = (_line([_text(line)], ctx) for line in lines if line.strip())
    return ctx.newline.join(rendered)


def _list(node: SyntaxTreeNode, ctx: _Context) -> str:
    """A list, one line per item; a sublist is indented under its item's text."""
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1))
    inner = replace(ctx, in_list=True)
    items = (
        _list_item(item, f"{start + number}." if ordered else _BULLET, inner)
        for number, item in enumerate(node.children)
    )
    return "\n".join(items)


def _list_item(item: SyntaxTreeNode, marker: str, ctx: _Context) -> str:
    """The marker, then the item's blocks: text under the first line's text, sublists indented.

    The indent is the marker's width, where CommonMark expects an item's content. A loose item's
    paragraphs go on consecutive lines: a blank line would break up the list in Teams. On a card
    a marker with nothing after it gets a no-break space: alone under a line of text, ``-``
    would underline that text as a heading.
    """
    hanging = " " * (len(marker) + 1)
    bare = marker if ctx.plain else f"{marker} {_NBSP}"
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


def _cannot_interrupt_paragraph(sublist: SyntaxTreeNode, ctx: _Context) -> bool:
    """Whether a sublist needs a blank line above it to be read as a list, not as text.

    CommonMark lets only an ordered list starting at 1 interrupt a paragraph.
    """
    ordered = sublist.type == "ordered_list"
    return not ctx.plain and ordered and int(sublist.attrs.get("start", 1)) != 1


def _table(node: SyntaxTreeNode, ctx: _Context) -> str:
    """A table as one bullet per body row, each cell labelled with its column's header.

    Cards have no tables; empty cells are left out, and so are rows with nothing in them.
    """
    rows = [row for section in node.children for row in section.children]
    if not rows:
        return ""
    headers = rows[0].children
    lines: list[str] = []
    for row in rows[1:]:
        pieces: list[_Piece] = []
        for header, cell in zip(headers, row.children, strict=False):
            if not inline_children(cell):
                continue
            if pieces:
                pieces.append(_markup(_CELL_SEPARATOR))
            # Rendered again for every row: spans in pieces are settled per line.
            if label := _pieces(inline_children(header), ctx, one_line=True):
                pieces += [*label, _markup(_LABEL_SEPARATOR)]
            pieces += _pieces(inline_children(cell), ctx, one_line=True)
        if pieces:
            lines.append(f"{_BULLET} {_line(pieces, ctx)}")
    if lines:
        return "\n".join(lines)
    # A header row alone.
    labels: list[_Piece] = []
    for header in headers:
        if label := _pieces(inline_children(header), ctx, one_line=True):
            labels += [_markup(_CELL_SEPARATOR), *label] if labels else label
    return _line(labels, ctx)


# Inline: pieces


class _Span:
    """Bold or italic around some pieces; an italic span settles on "_" or "*" by its context."""

    def __init__(self, delimiter: str) -> None:
        self.style = delimiter  # _BOLD or _ITALIC
        self.delimiter = delimiter


_Kind = Literal["text", "markup", "open", "close", "break"]


@dataclass(frozen=True)
class _Piece:
    """Literal text, markup we write, one end of a span, or a line break."""

    kind: _Kind
    text: str = ""
    span: _Span | None = None
    in_link: bool = False  # literal text inside a link's [text], where brackets must be escaped

    @property
    def raw(self) -> str:
        """The piece as written, before its text is escaped."""
        return self.span.delimiter if self.span is not None else self.text


_BREAK = _Piece("break")


def _text(text: str, in_link: bool = False) -> _Piece:
    return _Piece("text", text, in_link=in_link)


def _markup(text: str) -> _Piece:
    return _Piece("markup", text)


def _pieces(
    nodes: Sequence[SyntaxTreeNode],
    ctx: _Context,
    *,
    in_heading: bool = False,
    in_link: bool = False,
    one_line: bool = False,
) -> list[_Piece]:
    """Inline nodes as pieces; a heading is bold already, a link's text stays on one line."""
    return [
        piece
        for node in nodes
        for piece in _node_pieces(
            node, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line
        )
    ]


def _node_pieces(
    node: SyntaxTreeNode, ctx: _Context, *, in_heading: bool, in_link: bool, one_line: bool
) -> list[_Piece]:
    def inner() -> list[_Piece]:
        return _pieces(
            node.children, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line
        )

    match node.type:
        case "text" | "html_inline" | "code_inline":
            return [_text(node.content, in_link)]
        case "softbreak":
            return [_BREAK] if ctx.keep_lines and not one_line else [_text(" ", in_link)]
        case "hardbreak":
            return [_text(" ", in_link)] if one_line else [_BREAK]
        case "strong":
            return inner() if in_heading or ctx.plain else _wrap(inner(), _BOLD)
        case "em":
            return inner() if ctx.plain else _wrap(inner(), _ITALIC)
        case "s":  # strikethrough does not show reliably in Teams: keep just the text
            return inner()
        case "link":
            return _link(node, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line)
        case "image":
            return _image(node, ctx, in_link=in_link)
        case _:
            return inner() if node.children else [_text(node.content, in_link)]


def _wrap(pieces: list[_Piece], delimiter: str) -> list[_Piece]:
    """The pieces inside a new span, with any whitespace at their ends moved outside it.

    CommonMark reads ``** x**`` as literal asterisks, so the span must hug its text.
    """
    if not _has_content(pieces):
        return pieces
    before: list[_Piece] = []
    after: list[_Piece] = []
    first, last = pieces[0], pieces[-1]
    if first.kind == "text" and (stripped := first.text.lstrip()) != first.text:
        before = [replace(first, text=first.text[: len(first.text) - len(stripped)])]
        pieces = [replace(first, text=stripped), *pieces[1:]]
    if last.kind == "text" and (stripped := last.text.rstrip()) != last.text:
        after = [replace(last, text=last.text[len(stripped) :])]
        pieces = [*pieces[:-1], replace(pieces[-1], text=stripped)]
    span = _Span(delimiter)
    return [*before, _Piece("open", span=span), *pieces, _Piece("close", span=span), *after]


def _link(
    node: SyntaxTreeNode, ctx: _Context, *, in_heading: bool, in_link: bool, one_line: bool
) -> list[_Piece]:
    """A link with a safe URL; any other keeps only its text (a link cannot hold a link)."""
    href = str(node.attrs.get("href", ""))
    if in_link or not _is_linkable(href):
        return _pieces(
            node.children, ctx, in_heading=in_heading, in_link=in_link, one_line=one_line
        )
    text = _pieces(node.children, ctx, in_heading=in_heading, in_link=True, one_line=True)
    if ctx.plain:
        label = _line(text, ctx).strip()
        # An autolink <https://x.io> or <a@b.com> is its own label.
        if not label or node.markup == "autolink" or href in (label, f"mailto:{label}"):
            return [_text(label or href)]
        return [*text, _text(f" ({href})")]
    if not _has_content(text):
        text = [_text(href, in_link=True)]
    return [_markup("["), *text, _markup(f"]({_card_url(href)})")]


def _image(node: SyntaxTreeNode, ctx: _Context, *, in_link: bool) -> list[_Piece]:
    """An image as a link to it, labelled with its alt text (just the text inside a link)."""
    alt = _plain_text(node)
    src = str(node.attrs.get("src", ""))
    if in_link or not _is_linkable(src):
        return [_text(alt, in_link)]
    if ctx.plain:
        return [_text(f"{alt} ({src})" if alt else src)]
    return [_markup("["), _text(alt or src, in_link=True), _markup(f"]({_card_url(src)})")]


def _plain_text(node: SyntaxTreeNode) -> str:
    """The text inside a node with its formatting dropped, like an image's alt text."""
    if node.type in ("text", "code_inline"):
        return node.content
    return "".join(_plain_text(child) for child in node.children)


def _is_linkable(url: str) -> bool:
    return url.lower().startswith(_LINK_SCHEMES)


def _card_url(url: str) -> str:
    """The URL with ``(``, ``)``, ``<``, ``>`` and whitespace percent-encoded.

    markdown-it has encoded most unsafe characters already, but keeps parentheses, and Teams'
    own parser ends a link's URL at the first ``)`` or space.
    """
    return _URL_BREAKERS.sub(
        lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode()), url
    )


def _has_content(pieces: Sequence[_Piece]) -> bool:
    return any(piece.kind in ("text", "markup") and piece.text.strip() for piece in pieces)


# Inline: lines


def _split_lines(pieces: Sequence[_Piece]) -> list[list[_Piece]]:
    """The pieces cut at their line breaks; a span open across a break is closed and reopened.

    On a card the lines become separate paragraphs, and emphasis cannot cross a paragraph.
    """
    lines: list[list[_Piece]] = [[]]
    open_spans: list[_Span] = []
    for piece in pieces:
        if piece.kind == "break":
            lines[-1] += [_Piece("close", span=span) for span in reversed(open_spans)]
            lines.append([_Piece("open", span=span) for span in open_spans])
            continue
        if piece.span is not None:
            if piece.kind == "open":
                open_spans.append(piece.span)
            else:
                open_spans.remove(piece.span)
        lines[-1].append(piece)
    return lines


def _line(pieces: Sequence[_Piece], ctx: _Context) -> str:
    """One line of pieces as text: on a card, spans settled and literal text escaped."""
    pieces = _merge_texts(_tidy_spans(pieces))
    if ctx.plain:
        return "".join(piece.raw for piece in pieces)
    pieces = _merge_texts(_settle_spans(pieces))
    if pieces and pieces[-1].kind == "text":  # "\\" before a space the tidying removes
        pieces[-1] = replace(pieces[-1], text=pieces[-1].text.rstrip(" \t"))
    raws = [piece.raw for piece in pieces]
    rendered: list[str] = []
    for number, piece in enumerate(pieces):
        if piece.kind != "text":
            rendered.append(piece.raw)
            continue
        before, after = _neighbours(raws, number)
        rendered.append(
            _escape(piece.text, before, after, line_start=number == 0, in_link=piece.in_link)
        )
    return "".join(rendered)


def _tidy_spans(pieces: Sequence[_Piece]) -> list[_Piece]:
    """Without empty text, spans around nothing, or a span that ends where a like one starts.

    ``____`` would show as literal text, and two italics side by side as ``*a**b*`` would read
    as bold: one italic over both looks the same.
    """
    kept: list[_Piece] = []
    merged: dict[_Span, _Span] = {}  # a span continued by the like one that ended just before it
    for piece in pieces:
        if piece.span in merged:
            piece = replace(piece, span=merged[piece.span])
        if piece.kind == "text" and not piece.text:
            continue
        previous = kept[-1] if kept else None
        if previous is not None and previous.span is not None and piece.span is not None:
            if previous.kind == "open" and piece.kind == "close":
                kept.pop()
                continue
            if (previous.kind, piece.kind) == ("close", "open") and (
                previous.span.style == piece.span.style
            ):
                merged[piece.span] = previous.span
                kept.pop()
                continue
        kept.append(piece)
    return kept


def _merge_texts(pieces: Sequence[_Piece]) -> list[_Piece]:
    """Adjacent literal texts as one piece, so escaping sees them together."""
    merged: list[_Piece] = []
    for piece in pieces:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and piece.kind == previous.kind == "text"
            and piece.in_link == previous.in_link
        ):
            merged[-1] = replace(previous, text=previous.text + piece.text)
        else:
            merged.append(piece)
    return merged


def _settle_spans(pieces: Sequence[_Piece]) -> list[_Piece]:
    """Delimiters CommonMark reads as written: italic "_" where it can, else "*".

    A span it could not read in either spelling (``**a)**b`` once a code span's backticks are
    gone) is dropped, keeping its text: plain text beats stray asterisks.
    """
    pieces = list(pieces)
    while True:
        spans = list(dict.fromkeys(piece.span for piece in pieces if piece.span is not None))
        for span in spans:
            for delimiter in (_ITALIC, _ITALIC_IN_WORD) if span.style == _ITALIC else (_BOLD,):
                span.delimiter = delimiter
                if _delimits(pieces, span):
                    break
        invalid = next((span for span in spans if not _delimits(pieces, span)), None)
        if invalid is None:
            return pieces
        pieces = [piece for piece in pieces if piece.span is not invalid]


def _delimits(pieces: Sequence[_Piece], span: _Span) -> bool:
    """Whether each end of the span is a delimiter run that can open or close, as it must.

    A run may join the ends of one bold and one italic span (``***``), not of two alike
    (``__`` would be bold, ``****`` is a bold in a bold).
    """
    chars: list[tuple[str, _Span | None]] = [
        (char, piece.span) for piece in pieces for char in piece.raw
    ]
    position = 0
    open_spans: list[_Span] = []
    for piece in pieces:
        start, position = position, position + len(piece.raw)
        if piece.span is not span:
            if piece.kind == "open" and piece.span is not None:
                open_spans.append(piece.span)
            elif piece.kind == "close" and piece.span in open_spans:
                open_spans.remove(piece.span)
            continue
        end = position
        char = span.delimiter[0]
        while start > 0 and chars[start - 1][1] is not None and chars[start - 1][0] == char:
            start -= 1
        while end < len(chars) and chars[end][1] is not None and chars[end][0] == char:
            end += 1
        owners = [owner for _, owner in chars[start:end]]
        styles = sorted(owner.style for owner in dict.fromkeys(owners) if owner is not None)
        if len(styles) > 1 and styles != sorted((_BOLD, _ITALIC)):
            return False
        before = chars[start - 1][0] if start else ""
        after = chars[end][0] if end < len(chars) else ""
        opens, closes = _flanking(char, before, after)
        if not (opens if piece.kind == "open" else closes):
            return False
        # An opener that could also close would close a span opened before its run that is
        # spelled the same way.
        outer = [other for other in open_spans if other not in owners]
        if piece.kind == "open" and closes and any(char in o.delimiter for o in outer):
            return False
        if piece.kind == "open":
            open_spans.append(span)
    return True


def _neighbours(raws: Sequence[str], number: int) -> tuple[str, str]:
    """The characters just before and just after piece ``number``; "" at the line's ends."""
    return "".join(raws[:number])[-1:], "".join(raws[number + 1 :])[:1]


# Inline: escaping


def _escape(text: str, before: str, after: str, *, line_start: bool, in_link: bool) -> str:
    """Literal text with a backslash before each character a renderer could read as markup.

    ``before`` and ``after`` are the characters around the text on its line ("" at an end).
    """
    if line_start:
        text = _nbsp_indent(text)
    escaped = _line_start_escapes(text, after) if line_start else set()
    index = 0
    while index < len(text):
        char = text[index]
        previous = text[index - 1] if index else before
        if char in "*_~":
            end = index
            while end < len(text) and text[end] == char:
                end += 1
            following = text[end] if end < len(text) else after
            # "~~" is strikethrough in markdown-it and GFM; a lone "~" (~5 days) is text.
            markup = end - index >= 2 if char == "~" else _can_delimit(char, previous, following)
            if markup:
                escaped.update(range(index, end))
            index = end
            continue
        following = text[index + 1] if index + 1 < len(text) else after
        if _needs_escape(char, following, text[index:] + after, in_link=in_link):
            escaped.add(index)
        index += 1
    return "".join("\\" + char if i in escaped else char for i, char in enumerate(text))


def _needs_escape(char: str, following: str, rest: str, *, in_link: bool) -> bool:
    """Whether a character other than ``*``, ``_`` or ``~`` would be read as markup.

    ``following`` is the next character on the line ("" at its end), ``rest`` the text from
    ``char`` on, with the next character after the text.
    """
    match char:
        case "\\":  # escapes punctuation, and makes a hard break at the end of a line
            return not following or following in _ASCII_PUNCTUATION
        case "`":  # a code span
            return True
        case "[":  # inside a link's text, any bracket could end or break it
            return in_link
        case "]":  # "](" would make a link of the text before it
            return in_link or following == "("
        case "!":  # "![" before a link would make it an image
            return following == "["
        case "<":  # a tag, an autolink or a comment
            return following != "" and (following in "/!?" or following in string.ascii_letters)
        case "&":  # an entity like &amp; would be decoded
            return _ENTITY.match(rest) is not None
        case _:
            return False


def _can_delimit(char: str, before: str, after: str) -> bool:
    """Whether a literal run of ``*`` or ``_`` could open or close emphasis."""
    opens, closes = _flanking(char, before, after, strict=False)
    return opens or closes


def _flanking(char: str, before: str, after: str, *, strict: bool = True) -> tuple[bool, bool]:
    """Whether a run of ``*`` or ``_`` between two characters can open, and can close, emphasis.

    CommonMark's flanking rules, read with Unicode symbols counted as punctuation (CommonMark
    0.31) and without (0.30): ``strict`` needs both readings to agree, else either will do.
    """
    readings: list[tuple[bool, bool]] = []
    for symbols in (False, True):
        before_punct = _is_punctuation(before, symbols=symbols)
        after_punct = _is_punctuation(after, symbols=symbols)
        left = not _is_space(after) and (not after_punct or _is_space(before) or before_punct)
        right = not _is_space(before) and (not before_punct or _is_space(after) or after_punct)
        if char == "*":
            readings.append((left, right))
        else:  # "_" inside a word neither opens nor closes
            readings.append(
                (left and (not right or before_punct), right and (not left or after_punct))
            )
    combine = all if strict else any
    return combine(opens for opens, _ in readings), combine(closes for _, closes in readings)


def _line_start_escapes(text: str, after: str) -> set[int]:
    """Where to escape text that starts a line so that it starts no block.

    A list item, heading, quote, rule, setext underline or link reference definition; ``after``
    is the character after the text on its line, "" if none.
    """
    whole_line = not after

    def ends_marker(end: int) -> bool:
        return text[end : end + 1] in (" ", "\t") or (end == len(text) and whole_line)

    if heading := _HEADING_MARK.match(text):
        return {0} if ends_marker(heading.end()) else set()
    if text.startswith(">") or (text.startswith("[") and _may_define(text, after)):
        return {0}
    if text[:1] in ("-", "+", "*") and ends_marker(1):
        return {0}
    if whole_line and _RULE_OR_UNDERLINE.fullmatch(text):
        return {0}
    if (number := _ORDERED_MARK.match(text)) and ends_marker(number.end()):
        return {number.end() - 1}  # 3\. stays text
    return set()


def _may_define(text: str, after: str) -> bool:
    """Whether text starting with "[" could start a link reference definition ``[label]: url``.

    The label ends at the first "]" left unescaped, so ``[1] says`` is safe as written, and so
    is ``[1]: Leave policy``: a word after the URL that cannot start a title undoes a definition.
    """
    for close in (index for index, char in enumerate(text) if char == "]"):
        following = text[close + 1 : close + 2] or after
        if following == "(":  # "](" gets escaped, so the label runs on
            continue
        return following == ":" and not _NOT_A_DEFINITION.match(text, close + 2)
    return bool(after)  # the label could close after this text, if not at the end of the line


def _nbsp_indent(text: str) -> str:
    """Leading spaces and tabs as no-break spaces, which CommonMark does not count as indent."""
    stripped = text.lstrip(" \t")
    indent = text[: len(text) - len(stripped)].replace("\t", " " * _TAB_WIDTH)
    return _NBSP * len(indent) + stripped


def _is_space(char: str) -> bool:
    """Whitespace, or "" for the start or end of a line, which counts as whitespace."""
    return not char or char.isspace()


def _is_punctuation(char: str, *, symbols: bool) -> bool:
    if char in _ASCII_PUNCTUATION:
        return True
    if not char:
        return False
    category = unicodedata.category(char)
    return category.startswith("P") or (symbols and category.startswith("S"))
