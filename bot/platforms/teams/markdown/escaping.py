"""Escaping literal text for a card: a backslash only where a renderer would read markup.

Some Teams clients have shown escaping backslashes, so ``snake_case``, ``2 * 3`` and the ``[1]``
citation markers are left as written. Also CommonMark's flanking rules, which decide whether a
run of ``*`` or ``_`` can open or close emphasis, for the spans we write as well.
"""

from __future__ import annotations

import re
import string
import unicodedata

# Leading spaces would turn a line into an indented code block; no-break spaces just indent it.
NBSP = "\u00a0"
_TAB_WIDTH = 4

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_ENTITY = re.compile(r"&#?[0-9A-Za-z]+;")
_HEADING_MARK = re.compile(r"#{1,6}")
_ORDERED_MARK = re.compile(r"\d{1,9}[.)]")
_RULE_OR_UNDERLINE = re.compile(r"=+[ \t]*|-+[ \t]*|([-*_])(?:[ \t]*\1){2,}[ \t]*")
# After "[label]:", a URL then something that cannot start a title: no definition.
_NOT_A_DEFINITION = re.compile(r"[ \t]*[^\s<]\S*[ \t]+[^\s\"'(]")


def escape(text: str, before: str, after: str, *, line_start: bool, in_link: bool) -> str:
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
    opens, closes = flanking(char, before, after, strict=False)
    return opens or closes


def flanking(char: str, before: str, after: str, *, strict: bool = True) -> tuple[bool, bool]:
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
    return NBSP * len(indent) + stripped


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
