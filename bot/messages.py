"""Every sentence a person can see outside an LLM answer, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.gaps import Gap
from knowledge.ingest import IngestReport
from knowledge.types import ScoredChunk, StoredDocument

ERROR_PREFIX = "supportbot: error: "


def error(message: str) -> str:
    return f"{ERROR_PREFIX}{message}"


def migrated(before: str | None, after: str) -> str:
    if before == after:
        return f"Database schema is up to date (revision {after})."
    return f"Database schema upgraded from {before or 'empty'} to revision {after}."


def ingest_line(report: IngestReport) -> str:
    if report.skipped:
        return f"skipped    {report.error}"
    if report.result is None:
        return f"failed     {report.error}"
    result = report.result
    return (
        f"{result.status:<10} {result.title} ({result.section_count} sections, "
        f"{result.chunk_count} chunks, {result.embedded_count} embedded) ← {report.source}"
    )


def ingest_summary(reports: list[IngestReport], corpus_version: int | None) -> str:
    stored = [r.result for r in reports if r.result is not None]
    failed = [r for r in reports if r.result is None and not r.skipped]
    skipped = [r for r in reports if r.skipped]
    counts = {s: sum(1 for r in stored if r.status == s) for s in ("added", "updated", "unchanged")}
    detail = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    parts = [f"Ingested {len(stored)} document{'s' if len(stored) != 1 else ''}"
             + (f" ({detail})" if detail else "")]  # fmt: skip
    if failed:
        parts.append(f"{len(failed)} failed: " + ", ".join(r.source for r in failed))
    if skipped:
        parts.append(f"{len(skipped)} skipped (unsupported format)")
    if corpus_version is not None:
        parts.append(f"corpus version {corpus_version}")
    return "; ".join(parts) + "."


def removed(document: StoredDocument) -> str:
    return f"Removed {document.title!r} ({document.id}, {document.chunk_count} chunks)."


def no_documents() -> str:
    return "The knowledge base has no documents yet: add some with `supportbot ingest PATH|URL`."


def document_row(document: StoredDocument) -> str:
    scopes = ",".join(document.scopes)
    updated = document.updated_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{document.id}  {document.title}  [{scopes}]  {document.chunk_count} chunks  "
        f"v{document.version}  {updated}  {document.url}"
    )


def no_results() -> str:
    return "No section is close enough to that question."


def search_hit(rank: int, hit: ScoredChunk, *, snippet_chars: int = 240) -> str:
    snippet = " ".join(hit.text.split())
    if len(snippet) > snippet_chars:
        snippet = snippet[: snippet_chars - 1].rstrip() + "…"
    where = " › ".join([hit.title, *[h for h in hit.heading_path if h != hit.title]])
    return (
        f"{rank}. {where}  (score {hit.score:.4f}, similarity {hit.similarity:.2f})\n"
        f"   {hit.url}\n   {snippet}"
    )


def reindexed(count: int, model: str) -> str:
    return f"Re-embedded {count} distinct chunk texts with {model}."


def status_lines(facts: dict[str, str]) -> list[str]:
    width = max(len(k) for k in facts)
    return [f"{key:<{width}}  {value}" for key, value in facts.items()]


# Answers that are not written by a model.

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


def answer_block(text: str, citations: list[tuple[int, str, str]]) -> str:
    """An answer for the terminal: the text, then its numbered sources (n, where, url)."""
    lines = [text]
    if citations:
        lines += ["", "Sources:"]
        lines += [f"  [{n}] {where}  {url}" for n, where, url in citations]
    return "\n".join(lines)


CHAT_WELCOME = (
    "Ask a question about our policies. Follow-ups remember the conversation; "
    "/new starts a new one, /quit (or Ctrl-D) leaves."
)
CHAT_NEW_THREAD = "(new conversation)"


def demo_loaded(documents: int) -> str:
    return f"Loaded the sample handbook: {documents} documents."


def eval_written(results: Path, html: Path | None) -> str:
    report = f" and the report to {html}" if html else ""
    return f"Wrote each question's results to {results}{report}."


def usage_lines(days: int, totals: dict[str, float | int]) -> list[str]:
    facts = {
        "answers": f"{totals['answers']} in the last {days} days",
        "grounded": str(totals["grounded"]),
        "not covered": str(totals["not_covered"]),
        "unavailable": str(totals["unavailable"]),
        "from cache": str(totals["cached"]),
        "tokens": f"{totals['prompt_tokens']} prompt + {totals['completion_tokens']} completion",
        "estimated cost": f"${totals['cost_usd']:.4f}",
        "latency": f"p50 {totals['latency_p50_ms']:.0f} ms, p95 {totals['latency_p95_ms']:.0f} ms",
    }
    return status_lines(facts)


# Knowledge-base administration from chat (Markdown; adapters convert it).


def admin_help(prefix: str = "/kb") -> str:
    return "\n".join(
        [
            "**Knowledge base commands** (admins only):",
            f"- `{prefix} add <url> [scope ...]`: add or update the document at a URL; "
            "give scopes (e.g. `hr`) to limit who may see it, otherwise it is public",
            f"- `{prefix} remove <doc id, link or title>`: remove a document",
            f"- `{prefix} list`: list the documents",
            f"- `{prefix} gaps`: the questions I could not answer, or answered badly, "
            "most asked first, to answer once for everyone",
            "- Send me a file (Markdown, HTML, PDF, Word or text) in a direct message to add it.",
        ]
    )


def admin_refusal() -> str:
    return (
        "Sorry, only knowledge-base admins can change documents. "
        "If a document is missing or out of date, please tell its owner."
    )


def job_queued(source: str, job_id: int) -> str:
    return (
        f"Queued `add {source}` (job {job_id}). I'll tell you here when it starts "
        "and when the document is ready."
    )


def job_already_queued(source: str) -> str:
    return f"`add {source}` is already waiting in the queue; I'll report on that one."


def job_started(source: str, attempt: int) -> str:
    again = f" (attempt {attempt}: the previous one was interrupted)" if attempt > 1 else ""
    return f"Started adding {source}{again}…"


def job_failed(source: str, attempts: int) -> str:
    return (
        f"Could not add {source} after {attempts} attempts: the database or the embedding "
        "model kept failing. The server log has the details; try again later."
    )


def jobs_unavailable(reason: str) -> str:
    return f"I couldn't queue that: the job queue is unavailable ({reason}). Try again later."


def admin_usage_add() -> str:
    return "Please give a link: `add <url> [scope ...]`."


def admin_usage_remove() -> str:
    return "Please say which document: `remove <doc id, link or title>`."


def admin_bad_scope(scope: str) -> str:
    return f"`{scope}` is not a scope name: use lowercase letters, digits, `-` and `_`."


def admin_unknown_command(action: str) -> str:
    return f"I don't know the command `{action}`. Try `help`."


def admin_ingested(reports: Sequence[IngestReport]) -> str:
    lines = []
    for report in reports:
        if report.result is None:
            lines.append(f"Could not add {report.source}: {report.error}")
            continue
        result = report.result
        verb = {"added": "Added", "updated": "Updated", "unchanged": "Already up to date:"}
        lines.append(
            f"{verb.get(result.status, result.status)} **{result.title}** "
            f"({result.section_count} sections, {result.chunk_count} chunks). "
            + ("It is answerable now." if result.status != "unchanged" else "")
        )
    return "\n".join(line.strip() for line in lines) or "Nothing was ingested."


def admin_removed(document: StoredDocument) -> str:
    return f"Removed **{document.title}** ({document.id}). It is no longer used in answers."


def admin_not_found(reference: str) -> str:
    return f"No document matches `{reference}`. Use `list` to see the documents."


def admin_failed(reason: str) -> str:
    return f"That did not work: {reason}"


def admin_document_list(documents: Sequence[StoredDocument], limit: int = 50) -> str:
    if not documents:
        return "The knowledge base has no documents yet. Add one with `add <url>`."
    lines = [f"**{len(documents)} documents:**"]
    for document in documents[:limit]:
        scopes = ", ".join(document.scopes)
        lines.append(
            f"- [{document.title}]({document.url}) `{document.id}` ({scopes}; "
            f"{document.chunk_count} chunks; updated {document.updated_at:%Y-%m-%d})"
        )
    if len(documents) > limit:
        lines.append(f"…and {len(documents) - limit} more.")
    return "\n".join(lines)


# Chat replies around an answer.

SOURCES_HEADING = "Sources"
BUTTON_HELPFUL = "👍 Helpful"
BUTTON_NOT_HELPFUL = "👎 Not helpful"
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


# Gaps: questions waiting for an admin's answer (Markdown; adapters convert it).

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
        _quoted(gap.question),
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


def gap_not_found(gap_id: int) -> str:
    return f"There is no question #{gap_id} in the queue."


def gap_answered(gap_id: int, question: str, scopes: Sequence[str], *, told: int) -> str:
    people = (
        "nobody was waiting in a thread"
        if not told
        else (
            "told the asker in their thread"
            if told == 1
            else f"told {told} askers in their threads"
        )
    )
    return (
        f"Saved your answer to #{gap_id} (“{_inline(question)}”) as a document visible to "
        f"{', '.join(scopes)}; I'll answer from it from now on, and {people}."
    )


def gap_answered_notice(question: str, answer: str, *, improved: bool) -> str:
    """To the asker, in their question's thread, when an admin answers it."""
    what = "improved the answer to" if improved else "answered"
    return f"An admin has {what} your question “{_inline(question)}”:\n\n{answer}"


