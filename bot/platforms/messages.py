"""Every sentence the bot posts in chat outside an answer (Markdown; each adapter converts it
to its own format)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.markdown import literal, quoted
from bot.loop.gaps import Gap

SOURCES_HEADING = "Sources"

# The status line while an answer is worked out; Slack rotates the loading messages.
WORKING_STATUS = "is looking into it…"
LOADING_MESSAGES = (
    "Reading your question…",
    "Searching the policies…",
    "Checking the sources…",
    "Writing the answer…",
)
# Teams' first streaming update, before anything is known.
WORKING_INFORMATIVE = "Looking into it…"
FEEDBACK_GOOD_LABEL = "Helpful"
FEEDBACK_BAD_LABEL = "Not helpful"


BUTTON_ASK_HUMAN = "Ask a human"


def feedback_thanks(vote: int) -> str:
    if vote > 0:
        return "Thanks for the feedback! Glad it helped."
    return "Thanks for telling me. The team will use this to improve the answers."


def feedback_not_saved(reference: str) -> str:
    return (
        f"Sorry, I couldn't save your feedback just now. Please try again. (Reference: {reference})"
    )


CONTACT_CONSENT_PROMPT = (
    "An admin will look at this question. May they see who asked, to contact you about it?"
)


BUTTON_CONTACT_OK = "🙋 Yes, you may contact me"


def contact_allowed() -> str:
    return "Thanks: the admins can now see that you asked, and may contact you about it."


def contact_not_queued() -> str:
    return (
        "Only the person who asked can agree to this, while their question is waiting for an admin."
    )


def not_a_bot_answer() -> str:
    return "That message is not one of my answers, so there is nothing to improve."


BUTTON_ANSWER_GAP = "Answer"


BUTTON_IMPROVE = "Improve this answer"


BUTTON_SAVE_ANSWER = "Save and tell the askers"


FORM_ANSWER_GAP_TITLE = "Answer a question"


FORM_IMPROVE_TITLE = "Improve this answer"


FIELD_QUESTION = "Question (as it should appear in the knowledge base)"


FIELD_ANSWER = "Answer"


FIELD_ANSWER_HINT = "Write it as it should be given to everyone who asks this. Markdown is fine."


FIELD_SCOPES = "Who may see it"


FIELD_SCOPES_HINT = "Scopes separated by spaces, e.g. `public` or `hr`."


GAP_REASONS = {
    "declined": "I could not answer",
    "unsure": "I answered unsure of the sources",
    "downvoted": "answer got 👎",
    "improve": "answer improved by an admin",
}


def no_gaps() -> str:
    return "No open questions: everything asked recently was answered, and nobody voted 👎."


def gaps_heading(shown: int, total: int) -> str:
    more = f" (the {shown} most asked shown)" if total > shown else ""
    noun = "question is" if total == 1 else "questions are"
    return f"**{total} {noun} waiting for an answer**{more}:"


def gap_summary(gap: Gap) -> str:
    """One gap for admins: the question, when, how often, why and what was found. Who may be
    contacted is ``gap_contacts``, which adapters add in their own mention syntax."""
    times = "once" if gap.times_asked == 1 else f"{gap.times_asked} times"
    lines = [
        f"**#{gap.id}** · asked {times}, last {gap.last_asked_at:%d %b %Y %H:%M} UTC · "
        f"{GAP_REASONS[gap.reason]} · visible to {', '.join(gap.scopes)}",
        quoted(literal(gap.question)),  # the asker's words: never a link or a mention
    ]
    if gap.sources:
        found = "; ".join(
            f"{' › '.join(p for p in (s.title, s.section) if p)} ({s.similarity:.2f})"
            for s in gap.sources[:3]
        )
        lines.append(f"Closest sources: {found}")
    else:
        lines.append("Closest sources: none")
    return "\n".join(lines)


def gap_contacts(mentions: Sequence[str]) -> str:
    """The askers who agreed to be contacted (the others are never shown)."""
    return f"May be contacted: {', '.join(mentions)}"


def form_not_opened() -> str:
    return "Slack did not open the form in time. Please click again."


def answer_required() -> str:
    return "Please write the answer."


def teams_welcome(admin: bool) -> str:
    text = (
        "Hi! I answer questions about our policies and procedures, with links to the exact "
        "sources. Ask me here, or mention me in a channel. If the documents don't cover "
        "something, I'll say so rather than guess."
    )
    if admin:
        text += " As a knowledge-base admin you can also type `kb help`."
    return text


def teams_admin_in_personal_chat() -> str:
    return "Knowledge-base commands work in a personal chat with me, not in channels."


def teams_not_understood() -> str:
    return "Please type your question as text, for example: How many days of annual leave do I get?"


def unexpected_error(reference: str) -> str:
    return f"Sorry, something went wrong on my side. Please try again. (Reference: {reference})"


def upload_refused() -> str:
    return "Thanks! Only knowledge-base admins can add documents, so I haven't stored this file."


def upload_failed(name: str, reason: str) -> str:
    return f"I couldn't read {name}: {reason}"


def upload_too_large(max_bytes: int) -> str:
    """Why a file over the size cap is refused (after its name)."""
    return f"is over the {round(max_bytes / 1_048_576, 3):g} MB limit (SUPPORTBOT_MAX_DOCUMENT_MB)"


def upload_not_downloaded(name: str) -> str:
    return f"I couldn't download {name}. Please try sending it again; the server log says more."
