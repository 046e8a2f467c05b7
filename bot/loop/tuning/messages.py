"""What the tuning commands print: export, fine-tuning jobs, model comparison."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def too_few_examples(
    have: int, need: int, approved: int | None = None, *, restricted: int = 0
) -> str:
    left_out = (
        f" ({approved - have} near-duplicates left out of {approved})"
        if approved is not None and approved > have
        else ""
    )
    if restricted:
        left_out += f" ({restricted} more outside the scopes asked for)"
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
    scrubbed_answers: int = 0,
    restricted: int = 0,
) -> str:
    outside = f"; {restricted} more left out as restricted to other scopes" if restricted else ""
    answers = f" and {_counted(scrubbed_answers, 'answer')}" if scrubbed_answers else ""
    return "\n".join(
        [
            f"Wrote {_counted(training_count, 'training example')} to {training}",
            f"  and {_counted(validation_count, 'held-out example')} to {validation}",
            f"  from {_counted(approved, 'approved answer')} "
            f"({_counted(duplicates, 'near-duplicate')} left out{outside}).",
            f"Personal details were replaced in {_counted(scrubbed, 'question')}{answers} "
            "([email], [phone], [name]); read the files before uploading them.",
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
