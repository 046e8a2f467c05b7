"""What the answering core says itself: answers not written by a model, and refusals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

OFFLINE_ANSWER_INTRO = "Here is what our policies say:"
# Status lines while an answer is worked out.
SEARCHING = "Searching the policies…"
WRITING = "Writing the answer…"


def offline_answer(lines: list[str]) -> str:
    """The offline writer's frame around the sentences it quotes."""
    return "\n".join([OFFLINE_ANSWER_INTRO, "", *(f"- {line}" for line in lines)])


def limited(answer: str) -> str:
    """A quoted answer given because the model cannot be used right now, with one line saying so."""
    return f"(I'm limited right now, so this answer quotes our policies directly.)\n\n{answer}"


def unsure(answer: str, contact: str) -> str:
    """The offline writer's quotes when they may not answer the question: its frame's first
    line says so instead (kept short: the answer must stay within the house style's length)."""
    intro = (
        f"I couldn't find a direct answer in our policies; if this doesn't help, please ask "
        f"{contact}. The closest I found:"
    )
    return intro + answer.removeprefix(OFFLINE_ANSWER_INTRO)


def not_covered(contact: str) -> str:
    return (
        "I couldn't find this in our policies, so I'd rather not guess. "
        f"Please ask {contact}, who can help."
    )


def unavailable(reference: str) -> str:
    return (
        "Sorry, I can't answer right now because the answering service is temporarily "
        f"unavailable. Please try again in a few minutes. (Reference: {reference})"
    )


RATE_WINDOWS = {"minute": "in the last minute", "day": "in the last 24 hours"}


def rate_limited(limit: int, window: str, retry_after_seconds: float) -> str:
    """The reply to a question past the asker's limit, saying when they may ask again."""
    return (
        f"Sorry, you've asked me {limit} question{'s' if limit > 1 else ''} "
        f"{RATE_WINDOWS[window]}, the most I can take from one person. "
        f"Please ask again {_in_about(retry_after_seconds)}."
    )


def _in_about(seconds: float) -> str:
    # Rounded up: told "in 3 minutes", someone who comes back then is answered.
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds > size:
            count = math.ceil(seconds / size)
            return f"in about {count} {unit}{'s' if count > 1 else ''}"
    count = max(1, math.ceil(seconds))
    return f"in {count} second{'s' if count > 1 else ''}"


def empty_question() -> str:
    return "Please type a question, for example: How many days of annual leave do I get?"


def question_too_long(limit: int) -> str:
    return f"That question is too long for me: please keep it under {limit} characters."


# How each reply language names the languages the bot can search, and joins the last two.
LANGUAGE_NAMES = {
    "en": ("or", {"en": "English", "pt": "Portuguese", "es": "Spanish", "de": "German",
                  "fr": "French", "it": "Italian", "nl": "Dutch"}),
    "pt": ("ou", {"en": "inglês", "pt": "português", "es": "espanhol", "de": "alemão",
                  "fr": "francês", "it": "italiano", "nl": "neerlandês"}),
    "es": ("o", {"en": "inglés", "pt": "portugués", "es": "español", "de": "alemán",
                 "fr": "francés", "it": "italiano", "nl": "neerlandés"}),
    "de": ("oder", {"en": "Englisch", "pt": "Portugiesisch", "es": "Spanisch", "de": "Deutsch",
                    "fr": "Französisch", "it": "Italienisch", "nl": "Niederländisch"}),
    "fr": ("ou", {"en": "anglais", "pt": "portugais", "es": "espagnol", "de": "allemand",
                  "fr": "français", "it": "italien", "nl": "néerlandais"}),
    "it": ("o", {"en": "inglese", "pt": "portoghese", "es": "spagnolo", "de": "tedesco",
                 "fr": "francese", "it": "italiano", "nl": "olandese"}),
    "nl": ("of", {"en": "Engels", "pt": "Portugees", "es": "Spaans", "de": "Duits",
                  "fr": "Frans", "it": "Italiaans", "nl": "Nederlands"}),
}  # fmt: skip

# The contact stays as configured (a name, channel or address), so it follows a colon.
OTHER_LANGUAGE = {
    "en": "Sorry, I can only search our documents in {names}, so I can't look this question up. "
    "Please ask it in {names}, or ask {contact}, who can help.",
    "pt": "Desculpe, só consigo pesquisar os nossos documentos em {names}. "
    "Faça a pergunta em {names} ou peça ajuda a: {contact}.",
    "es": "Lo siento, solo puedo buscar en nuestros documentos en {names}. "
    "Haz la pregunta en {names} o pide ayuda a: {contact}.",
    "de": "Entschuldigung, ich kann unsere Dokumente nur auf {names} durchsuchen. "
    "Bitte stellen Sie Ihre Frage auf {names} oder wenden Sie sich an: {contact}.",
    "fr": "Désolé, je ne peux chercher dans nos documents qu'en {names}. "
    "Posez votre question en {names} ou demandez de l'aide à : {contact}.",
    "it": "Mi dispiace, posso cercare nei nostri documenti solo in {names}. "
    "Fai la domanda in {names} oppure chiedi aiuto a: {contact}.",
    "nl": "Sorry, ik kan onze documenten alleen in het {names} doorzoeken. "
    "Stel je vraag in het {names} of vraag hulp aan: {contact}.",
}


def other_language(language: str, searchable: Sequence[str], contact: str) -> str:
    """The reply to a question in ``language``, which the documents cannot be searched in
    (they can in ``searchable``): in that language when we write it, then in English."""
    english = _other_language("en", searchable, contact)
    if language == "en" or language not in OTHER_LANGUAGE:
        return english
    return f"{_other_language(language, searchable, contact)}\n\n{english}"


def _other_language(language: str, searchable: Sequence[str], contact: str) -> str:
    conjunction, names = LANGUAGE_NAMES[language]
    named = [names.get(code) or LANGUAGE_NAMES["en"][1].get(code, code) for code in searchable]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} {conjunction} {named[-1]}"
    return OTHER_LANGUAGE[language].format(names=listed, contact=contact)


def source_note(updated: date | None, review_overdue: bool) -> str:
    """What follows a source under an answer: when its document last changed, and whether its
    review is overdue ("" for neither)."""
    parts = [f"updated {updated:%Y-%m-%d}"] if updated else []
    if review_overdue:
        parts.append("review overdue")
    return " · ".join(parts)
