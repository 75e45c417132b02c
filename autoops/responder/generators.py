"""The responder's generators, which turn retrieved incidents into a :class:`Suggestion`.

``extractive`` quotes the knowledge base. The LLM ones write an answer from a prompt grounded in
the retrieved incidents; it is parsed into a structured answer and checked to be supported by them.
:data:`GENERATORS` names them all.

Every LLM backend (``smollm2``, ``hf``, ``openai``) is an ``LLMGenerator`` around a model from
``autoops.responder.llm``. A generator raises ``GenerationFailed`` (with a short, bounded
``reason``: error, timeout or unsupported) when the model fails, runs out of time, or writes
something the retrieved incidents do not support; the responder then falls back to the
extractive generator and says why.
"""

from __future__ import annotations

import dataclasses
import re

from autoops.responder.evidence import MAX_ACTIONS, Evidence, placeholders
from autoops.responder.kb import Incident, KnowledgeBase
from autoops.responder.llm import ModelUnavailable
from autoops.responder.logtext import first_error_line, normalise
from autoops.responder.retrieval import Hit
from autoops.responder.suggestion import Suggestion

# extractive quotes the knowledge base; the others are LLMs (LLMGenerator around autoops.responder.llm)
GENERATORS = ("extractive", "smollm2", "hf", "openai")

SYSTEM_PROMPT = (
    "You are a CI/CD incident responder. Use only the incident notes you are given. "
    "Answer in exactly this format:\n"
    "Summary: <one sentence>\nRoot cause: <one sentence>\nFix:\n1. <step>\n2. <step>\n3. <step>"
)
CONTEXT_INCIDENTS = 2  # a 135M model loses the thread with more
LOG_CHARS = 600
MAX_STEPS = 4

_STOPWORDS = set("""a an and are as at be by for from has have in into is it its of on or that the this to was
were will with your you use using run then than when which while does not can should must there their""".split())
_WORD = re.compile(r"[a-z0-9][a-z0-9_.+-]{3,}")


class ExtractiveGenerator:
    """An answer that fits the log, taken from the best incident: the log lines that matched
    (``evidence``), a one-sentence summary with the log's own names, the one cause the evidence
    points to, at most three one-line actions with those names filled in, and the incident's
    full steps and other causes in ``details``. (The responder adds the calibrated confidence
    and, when it is low, the close alternative.)"""

    name = "extractive"

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def generate(self, query: str, hits: list[Hit]) -> Suggestion:
        if not hits:
            raise ValueError("no hits to generate from")
        best = hits[0]
        incident = self.kb[best.incident_id]
        evidence = incident.evidence(query)
        if not evidence.lines:  # nothing of the incident's own wording: show the log's first error line
            evidence = dataclasses.replace(evidence, lines=error_line(query))
        same_category = [h.incident_id for h in hits if h.category == best.category]
        return Suggestion(
            summary=summary_of(incident, evidence),
            root_cause=root_cause_of(incident, evidence),
            fix_steps=actions_of(incident, evidence),
            incident_ids=list(dict.fromkeys([best.incident_id, *same_category])),
            category=incident.category,
            confidence=best.score,
            generator=self.name,
            hits=hits,
            evidence=[{"line": n, "text": line} for n, line in evidence.lines],
            details=details_of(incident, evidence),
        )


MAX_SUMMARY_CHARS = 160
MAX_ACTION_CHARS = 220
_MARKDOWN = re.compile(r"\*\*|__|(?<!\w)\*(?!\s)|`")


def plain(text: str) -> str:
    """One line of markdown as plain text: emphasis marks dropped, code kept as `code`, spaces collapsed."""
    return " ".join(re.sub(r"\*\*|__", "", text).split())


