"""``autoops suggest`` and ``autoops eval-rag`` (registered in :mod:`autoops.cli`).

Bad input (missing file, unreadable or empty input, a bad JSONL line) prints one clear message
and exits with status 2, never a traceback. Input logs are redacted before anything is printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from autoops.cli_support import console, fail
from autoops.responder.evaluation import (
    evaluate_answers,
    METRICS,
    CasesError,
    evaluate_generation,
    evaluate_retrieval,
    read_cases,
)
from autoops.responder.generators import GENERATORS
from autoops.responder.llm import OpenAIChatLM
from autoops.responder.kb import KnowledgeBaseError
from autoops.responder.responder import ConfigError, Responder

MAX_INPUT_BYTES = 50 * 1024 * 1024


def _read_input(file: Path | None) -> str:
    if file is None or str(file) == "-":
        if sys.stdin is None or sys.stdin.isatty():
            fail("no input: give a log FILE, or pipe a log on stdin (`... | autoops suggest`)")
        text = sys.stdin.read()
        source = "stdin"
    else:
        if not file.exists():
            fail(f"{file}: no such file")
        if not file.is_file():
            fail(f"{file}: not a file")
        if file.stat().st_size > MAX_INPUT_BYTES:
            fail(f"{file}: larger than {MAX_INPUT_BYTES // 2**20} MB; pass the failing part of the log")
        try:
            text = file.read_bytes().decode("utf-8", errors="replace")
        except OSError as err:
            fail(f"{file}: cannot read: {err.strerror or err}")
        source = str(file)
    if not text.strip():
        fail(f"{source}: the input is empty")
    return text


def _responder(config: Path | None) -> Responder:
    try:
        return Responder.from_config(config)
    except (KnowledgeBaseError, ConfigError) as err:
        fail(str(err))
    except RuntimeError as err:  # the embedding model cannot be loaded
        fail(str(err))


ConfigOption = typer.Option(None, "--config", help="Responder config (default: responder.yaml of $AUTOOPS_CONFIG_DIR, "
                            "else the shipped one).")


def suggest_cmd(
    file: Path = typer.Argument(None, help="Log file to diagnose; omit (or -) to read stdin.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print the suggestion as JSON."),
    k: int = typer.Option(None, "--k", min=1, max=50, help="Incidents to retrieve (default from the config)."),
    generator: str = typer.Option(None, "--generator", "-g",
                                  help="extractive (instant, quotes the incident), smollm2 (local LLM), hf or openai; default from the config."),
    config: Path = ConfigOption,
) -> None:
    """Diagnose a CI/ops failure log: the matching incident, its root cause and the fix steps.

    Answers "I don't know" when no incident of the knowledge base matches well enough. When the
    LLM fails or writes something the incidents do not support, the answer falls back to the
    extractive one and says why."""
    if generator is not None and generator not in GENERATORS:
        fail(f"unknown generator {generator!r}; available: {', '.join(GENERATORS)}")
    text = _read_input(file)
    responder = _responder(config)
    suggestion = responder.suggest(text, k=k, generator=generator)
    if as_json:
        print(json.dumps(suggestion.as_dict(), indent=1))
        return
    if suggestion.declined:
        console.print(f"[yellow]No suggestion[/yellow] (confidence {suggestion.confidence:.2f})")
        console.print(escape(suggestion.summary))
    else:
        console.print(
            f"[bold]{escape(suggestion.category or '')}[/bold]  confidence {suggestion.confidence:.2f}  "
            f"({suggestion.generator}, {suggestion.latency_ms:.0f} ms)"
        )
        console.print(escape(suggestion.summary))
        if suggestion.evidence:
            console.print("\n[bold]Evidence[/bold]")
            for line in suggestion.evidence:
                console.print(f"  {line['line']:>5}: {escape(line['text'])}")
        console.print("\n[bold]Root cause[/bold]")
        console.print(escape(suggestion.root_cause))
        console.print("\n[bold]Fix[/bold]")
        for number, step in enumerate(suggestion.fix_steps, start=1):
            console.print(f"{number}. {escape(step)}")
        console.print(f"\nIncidents: {', '.join(suggestion.incident_ids)} (the full steps: --json, under details)")
        for other in suggestion.alternatives:
            console.print(f"Close alternative: {escape(other['title'])} [{escape(other['category'])}] ({escape(other['incident_id'])})")
    if suggestion.fallback_reason:
        console.print(f"\n[yellow]Fell back to the extractive answer[/yellow]: {escape(suggestion.fallback_reason)}")
    if suggestion.hits:
        table = Table(title="Retrieved incidents", title_justify="left")
        for column in ("score", "incident", "category", "bm25", "dense"):
            table.add_column(column, justify="right" if column in ("score", "bm25", "dense") else "left",
                             overflow="fold")
        for hit in suggestion.hits:
            table.add_row(f"{hit.score:.2f}", hit.incident_id, hit.category,
                          str(hit.bm25_rank or "-"), str(hit.dense_rank or "-"))
        console.print(table)


def eval_rag_cmd(
    cases: Path = typer.Option(..., "--cases", help="JSONL file: one {\"text\", \"category\"} object per line."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    generator: str = typer.Option(None, "--generator", "-g", help="Also evaluate the suggestions of this generator "
                                  "(extractive, smollm2, hf, openai): ROUGE-L, fix-keyword coverage, support, declines, latency."),
    answers: bool = typer.Option(False, "--answers", help="Also measure how well the answers fit the logs, for the generator "
                                 "given (default: every local one): names from the log, evidence lines, format, latency."),
    judge: bool = typer.Option(False, "--judge", help="With --answers: an LLM (the openai backend of the config) judges whether "
                               "each answer contains the case's accepted fix (cases with a fix_note)."),
    config: Path = ConfigOption,
) -> None:
    """Evaluate retrieval on labelled cases: Recall@1/3/5, MRR@10, nDCG@10 and top-1 category
    accuracy for BM25, dense and hybrid, plus the categories the hybrid confuses; with
    --generator, the generated suggestions too; with --answers, how well the answers fit the logs."""
    if generator is not None and generator not in GENERATORS:
        fail(f"unknown generator {generator!r}; available: {', '.join(GENERATORS)}")
    try:
        records = read_cases(cases)
    except CasesError as err:
        fail(str(err))
    responder = _responder(config)
    try:
        result = evaluate_retrieval(records, responder)
    except CasesError as err:
        fail(f"{cases}: {err}")
    if generator:
        result["generation"] = evaluate_generation(records, responder, generator)
    if answers:
        judge_lm = OpenAIChatLM(responder.config.openai_base_url, responder.config.openai_model,
                                responder.config.openai_api_key_env) if judge else None
        result["answers"] = {name: evaluate_answers(records, responder, name, judge_lm)
                             for name in ([generator] if generator else ("extractive", "smollm2"))}
    if as_json:
        print(json.dumps(result, indent=1))
        return
    table = Table(title=f"Retrieval on {cases} ({result['n']} cases; every incident of the case's category is relevant)")
    table.add_column("method")
    for metric in (*METRICS, "top1_accuracy"):
        table.add_column(metric, justify="right")
    for method, row in result["methods"].items():
        table.add_row(method, *(f"{row[m]:.3f}" for m in (*METRICS, "top1_accuracy")))
    console.print(table)
    confused = [
        (true, pred, count)
        for true, preds in result["confusion"]["hybrid"].items()
        for pred, count in preds.items()
        if pred != true
    ]
    if confused:
        conf = Table(title="Hybrid top-1 confusions (true -> predicted)", title_justify="left")
        for column in ("true category", "predicted", "count"):
            conf.add_column(column, justify="right" if column == "count" else "left")
        for true, pred, count in sorted(confused, key=lambda x: (-x[2], x[0])):
            conf.add_row(true, pred, str(count))
        console.print(conf)
    else:
        console.print("hybrid: no top-1 confusions")
    if generator:
        g = result["generation"]
        gen_table = Table(title=f"Suggestions of {generator} ({g['n']} cases)")
        for column in ("ROUGE-L", "fix keywords", "supported", "declined", "fell back", "p50 ms", "p95 ms"):
            gen_table.add_column(column, justify="right")
        gen_table.add_row(f"{g['rouge_l']:.3f}", f"{g['keyword_coverage']:.3f}", f"{g['supported_share']:.3f}",
                          f"{g['decline_rate']:.1%}", f"{g['fallback_rate']:.1%} {g['fallback_reasons'] or ''}",
                          f"{g['latency_ms_p50']:.0f}", f"{g['latency_ms_p95']:.0f}")
        console.print(gen_table)
    if answers:
        table = Table(title=f"How the answers fit the logs ({result['n']} cases)")
        for column in ("generator", "top-1", "names the log's", "evidence", "format ok", "fix keywords", "judged fix",
                       "declined", "fell back", "p50 ms", "p95 ms"):
            table.add_column(column, justify="left" if column == "generator" else "right")
        for name, a in result["answers"].items():
            judged = "-" if a["judged_fix_present"] is None else f"{a['judged_fix_present']:.1%}"
            table.add_row(name, f"{a['top1_accuracy']:.1%}", f"{a['names_something_specific']:.1%} of {a['n_with_specifics']}",
                          f"{a['with_evidence_lines']:.1%}", f"{a['format_ok']:.1%}", f"{a['keyword_coverage']:.2f}", judged,
                          f"{a['declined']:.1%}", f"{a['fell_back']:.1%}", f"{a['latency_ms_p50']:.0f}", f"{a['latency_ms_p95']:.0f}")
        console.print(table)
