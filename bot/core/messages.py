"""What the answering core says itself: answers not written by a model, and refusals."""

from __future__ import annotations

OFFLINE_ANSWER_INTRO = "Here is what our policies say:"


def offline_answer(lines: list[str]) -> str:
    """The offline writer's frame around the sentences it quotes."""
    return "\n".join([OFFLINE_ANSWER_INTRO, "", *(f"- {line}" for line in lines)])


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


def empty_question() -> str:
    return "Please type a question, for example: How many days of annual leave do I get?"


def question_too_long(limit: int) -> str:
    return f"That question is too long for me: please keep it under {limit} characters."
