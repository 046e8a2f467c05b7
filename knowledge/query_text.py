"""A chat message as the search reads it: emoji and decoration out, chat shorthand spelled out.

People ask "pto next wk?? 🏖️" where the documents say "paid time off". The embedding model
knows neither the shorthand nor the emoji, and full-text search cannot match them, so each
abbreviation is kept and its spelled-out words are added after it ("pto (paid time off)"):
the message keeps what it said, and both sides of the search get words the documents use.
"""

from __future__ import annotations

import re
import unicodedata

# Workplace chat shorthand, spelled out as handbooks write it. General, not one company's.
CHAT_ABBREVIATIONS = {
    "pto": "paid time off",
    "wfh": "work from home",
    "ooo": "out of office",
    "mgr": "manager",
    "hr": "people team human resources",
    "asap": "as soon as possible",
    "eod": "end of day",
    "eow": "end of week",
    "wk": "week",
    "wks": "weeks",
    "yr": "year",
    "yrs": "years",
    "mo": "month",
    "mos": "months",
    "hrs": "hours",
    "mins": "minutes",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "lmk": "let me know",
    "dm": "direct message",
    "1:1": "one-on-one meeting",
    "1on1": "one-on-one meeting",
    "bday": "birthday",
    "vacay": "vacation",
    "hols": "holidays",
    "xmas": "christmas holiday",
    "reimb": "reimbursement",
    "comp": "compensation",
    "perf": "performance",
    "onboard": "onboarding",
    "dept": "department",
    "mgmt": "management",
    "w/": "with",
    "w/o": "without",
    "b/c": "because",
    "ppl": "people",
    "govt": "government",
    "approx": "approximately",
}
_SHORTHAND = re.compile(
    r"(?<![\w/:])("
    + "|".join(re.escape(a) for a in sorted(CHAT_ABBREVIATIONS, key=len, reverse=True))
    + r")(?![\w/:])",
    re.IGNORECASE,
)
_SYMBOL_CATEGORIES = ("So", "Sk", "Cs", "Co", "Mn", "Cf")  # emoji, modifiers, joiners
_SPACES = re.compile(r"[ \t]+")


def search_text(message: str) -> str:
    """``message`` with emoji removed and chat shorthand followed by its spelled-out words."""
    kept = "".join(" " if unicodedata.category(ch) in _SYMBOL_CATEGORIES else ch for ch in message)
    spelled = _SHORTHAND.sub(_spelled_out, kept)
    return _SPACES.sub(" ", spelled).strip()


def _spelled_out(match: re.Match[str]) -> str:
    expansion = CHAT_ABBREVIATIONS[match.group(1).lower()]
    return f"{match.group(1)} ({expansion})" if expansion else match.group(1)
