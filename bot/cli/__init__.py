"""The ``supportbot`` command line. Each command is a small async function over the wiring."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.cli import messages
from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnswerService
from bot.core.cache import NoAnswerCache, redis_client
from bot.core.prompts import Prompts
from bot.core.types import Answer, Question, Turn
from bot.core.writers import OFFLINE_MODEL
from bot.evaluation.corpus import EvalError, open_eval_corpus
from bot.evaluation.dataset import DatasetError, read_dataset
from bot.evaluation.html_report import html_report
from bot.evaluation.report import summary_table
from bot.evaluation.runner import EvalOptions, Evaluation, run_evaluation
from bot.loop.examples import PgExampleStore
from bot.loop.tuning import messages as tuning_messages
from bot.loop.tuning.api import open_client, require_api
from bot.loop.tuning.compare import compare_models, read_held_out
from bot.loop.tuning.errors import TuningError
from bot.loop.tuning.export import (
    DEFAULT_MIN_EXAMPLES,
    DEFAULT_VALIDATION_SHARE,
    ExportOptions,
    export_examples,
    validation_path,
)
from bot.loop.tuning.finetune import FINISHED_BADLY, FineTuningJobs
from bot.loop.tuning.report import comparison_table
from bot.loop.tuning.state import TuneState, load_state, save_state
from bot.loop.tuning.vocabulary import knowledge_words
from bot.platforms.slack.app import SlackTokenError
from bot.service.embedded import EmbeddedServiceError
from bot.service.server import DEFAULT_PORT, serve
from bot.service.settings import Settings, SettingsError
from bot.service.wiring import (
    build_answer_service,
    build_chat_model,
    build_embedder,
    build_judge,
    open_core,
    open_engine,
    open_knowledge_base,
    redis_url,
)
from knowledge.database import current_revision, describe, head_revision, migrate
from knowledge.errors import KnowledgeError
from knowledge.ingest import IngestReport, ingest
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from knowledge.types import PUBLIC_SCOPE, Query, ScoredChunk

EXIT_OK, EXIT_FAILED = 0, 1


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``supportbot`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(messages.error(str(e)), file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = asyncio.run(args.handler(settings, args))
    except (
        KnowledgeError,
        SettingsError,
        EmbeddedServiceError,
        SlackTokenError,
        DatasetError,
        EvalError,
        TuningError,
    ) as e:
        print(messages.error(str(e)), file=sys.stderr)
        code = EXIT_FAILED
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportbot", description="An employee support bot over your policies and SOPs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate_cmd = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate_cmd.set_defaults(handler=_migrate)

    ingest_cmd = commands.add_parser("ingest", help="add or update documents")
    ingest_cmd.add_argument("targets", nargs="*", metavar="PATH|URL", help="files, folders, URLs")
    ingest_cmd.add_argument("--sample", action="store_true", help="the bundled sample handbook")
    ingest_cmd.add_argument("--scope", action="append", help="who may see them (repeatable)")
    ingest_cmd.add_argument("--owner", help="the team or person who owns them")
    ingest_cmd.add_argument("--base-url", help="link files as BASE_URL/<path in the folder>")
    ingest_cmd.set_defaults(handler=_ingest)

    docs_cmd = commands.add_parser("docs", help="list the documents")
    docs_cmd.add_argument("--json", action="store_true", help="print JSON")
    docs_cmd.set_defaults(handler=_docs)

    remove_cmd = commands.add_parser("remove", help="remove a document")
    remove_cmd.add_argument("document", metavar="DOC", help="document id, link or title")
    remove_cmd.set_defaults(handler=_remove)

    search_cmd = commands.add_parser("search", help="find the best sections for a question")
    search_cmd.add_argument("query", nargs="?", help="the question")
    search_cmd.add_argument("--k", type=int, help="how many results (default SUPPORTBOT_TOP_K)")
    search_cmd.add_argument("--scope", action="append", help="scopes the asker may see")
    search_cmd.add_argument("--json", action="store_true", help="print JSON")
    search_cmd.add_argument("--batch", type=Path, help="a file with one query per line")
    search_cmd.set_defaults(handler=_search)

    reindex_cmd = commands.add_parser("reindex", help="re-embed everything with the set model")
    reindex_cmd.set_defaults(handler=_reindex)

    status_cmd = commands.add_parser("status", help="check the database, Redis and the corpus")
    status_cmd.set_defaults(handler=_status)

    ask_cmd = commands.add_parser("ask", help="answer a question from the documents")
    ask_cmd.add_argument("question", nargs="?", help="the question")
    ask_cmd.add_argument("--scope", action="append", help="scopes the asker may see")
    ask_cmd.add_argument("--json", action="store_true", help="print JSON")
    ask_cmd.add_argument("--batch", type=Path, help="a file with one question per line")
    ask_cmd.set_defaults(handler=_ask)

    chat_cmd = commands.add_parser("chat", help="a terminal chat with the bot")
    chat_cmd.add_argument("--scope", action="append", help="scopes the asker may see")
    chat_cmd.set_defaults(handler=_chat)

    demo_cmd = commands.add_parser(
        "demo", help="set up on embedded defaults with the sample handbook, then chat"
    )
    demo_cmd.add_argument("question", nargs="?", help="answer one question and exit")
    demo_cmd.set_defaults(handler=_demo)

    usage_cmd = commands.add_parser("usage", help="answers, tokens and estimated cost")
    usage_cmd.add_argument("--days", type=int, default=30, help="how far back (default 30)")
    usage_cmd.set_defaults(handler=_usage)

    eval_cmd = commands.add_parser(
        "eval", help="measure retrieval and answers on questions with known answers"
    )
    eval_cmd.add_argument(
        "dataset",
        metavar="DATASET",
        nargs="?",
        help="a JSON Lines file, a public set's folder, or 'sample' (not with --compare)",
    )
    eval_cmd.add_argument(
        "--compare",
        nargs=2,
        metavar=("MODEL_A", "MODEL_B"),
        help="instead of DATASET: two models side by side on the held-out examples of an export",
    )
    eval_cmd.add_argument(
        "--held-out",
        type=Path,
        metavar="FILE",
        help="with --compare: a validation file (default: the last export's)",
    )
    eval_cmd.add_argument("--corpus", type=Path, help="the documents (default: the set's docs/)")
    eval_cmd.add_argument("--k", type=int, default=5, help="retrieval cut-off (default 5)")
    eval_cmd.add_argument("--json", action="store_true", help="print the summary as JSON")
    eval_cmd.add_argument("--html", type=Path, metavar="PATH", help="write a report page")
    eval_cmd.add_argument(
        "--without-context", action="store_true", help="ask without the asker's situation"
    )
    eval_cmd.add_argument("--limit", type=int, help="only the first N questions")
    eval_cmd.add_argument(
        "--parallel", type=int, default=1, help="questions in flight at once (default 1)"
    )
    eval_cmd.add_argument("--results", type=Path, help="per-question results file (JSON Lines)")
    eval_cmd.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its results"
    )
    eval_cmd.add_argument("--judge-model", help="the LLM that grades answers (default: chat model)")
    eval_cmd.set_defaults(handler=_eval)

    tune_cmd = commands.add_parser(
        "tune", help="fine-tune a model on approved answers (export, start, status)"
    )
    tune_steps = tune_cmd.add_subparsers(dest="step", required=True, metavar="STEP")
    export_cmd = tune_steps.add_parser(
        "export", help="write approved answers as training and held-out JSON Lines files"
    )
    export_cmd.add_argument("out", type=Path, metavar="OUT.jsonl", help="the training file")
    export_cmd.add_argument(
        "--validation-share",
        type=float,
        default=DEFAULT_VALIDATION_SHARE,
        help=f"share held out for validation (default {DEFAULT_VALIDATION_SHARE})",
    )
    export_cmd.add_argument(
        "--min-examples",
        type=int,
        default=DEFAULT_MIN_EXAMPLES,
        help=f"refuse with fewer distinct examples (default {DEFAULT_MIN_EXAMPLES})",
    )
    export_cmd.set_defaults(handler=_tune_export)
    start_cmd = tune_steps.add_parser("start", help="upload the export and start a job")
    start_cmd.add_argument(
        "--base-model", help="the model to tune (default SUPPORTBOT_TUNE_BASE_MODEL)"
    )
    start_cmd.add_argument(
        "--file", type=Path, metavar="OUT.jsonl", help="the training file (default: last export)"
    )
    start_cmd.set_defaults(handler=_tune_start)
    job_cmd = tune_steps.add_parser("status", help="how a fine-tuning job is doing")
    job_cmd.add_argument("job_id", nargs="?", metavar="JOB_ID", help="default: the last started")
    job_cmd.set_defaults(handler=_tune_status)

    serve_cmd = commands.add_parser("serve", help="run the chat server (Slack)")
    serve_cmd.add_argument("--host", default="0.0.0.0", help="interface (default all: 0.0.0.0)")
    serve_cmd.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve_cmd.set_defaults(handler=_serve)
    return parser


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    dimension = build_embedder(settings).dimension
    async with open_engine(settings) as engine:
        before, after = await migrate(engine, embedding_dimension=dimension)
    print(messages.migrated(before, after))
    return EXIT_OK


async def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    targets = list(args.targets)
    base_url = args.base_url
    if args.sample:
        targets.append(str(SAMPLE_DOCS))
        base_url = base_url or SAMPLE_BASE_URL
    if not targets:
        print(messages.error("give files, folders or URLs to ingest, or --sample"), file=sys.stderr)
        return EXIT_FAILED
    reports: list[IngestReport] = []
    async with open_knowledge_base(settings) as kb:
        options = dataclasses.replace(
            kb.load_options,
            base_url=base_url,
            scopes=_scopes(args.scope) if args.scope else None,
            owner=args.owner,
        )
        with tqdm(desc="Ingesting", unit=" doc", file=sys.stderr, disable=None) as bar:
            async for report in ingest(
                targets, kb.store, load_options=options, chunking=kb.chunking
            ):
                reports.append(report)
                bar.update()
                stream = sys.stdout if report.result is not None else sys.stderr
                bar.write(messages.ingest_line(report), file=stream)
        version = await kb.store.corpus_version()
    print(messages.ingest_summary(reports, version))
    failed = any(r.result is None and not r.skipped for r in reports)
    return EXIT_FAILED if failed else EXIT_OK


async def _docs(settings: Settings, args: argparse.Namespace) -> int:
    async with open_knowledge_base(settings, check_model=False) as kb:
        documents = await kb.store.list_documents()
    if args.json:
        print(json.dumps([_jsonable(dataclasses.asdict(d)) for d in documents], indent=2))
    elif not documents:
        print(messages.no_documents())
    else:
        for document in documents:
            print(messages.document_row(document))
    return EXIT_OK


async def _remove(settings: Settings, args: argparse.Namespace) -> int:
    async with open_knowledge_base(settings, check_model=False) as kb:
        document = await kb.store.remove(args.document)
    print(messages.removed(document))
    return EXIT_OK


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    texts = _texts(args.query, args.batch, "a query")
    if texts is None:
        return EXIT_FAILED
    k = args.k or settings.top_k
    scopes = _scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    async with open_knowledge_base(settings) as kb:
        for start in range(0, len(texts), 64):
            queries = [Query(t, k=k, scopes=scopes) for t in texts[start : start + 64]]
            for hits in await kb.retriever.search_many(queries):
                _print_hits(hits, as_json=args.json, batch=args.batch is not None)
    return EXIT_OK


def _print_hits(hits: list[ScoredChunk], *, as_json: bool, batch: bool) -> None:
    if as_json:
        rows = [
            {
                "doc_id": h.document_id,
                "chunk_id": h.chunk_id,
                "title": h.title,
                "section": h.section,
                "heading_path": list(h.heading_path),
                "url": h.url,
                "text": h.text,
                "score": round(h.score, 6),
                "similarity": round(h.similarity, 6),
            }
            for h in hits
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=None if batch else 2))
        return
    if not hits:
        print(messages.no_results())
    for rank, hit in enumerate(hits, 1):
        print(messages.search_hit(rank, hit))
    if batch:
        print()


async def _reindex(settings: Settings, _args: argparse.Namespace) -> int:
    async with open_knowledge_base(settings, check_model=False) as kb:
        with tqdm(desc="Embedding", unit=" chunk", file=sys.stderr, disable=None) as bar:

            def advance(count: int) -> None:
                bar.update(count)

            count = await kb.store.reindex(progress=advance)
    print(messages.reindexed(count, kb.embedder.model))
    return EXIT_OK


async def _status(settings: Settings, _args: argparse.Namespace) -> int:
    facts: dict[str, str] = {}
    async with open_engine(settings) as engine:
        facts["database"] = describe(engine)
        revision = await current_revision(engine)
        facts["schema"] = f"{revision or 'none'} (this version needs {head_revision()})"
    if revision == head_revision():
        async with open_knowledge_base(settings, check_model=False) as kb:
            documents = await kb.store.list_documents()
            facts["documents"] = str(len(documents))
            facts["chunks"] = str(sum(d.chunk_count for d in documents))
            facts["corpus version"] = str(await kb.store.corpus_version())
            facts["embedding model"] = f"{kb.embedder.model} ({kb.embedder.dimension} dimensions)"
    url, embedded = await redis_url(settings)
    facts["redis"] = await _redis_status(url)
    if embedded is not None:
        embedded.stop()
    for line in messages.status_lines(facts):
        print(line)
    return EXIT_OK


async def _redis_status(url: str) -> str:
    import redis

    client = redis_client(url)
    try:
        await client.ping()
        return f"ok ({_redact(url)})"
    except (redis.RedisError, OSError) as e:
        return f"unreachable ({_redact(url)}): {e}"
    finally:
        await client.aclose()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    if url.startswith("unix://"):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(redis url)"


async def _ask(settings: Settings, args: argparse.Namespace) -> int:
    texts = _texts(args.question, args.batch, "a question")
    if texts is None:
        return EXIT_FAILED
    scopes = _scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    async with open_core(settings) as core:
        for text in texts:
            answer = await core.answers.answer(Question(text, scopes=scopes))
            _print_answer(answer, as_json=args.json)
    return EXIT_OK


def _print_answer(answer: Answer, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_jsonable(dataclasses.asdict(answer)), ensure_ascii=False))
        return
    sources = [
        (c.n, f"{c.title} › {c.section}" if c.section else c.title, c.url) for c in answer.citations
    ]
    print(messages.answer_block(answer.text, sources))


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    scopes = _scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    async with open_core(settings) as core:
        await _chat_loop(core.answers, scopes)
    return EXIT_OK


async def _chat_loop(service: AnswerService, scopes: tuple[str, ...]) -> None:
    print(messages.CHAT_WELCOME)
    history: list[Turn] = []
    while True:
        try:
            line = (await asyncio.to_thread(input, "\nyou> ")).strip()
        except EOFError:
            print()
            return
        if line in {"/quit", "/exit"}:
            return
        if line == "/new":
            history = []
            print(messages.CHAT_NEW_THREAD)
            continue
        if not line:
            continue
        answer = await service.answer(Question(line, scopes=scopes, history=tuple(history)))
        print()
        _print_answer(answer, as_json=False)
        history += [Turn("user", line), Turn("assistant", answer.text)]


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    async with open_engine(settings) as engine:
        await migrate(engine, embedding_dimension=build_embedder(settings).dimension)
    async with open_core(settings) as core:
        service, kb = core.answers, core.kb
        if not await kb.store.list_documents():
            options = dataclasses.replace(kb.load_options, base_url=SAMPLE_BASE_URL)
            loaded = 0
            async for report in ingest(
                [str(SAMPLE_DOCS)], kb.store, load_options=options, chunking=kb.chunking
            ):
                loaded += report.result is not None
            print(messages.demo_loaded(loaded))
        if args.question:
            _print_answer(await service.answer(Question(args.question)), as_json=False)
        else:
            await _chat_loop(service, (PUBLIC_SCOPE,))
    return EXIT_OK


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if settings.database_url is None:
        # The embedded database is ours to keep current; a real one is migrated by its owner.
        async with open_engine(settings) as engine:
            await migrate(engine, embedding_dimension=build_embedder(settings).dimension)
    await serve(settings, host=args.host, port=args.port)
    return EXIT_OK


async def _eval(settings: Settings, args: argparse.Namespace) -> int:
    if args.compare:
        return await _compare(settings, args)
    if args.dataset is None:
        print(messages.error(messages.eval_needs_dataset()), file=sys.stderr)
        return EXIT_FAILED
    if args.held_out is not None:
        print(messages.error(messages.held_out_needs_compare()), file=sys.stderr)
        return EXIT_FAILED
    eval_set = read_dataset(args.dataset, args.corpus)
    if args.k < 1 or args.parallel < 1 or (args.limit is not None and args.limit < 1):
        print(messages.error("--k, --parallel and --limit must be at least 1"), file=sys.stderr)
        return EXIT_FAILED
    suffix = "-question-only" if args.without_context else ""
    options = EvalOptions(
        results_path=args.results or settings.home / "eval" / f"{eval_set.name}{suffix}.jsonl",
        k=args.k,
        with_context=not args.without_context,
        parallel=args.parallel,
        limit=args.limit,
        resume=args.resume,
    )
    prompts = Prompts.load(settings.style_file)
    loading = tqdm(desc="Loading corpus", unit=" doc", file=sys.stderr, disable=None)
    async with open_eval_corpus(settings, eval_set, lambda _report: loading.update()) as corpus:
        loading.close()
        evaluation = Evaluation(
            corpus=corpus,
            answers=build_answer_service(corpus.settings, corpus.kb, prompts, NoAnswerCache()),
            judge=build_judge(settings, prompts, args.judge_model),
            prices=Prices(settings.prompt_price_per_1k, settings.completion_price_per_1k),
            answer_model=settings.chat_model or OFFLINE_MODEL,
            top_k=settings.top_k,
        )
        total = min(len(eval_set.cases), args.limit or len(eval_set.cases))
        with tqdm(total=total, desc="Evaluating", unit=" q", file=sys.stderr, disable=None) as bar:
            summary, results = await run_evaluation(evaluation, eval_set, options, bar.update)
    if args.html:
        args.html.write_text(html_report(summary, results), encoding="utf-8")
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(summary_table(summary))
    print(messages.eval_written(options.results_path, args.html), file=sys.stderr)
    return EXIT_OK


# What --compare cannot take: the options of a DATASET run, and their defaults.
_DATASET_ONLY = {
    "corpus": ("--corpus", None),
    "k": ("--k", 5),
    "html": ("--html", None),
    "without_context": ("--without-context", False),
    "limit": ("--limit", None),
    "parallel": ("--parallel", 1),
    "results": ("--results", None),
    "resume": ("--resume", False),
    "json": ("--json", False),
}


async def _compare(settings: Settings, args: argparse.Namespace) -> int:
    if args.dataset is not None:
        print(messages.error(messages.eval_dataset_or_compare()), file=sys.stderr)
        return EXIT_FAILED
    given = [
        name for key, (name, default) in _DATASET_ONLY.items() if getattr(args, key) != default
    ]
    if given:
        print(messages.error(messages.eval_compare_alone(given)), file=sys.stderr)
        return EXIT_FAILED
    require_api(settings)
    held_out = args.held_out or load_state(settings.home).validation_file
    if held_out is None:
        print(messages.error(tuning_messages.no_held_out()), file=sys.stderr)
        return EXIT_FAILED
    examples = read_held_out(held_out)
    prompts = Prompts.load(settings.style_file)
    judge = build_judge(settings, prompts, args.judge_model)
    models = [build_chat_model(settings, name) for name in args.compare]
    with tqdm(
        total=len(examples), desc="Comparing", unit=" ex", file=sys.stderr, disable=None
    ) as bar:
        figures = await compare_models(examples, models, judge, bar.update)
    print(comparison_table(figures, source=held_out, judge=judge.name))
    for result in figures:
        for example, reason in result.errors:
            print(tuning_messages.compare_error(result.model, example, reason), file=sys.stderr)
    return EXIT_OK


async def _tune_export(settings: Settings, args: argparse.Namespace) -> int:
    if not 0 < args.validation_share < 1 or args.min_examples < 2:
        print(messages.error(tuning_messages.bad_export_options()), file=sys.stderr)
        return EXIT_FAILED
    options = ExportOptions(
        out=args.out.resolve(),
        prompts=Prompts.load(settings.style_file),
        company=settings.company_name,
        validation_share=args.validation_share,
        min_examples=args.min_examples,
    )
    async with open_knowledge_base(settings, check_model=False) as kb:
        approved = await PgExampleStore(kb.engine).approved()
        words = await knowledge_words(kb.engine)
        try:
            result = await export_examples(
                approved, options, known_words=words, embedder=kb.embedder
            )
        except OSError as e:
            where = e.filename or options.out
            print(messages.error(f"{where}: {e.strerror or e}"), file=sys.stderr)
            return EXIT_FAILED
    state = load_state(settings.home)
    save_state(settings.home, TuneState(result.training, result.validation, state.job_id))
    print(tuning_messages.exported(**dataclasses.asdict(result)))
    return EXIT_OK


async def _tune_start(settings: Settings, args: argparse.Namespace) -> int:
    state = load_state(settings.home)
    training = args.file.resolve() if args.file else state.training_file
    if training is None:
        print(messages.error(tuning_messages.no_export_yet()), file=sys.stderr)
        return EXIT_FAILED
    if not training.is_file():
        print(messages.error(tuning_messages.training_file_missing(training)), file=sys.stderr)
        return EXIT_FAILED
    validation = (
        state.validation_file if training == state.training_file else validation_path(training)
    )
    if validation is not None and not validation.is_file():
        validation = None
    base_model = args.base_model or settings.tune_base_model
    async with open_client(settings) as client:
        job = await FineTuningJobs(client).start(training, validation, base_model)
    save_state(settings.home, TuneState(state.training_file, state.validation_file, job.job_id))
    uploaded = [(training, job.training_file_id)]
    if validation is not None and job.validation_file_id is not None:
        uploaded.append((validation, job.validation_file_id))
    print(
        tuning_messages.tune_started(
            job_id=job.job_id, base_model=job.base_model, uploaded=uploaded
        )
    )
    return EXIT_OK


async def _tune_status(settings: Settings, args: argparse.Namespace) -> int:
    job_id = args.job_id or load_state(settings.home).job_id
    if job_id is None:
        print(messages.error(tuning_messages.no_job_yet()), file=sys.stderr)
        return EXIT_FAILED
    async with open_client(settings) as client:
        report = await FineTuningJobs(client).report(job_id)
    print(
        messages.tune_status(
            job_id=report.job_id,
            status=report.status,
            base_model=report.base_model,
            trained_tokens=report.trained_tokens,
            events=[
                (f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.level, e.message) for e in report.events
            ],
            fine_tuned_model=report.fine_tuned_model,
            error=report.error,
        )
    )
    return EXIT_FAILED if report.status in FINISHED_BADLY else EXIT_OK


async def _usage(settings: Settings, args: argparse.Namespace) -> int:
    async with open_knowledge_base(settings, check_model=False) as kb:
        since = datetime.now(UTC) - timedelta(days=args.days)
        totals = await PgAnswerLog(kb.engine, Prices()).totals(since)
    for line in messages.usage_lines(args.days, dataclasses.asdict(totals)):
        print(line)
    return EXIT_OK


def _texts(single: str | None, batch: Path | None, what: str) -> list[str] | None:
    """The one text given, or the non-empty lines of the batch file; None after an error."""
    if (single is None) == (batch is None):
        print(messages.error(f"give either {what} or --batch FILE"), file=sys.stderr)
        return None
    if batch is None:
        return [single] if single is not None else None
    try:
        return [line.strip() for line in batch.read_text().splitlines() if line.strip()]
    except OSError as e:
        print(messages.error(f"{batch}: {e.strerror}"), file=sys.stderr)
        return None


def _scopes(values: list[str]) -> tuple[str, ...]:
    scopes = {s.strip().lower() for value in values for s in value.split(",") if s.strip()}
    return tuple(sorted(scopes))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