def shorten(text: str, limit: int) -> str:
    """``text`` cut at the last word boundary before ``limit`` characters, with "…", never mid-word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-(") + "…"


def one_line(step: str) -> str:
    """A fix step as one line: its first line, and when that line only introduces a code block
    (ends in ":"), the block's first command after it."""
    lines = [line.strip() for line in step.splitlines()]
    first = plain(lines[0]) if lines else ""
    if first.endswith(":"):
        code = next((line for line in lines[1:] if line and not line.startswith(("```", "~~~"))), "")
        first = f"{first} `{code}`" if code else first.rstrip(":") + "."
    return shorten(first, MAX_ACTION_CHARS)


# what a log line starts with that says nothing in a sentence: time stamps, CI annotations, tool prefixes
_LINE_PREFIX = re.compile(r"^(?:\s*(?:\d{4}-\d\d-\d\dT[\d:.]+Z?|\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?|##\[\w+\]|npm ERR!|#\d+ [\d.]+))+\s*")


def quotable(line: str) -> str:
    """A log line as quoted in a sentence: without its time stamp, ``##[error]`` or ``npm ERR!`` prefix."""
    return _LINE_PREFIX.sub("", line).strip() or line.strip()


def _readable(line: str) -> bool:
    """A log line worth quoting in a sentence: some words, not a markdown fence or a rule."""
    return not line.lstrip().startswith(("```", "~~~")) and len(re.findall(r"[A-Za-z0-9]", line)) >= 8


def error_line(log: str) -> tuple[tuple[int, str], ...]:
    """The log's first error line (``logtext.first_error_line``) with its line number, if it has one."""
    line = first_error_line(log)
    if not line:
        return ()
    number = next((n for n, text in enumerate(log.splitlines(), start=1) if line in text), 1)
    return ((number, shorten(line, 240)),)


def _captured(template: str, evidence: Evidence) -> bool:
    names = [name for name, _ in placeholders(template)]
    return not names or any(name in evidence.captures for name in names)


def summary_of(incident: Incident, evidence: Evidence) -> str:
    """What failed in this log, in one sentence with its own names: the incident's (or the chosen
    cause's) summary template when the log gave it names, else the title and the first matching line."""
    template = (evidence.cause.summary if evidence.cause and evidence.cause.summary else None) or incident.summary
    if template and _captured(template, evidence):  # a template without placeholders is taken as written
        return shorten(evidence.fill(template), MAX_SUMMARY_CHARS)
    line = next((quotable(text) for _, text in evidence.lines if _readable(text)), None)
    if line:
        return shorten(f"{incident.title}: {line}", MAX_SUMMARY_CHARS)
    return shorten(evidence.fill(template) if template else incident.title, MAX_SUMMARY_CHARS)


def root_cause_of(incident: Incident, evidence: Evidence) -> str:
    """The one cause the log points to (or the incident's first, most common, cause), filled in."""
    if evidence.cause is not None:
        return evidence.fill(evidence.cause.text)
    return _first_sentence(incident.root_cause, 400)


def actions_of(incident: Incident, evidence: Evidence) -> list[str]:
    """At most three one-line actions, most specific first: the chosen cause's, then the incident's steps."""
    actions = [shorten(evidence.fill(a), MAX_ACTION_CHARS) for a in (evidence.cause.actions if evidence.cause else ())]
    for step in incident.fix_steps:
        if len(actions) >= MAX_ACTIONS:
            break
        line = one_line(step)
        if line and line not in actions:
            actions.append(line)
    return actions[:MAX_ACTIONS]


def details_of(incident: Incident, evidence: Evidence) -> dict:
    """The incident in full, for whoever reads on: its other causes, every fix step, how to verify."""
    others = [evidence.fill(c.text) for c in incident.causes if c is not evidence.cause]
    return {"incident": incident.id, "title": incident.title, "other_causes": others,
            "steps": incident.fix_steps, "verify": incident.verify}