def answer_forgotten() -> str:
    return (
        "I no longer remember that question, so I can't attach an answer to it. "
        "Add the information with `kb add` instead."
    )


def gap_not_saved() -> str:
    return "the question could not be queued"


def form_not_opened() -> str:
    return "Slack did not open the form in time. Please click again."


def answer_required() -> str:
    return "Please write the answer."


def escalation_sent(channel_mention: str) -> str:
    return f"I've asked the experts in {channel_mention}. Someone will reply in your thread."


def escalation_unavailable(contact: str) -> str:
    return f"I can't reach the experts from here. Please ask {contact}."


def slack_escalation_post(
    *, asker: str, where: str, question: str, answer: str, permalink: str, experts: str
) -> str:
    quoted_question, quoted_answer = _quoted(question), _quoted(answer)
    return (
        f"{experts + ' ' if experts else ''}{asker} asked for a human in {where}:\n"
        f"{quoted_question}\n*The bot answered:*\n{quoted_answer}\n<{permalink}|Open the thread>"
    )


def teams_escalation_post(*, asker: str, where: str, question: str, answer: str, link: str) -> str:
    quoted_question, quoted_answer = _quoted(question), _quoted(answer)
    open_link = f"\n\n[Open the conversation]({link})" if link else ""
    return (
        f"**{asker}** asked for a human in {where}:\n\n{quoted_question}\n\n"
        f"**The bot answered:**\n\n{quoted_answer}{open_link}"
    )


