"""House-tone conformance: the rules of ``bot/core/prompts/style.md`` that a program can check.

An answer is read as blocks: prose paragraphs (separated by blank lines) and list items
(``-``, ``*``, ``+``, ``•``, ``1.`` or ``1)`` lines). ``tone_problems`` returns one short label
per broken rule, so a report can say what is wrong, not only that something is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# These mirror style.md's checkable rules ("keep it short", "no greetings, no sign-offs, no
# 'I hope this helps'") plus the answer format: cited statements, plain text for chat.
MAX_SENTENCES = 5  # prose sentences; list items are not counted as sentences
MAX_LIST_ITEMS = 10
MAX_WORDS = 150  # over the whole answer, citation markers not counted
GREETINGS = (
    "hi",
    "hello",
    "hey",
    "dear",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
)  # banned at the start of an answer
BANNED_PHRASES = (
    "I hope this helps",
    "hope this helps",
    "let me know if",
    "feel free to",
    "best regards",
    "kind regards",
    "happy to help",
    "great question",
    "as an AI",
)  # banned anywhere

_MARKER = re.compile(r"\[\d+(?:\s*[,;–-]\s*\d+)*\]")  # [1], [1, 2], [1-2], as in citations.py
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_HTML_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?/?>")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)*_]*\s+(?=[\"'“‘(*_]*[A-Z0-9])")
_SPACE = re.compile(r"\s+")
_LABEL_QUOTE_CHARS = 40


@dataclass(frozen=True)
class _Block:
    text: str  # without its list mark, lines joined
    list_item: bool


def tone_problems(answer: str) -> tuple[str, ...]:
    """Labels for the house-style rules ``answer`` breaks; an empty tuple means it conforms.

    Labels are short and specific, e.g. ``"7 sentences (max 5)"``,
    ``"banned phrase: 'I hope this helps'"`` or ``"uncited paragraph"``.
    """
    blocks = _blocks(answer)
    return (
        *_length_problems(answer, blocks),
        *_phrase_problems(answer),
        *_citation_problems(blocks),
        *_markup_problems(answer),
    )


def _blocks(answer: str) -> list[_Block]:
    """Paragraphs and list items; headings are left out (they are reported on their own)."""
    blocks: list[_Block] = []
    lines: list[str] = []
    in_item = False

    def flush() -> None:
        if lines:
            blocks.append(_Block(" ".join(lines), in_item))
            lines.clear()

    for line in answer.splitlines():
        stripped = line.strip()
        if not stripped or _HEADING.match(line):
            flush()
            in_item = False
        elif _LIST_MARK.match(line):
            flush()
            in_item = True
            lines.append(_LIST_MARK.sub("", line).strip())
        elif in_item and not line[0].isspace():
            # An unindented line after a list item starts a paragraph.
            flush()
            in_item = False
            lines.append(stripped)
        else:
            lines.append(stripped)
    flush()
    return blocks


def _without_markers(text: str) -> str:
    text = _MARKER.sub(" ", text)
    return _SPACE.sub(" ", text).replace(" .", ".").strip()


def _sentence_count(text: str) -> int:
    """The sentences in one prose paragraph, citation markers ignored."""
    plain = _without_markers(text)
    return len([s for s in _SENTENCE_END.split(plain) if any(c.isalnum() for c in s)])


def _word_count(answer: str) -> int:
    """Words in the answer: whitespace-separated tokens with a letter or digit, no markers."""
    text = "\n".join(_LIST_MARK.sub("", line) for line in answer.splitlines())
    return sum(1 for token in _MARKER.sub(" ", text).split() if any(c.isalnum() for c in token))


def _length_problems(answer: str, blocks: list[_Block]) -> list[str]:
    problems = []
    sentences = sum(_sentence_count(b.text) for b in blocks if not b.list_item)
    if sentences > MAX_SENTENCES:
        problems.append(f"{sentences} sentences (max {MAX_SENTENCES})")
    items = sum(1 for b in blocks if b.list_item)
    if items > MAX_LIST_ITEMS:
        problems.append(f"{items} list items (max {MAX_LIST_ITEMS})")
    words = _word_count(answer)
    if words > MAX_WORDS:
        problems.append(f"{words} words (max {MAX_WORDS})")
    return problems


def _phrase_pattern(phrase: str) -> str:
    return r"(?<!\w)" + r"\s+".join(re.escape(word) for word in phrase.split()) + r"(?!\w)"


_GREETING = re.compile(
    r"^\W*(" + "|".join(_phrase_pattern(g) for g in GREETINGS) + ")", re.IGNORECASE
)
# Longest first, so "I hope this helps" is reported once, not also as "hope this helps".
_BANNED = [
    (phrase, re.compile(_phrase_pattern(phrase), re.IGNORECASE))
    for phrase in sorted(BANNED_PHRASES, key=len, reverse=True)
]


def _phrase_problems(answer: str) -> list[str]:
    problems = []
    greeting = _GREETING.match(answer)
    if greeting:
        problems.append(f"greeting: '{greeting.group(1)}'")
    taken: list[tuple[int, int]] = []
    found: set[str] = set()
    for phrase, pattern in _BANNED:
        for match in pattern.finditer(answer):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            taken.append(match.span())
            found.add(phrase)
    # Report in the order the constants list them.
    problems += [f"banned phrase: '{phrase}'" for phrase in BANNED_PHRASES if phrase in found]
    return problems


def _citation_problems(blocks: list[_Block]) -> list[str]:
    def uncited(block: _Block) -> bool:
        states_something = any(c.isalnum() for c in _MARKER.sub("", block.text))
        lead_in = block.text.rstrip().endswith(":")
        return states_something and not lead_in and not _MARKER.search(block.text)

    problems = []
    paragraphs = sum(1 for b in blocks if not b.list_item and uncited(b))
    items = sum(1 for b in blocks if b.list_item and uncited(b))
    if paragraphs:
        problems.append(_counted(paragraphs, "uncited paragraph"))
    if items:
        problems.append(_counted(items, "uncited list item"))
    return problems


def _markup_problems(answer: str) -> list[str]:
    problems = []
    tags = dict.fromkeys(m.group(1).lower() for m in _HTML_TAG.finditer(answer))
    if tags:
        problems.append("HTML tag: " + ", ".join(f"<{tag}>" for tag in tags))
    for line in answer.splitlines():
        if _HEADING.match(line):
            problems.append(f"Markdown heading: '{_shortened(line.strip())}'")
    return problems


def _counted(count: int, label: str) -> str:
    return label if count == 1 else f"{count} {label}s"


def _shortened(text: str) -> str:
    if len(text) <= _LABEL_QUOTE_CHARS:
        return text
    return text[: _LABEL_QUOTE_CHARS - 1].rstrip() + "…"