class GenerationFailed(RuntimeError):
    """The model's answer cannot be used; ``reason`` is one of error, timeout, unsupported."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def content_words(text: str) -> set[str]:
    return {w.strip(".-+") for w in _WORD.findall(text.lower())} - _STOPWORDS


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(content_words(s)) >= 2]


def supported_share(answer_sentences: list[str], context: str, min_overlap: float = 0.6) -> float:
    """Share of sentences whose content words mostly (``min_overlap``) appear in the context."""
    if not answer_sentences:
        return 0.0
    known = content_words(context)
    supported = sum(len(words & known) >= min_overlap * len(words) for words in map(content_words, answer_sentences))
    return supported / len(answer_sentences)


def _first_sentence(text: str, limit: int = 300) -> str:
    return re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0][:limit]


def build_prompt(log: str, incidents: list) -> str:
    """Short on purpose: a small model copes with the first line of each step, not code blocks."""
    notes = "\n\n".join(
        f"[{inc.id}] {inc.title}\nRoot cause: {_first_sentence(inc.root_cause)}\nFix:\n"
        + "\n".join(f"{i}. {step.splitlines()[0]}" for i, step in enumerate(inc.fix_steps[:MAX_STEPS], 1))
        for inc in incidents
    )
    return f"Incident notes:\n{notes}\n\nFailed build log:\n{normalise(log)[:LOG_CHARS]}\n\nAnswer:"


def parse_answer(text: str) -> tuple[str, str, list[str]]:
    """(summary, root cause, fix steps) from the model's text; missing parts are empty."""
    summary = re.search(r"summary:\s*(.+)", text, re.I)
    cause = re.search(r"root cause:\s*(.+)", text, re.I)
    fix_part = re.split(r"\bfix:\s*", text, flags=re.I, maxsplit=1)
    steps = re.findall(r"^\s*\d+[.)]\s+(.+?)\s*$", fix_part[-1], re.M)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (summary.group(1).strip() if summary else first_line), (cause.group(1).strip() if cause else ""), steps


class LLMGenerator:
    """Grounded generation with any model of ``autoops.responder.llm`` (``generate(system, user)``)."""

    def __init__(self, kb: KnowledgeBase, lm, name: str, max_new_tokens: int = 200, timeout_s: float = 60.0,
                 min_support: float = 0.6):
        self.kb, self.lm, self.name = kb, lm, name
        self.max_new_tokens, self.timeout_s, self.min_support = max_new_tokens, timeout_s, min_support
        self.last_generation = None  # the raw Generation of the latest call (tokens/second for benchmarks)

    def generate(self, query: str, hits: list[Hit]) -> Suggestion:
        incidents = [self.kb[h.incident_id] for h in hits[:CONTEXT_INCIDENTS]]
        prompt = build_prompt(query, incidents)
        try:
            generation = self.lm.generate(SYSTEM_PROMPT, prompt, max_new_tokens=self.max_new_tokens, timeout_s=self.timeout_s)
        except ModelUnavailable as err:
            raise GenerationFailed("error", str(err)) from err
        self.last_generation = generation
        if generation.seconds >= self.timeout_s:
            raise GenerationFailed("timeout", f"{self.name} took {generation.seconds:.1f} s (limit {self.timeout_s:.0f} s)")
        summary, cause, steps = parse_answer(generation.text)
        if not steps:
            raise GenerationFailed("unsupported", f"{self.name} wrote no numbered fix steps")
        context = prompt + "\n" + "\n".join(inc.symptoms for inc in incidents)
        share = supported_share(sentences("\n".join([summary, cause, *steps])), context)
        if share < self.min_support:
            raise GenerationFailed("unsupported", f"only {share:.0%} of {self.name}'s sentences are supported by the retrieved incidents")
        best = hits[0]
        return Suggestion(
            summary=summary, root_cause=cause, fix_steps=steps, incident_ids=[inc.id for inc in incidents],
            category=best.category, confidence=best.score, generator=self.name, hits=hits,
        )