def teams_escalation_sent() -> str:
    return "I've asked the experts. Someone will get back to you."


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


def _inline(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut at ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _quoted(text: str) -> str:
    """``text`` as a Markdown block quote, line by line."""
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def upload_refused() -> str:
    return "Thanks! Only knowledge-base admins can add documents, so I haven't stored this file."


def upload_failed(name: str, reason: str) -> str:
    return f"I couldn't read {name}: {reason}"


def serving(host: str, port: int, *, slack: bool, socket_mode: bool, teams_auth: bool) -> str:
    base = f"http://{host}:{port}"
    if not slack:
        slack_line = "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)"
    elif socket_mode:
        slack_line = "Slack: over Socket Mode"
    else:
        slack_line = f"Slack: events at {base}/slack/events"
    teams_line = f"Teams: activities at {base}/api/messages"
    if teams_auth:
        teams_line += " (Bot Framework tokens required)"
    else:
        teams_line += (
            " from loopback only: MICROSOFT_APP_ID is not set, so requests are not "
            "authenticated (local development with the Bot Framework Emulator)"
        )
    return "\n".join(
        [f"supportbot is serving on {base} (health at /healthz).", slack_line, teams_line]
    )


# Tuning: export, fine-tuning jobs, model comparison


def too_few_examples(have: int, need: int, approved: int | None = None) -> str:
    left_out = (
        f" ({approved - have} near-duplicates left out of {approved})"
        if approved is not None and approved > have
        else ""
    )
    distinct = "distinct " if approved is not None else ""
    return (
        f"only {have} {distinct}approved answers to train on{left_out}; at least {need} are "
        f"needed ({need - 2} to train on and 2 to hold out). Get more with 👍 on good answers "
        "in Slack or Teams, and by answering the open gaps; nothing was written"
    )


def exported(
    *,
    training: Path,
    training_count: int,
    validation: Path,
    validation_count: int,
    approved: int,
    duplicates: int,
    scrubbed: int,
) -> str:
    return "\n".join(
        [
            f"Wrote {_counted(training_count, 'training example')} to {training}",
            f"  and {_counted(validation_count, 'held-out example')} to {validation}",
            f"  from {_counted(approved, 'approved answer')} "
            f"({_counted(duplicates, 'near-duplicate')} left out).",
            f"Personal details were replaced in {_counted(scrubbed, 'question')} ([email], "
            "[phone], [name]); read the files before uploading them.",
            "Next: supportbot tune start",
        ]
    )


def tune_needs_api() -> str:
    return (
        "fine-tuning and comparing models need an OpenAI-compatible API: set OPENAI_API_KEY "
        "(and OPENAI_BASE_URL for an endpoint other than OpenAI's)"
    )


def api_failed(what: str, reason: str, code: str | None = None, said: str | None = None) -> str:
    detail = f"{reason} ({code})" if code else reason
    said = " ".join(said.split()) if said else ""
    return f"{what} failed: {detail}" + (f": {said}" if said else "")


def tune_state_unreadable(path: Path, reason: str) -> str:
    return f"{path}: unreadable ({reason}); delete it and export again"


def no_export_yet() -> str:
    return "nothing to upload yet: run `supportbot tune export OUT.jsonl` first, or give --file"


def training_file_missing(path: Path) -> str:
    return f"{path}: no such file (run `supportbot tune export OUT.jsonl` again, or give --file)"


def tune_started(*, job_id: str, base_model: str, uploaded: Sequence[tuple[Path, str]]) -> str:
    lines = [f"Uploaded {path} as {file_id}." for path, file_id in uploaded]
    lines += [
        f"Started fine-tuning job {job_id} on {base_model}.",
        "Run `supportbot tune status` to follow it.",
    ]
    return "\n".join(lines)


def no_job_yet() -> str:
    return "no fine-tuning job started yet: run `supportbot tune start`, or give a JOB_ID"


def tune_status(
    *,
    job_id: str,
    status: str,
    base_model: str,
    trained_tokens: int | None,
    events: Sequence[tuple[str, str, str]],
    fine_tuned_model: str | None,
    error: str | None,
) -> str:
    facts = {"job": job_id, "status": status, "base model": base_model}
    if trained_tokens:
        facts["trained tokens"] = f"{trained_tokens:,}"
    lines = status_lines(facts)
    if events:
        lines += ["", "Recent events:"]
        lines += [f"  {when}  {level:<5}  {text}" for when, level, text in events]
    if status == "succeeded" and fine_tuned_model:
        lines += [
            "",
            f"The tuned model is {fine_tuned_model}. Compare it with the base model:",
            f"  supportbot eval --compare {base_model} {fine_tuned_model}",
            "then, to answer with it, set:",
            f"  SUPPORTBOT_CHAT_MODEL={fine_tuned_model}",
        ]
    elif status == "failed":
        lines += ["", f"The job failed: {error or 'the API gave no reason'}"]
    elif status == "cancelled":
        lines += ["", "The job was cancelled: start another with `supportbot tune start`."]
    else:
        lines += ["", "Still working: run `supportbot tune status` again later."]
    return "\n".join(lines)


def no_held_out() -> str:
    return "no held-out examples yet: run `supportbot tune export OUT.jsonl`, or give --held-out"


def held_out_unreadable(path: Path, reason: str) -> str:
    return f"{path}: {reason}"


def held_out_empty(path: Path) -> str:
    return f"{path}: no examples in it"


def held_out_bad_line(where: str, reason: str) -> str:
    return f"{where}: not a chat fine-tuning example ({reason})"


def judge_failed(reason: str) -> str:
    return f"the judge failed: {reason}"


def bad_export_options() -> str:
    return "--validation-share must be between 0 and 1, and --min-examples at least 2"


def eval_needs_dataset() -> str:
    return "give a DATASET (a JSON Lines file, a public set's folder, or 'sample'), or --compare"


def eval_dataset_or_compare() -> str:
    return "give either DATASET or --compare MODEL_A MODEL_B, not both"


def eval_compare_alone(options: Sequence[str]) -> str:
    return f"--compare takes no {', '.join(options)}: they are for a DATASET run"


def held_out_needs_compare() -> str:
    return "--held-out goes with --compare MODEL_A MODEL_B"


COMPARE_ANSWERED = "answered"
COMPARE_VALID_CITATIONS = "valid citations"
COMPARE_CORRECT = "correct"
COMPARE_TONE_OK = "house tone ok (of answered)"
COMPARE_COMMON_PROBLEM = "most common tone problem"
COMPARE_LATENCY = "mean latency"
COMPARE_TOKENS = "total tokens"
COMPARE_ERRORS = "errors"
COMPARE_NONE = "-"


def comparison_heading(examples: int, source: Path, judge: str) -> str:
    return f"{_counted(examples, 'held-out example')} from {source}; correctness judged by {judge}"


def compare_share(count: int, total: int) -> str:
    if total == 0:
        return COMPARE_NONE
    return f"{count}/{total} ({count / total:.0%})"


def compare_error(model: str, example: int, reason: str) -> str:
    return f"{model}, example {example}: {reason}"


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
