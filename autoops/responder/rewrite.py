"""A narrow job for a small local model: rewrite the answer's summary sentence.

The model sees only the evidence lines and the chosen cause (not the whole log, not the incident's
steps) and writes one sentence saying what failed, with the log's names. The sentence is kept only
when it is supported (:func:`supported`): one sentence, at most 160 characters, and every name-like
token in it (a version, package, path, host, number, identifier) appears in the evidence, the cause
or the extractive summary, at least one such name is there, and most of its words
(:data:`MIN_OVERLAP`) come from those sources; otherwise :func:`rewrite_summary` returns None and the extractive summary
stays. Measured against the extractive summary by ``python -m autoops.bench.rewrite``.

The prompt is a few-shot completion ending in "What failed, ...:", so that a base model (Gemma 3 270M as
packaged is the base model, without a chat template) continues it as well as an instruct one. Its
two examples are written here, not taken from any evaluation case.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from autoops.responder.generators import content_words

MAX_CHARS = 160
MAX_NEW_TOKENS = 40  # 160 characters
TIMEOUT_S = 20.0
MIN_OVERLAP = 0.6  # share of the sentence's content words found in the evidence and cause (as the LLM generator's check)

SYSTEM = "Rewrite the failure of a CI build log as one short sentence that names what failed, using the names in the log."
EXAMPLES = (
    (("npm ERR! Could not resolve dependency: peer vue@\"^2.6.0\" from vue-router@3.5.1",
      "npm ERR! Found: vue@3.2.47"),
     "A plugin's peer range does not include the framework version the project uses.",
     "vue-router@3.5.1 needs vue ^2.6.0 but vue@3.2.47 is installed."),
    (("Error response from daemon: manifest for registry.acme.io/api:2.4.1 not found: manifest unknown",),
     "The image tag was never pushed to the registry.",
     "The image registry.acme.io/api:2.4.1 does not exist in the registry, so the pull failed."),
)

# a token that names something: has a digit, or punctuation inside a word (a path, host,
# package@version, image:tag, snake_case, dotted.name), or capitals after its first letter (ERESOLVE, OOMKilled)
_TOKEN = re.compile(r"[^\s\"'`()\[\]{}<>,;]+")
_NAME_LIKE = re.compile(r"\d|\w[./@:_=\\-]+\w|^.[^\s]*[A-Z]")
_SENTENCE_BREAK = re.compile(r"[.!?]\s+\S")


def _line_text(line) -> str:
    return line["text"] if isinstance(line, dict) else line[1] if isinstance(line, tuple) else str(line)


def build_prompt(evidence_lines, cause: str) -> str:
    def block(lines, cause_text):
        shown = "\n".join(f"  {_line_text(line)[:240]}" for line in lines)
        return f"Log lines:\n{shown}\nCause: {cause_text}\nWhat failed, in one sentence with the names from the log:"

    shots = "\n\n".join(f"{block(lines, c)} {answer}" for lines, c, answer in EXAMPLES)
    return f"{shots}\n\n{block(evidence_lines, cause)}"


def names_in(sentence: str) -> list[str]:
    """The name-like tokens of a sentence, without surrounding punctuation."""
    tokens = (t.strip(".,:;!?") for t in _TOKEN.findall(sentence))
    return [t for t in tokens if t and _NAME_LIKE.search(t)]


def unsupported_names(sentence: str, *sources: str) -> list[str]:
    """The name-like tokens of ``sentence`` that none of ``sources`` contains (case-insensitive)."""
    known = " ".join(sources).lower()
    return [name for name in names_in(sentence) if name.lower() not in known]


def clean(text: str) -> str:
    """The model's first sentence of its first line, without a repeated label or quotes (we asked
    for one sentence: what a small model writes after it is rambling, not part of the answer)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = re.sub(r"^((summary|what failed[^:]*):\s*)+", "", first, flags=re.IGNORECASE).strip().strip("\"'`")
    first = " ".join(first.split())
    end = _SENTENCE_BREAK.search(first)
    return first[: end.start() + 1] if end else first


def supported(sentence: str, evidence_lines, cause: str, extractive_summary: str = "") -> str | None:
    """Why ``sentence`` cannot replace the summary (None: it can)."""
    if len(sentence.split()) < 4:
        return "fewer than four words"
    if len(sentence) > MAX_CHARS:
        return f"over {MAX_CHARS} characters"
    if _SENTENCE_BREAK.search(sentence):
        return "more than one sentence"
    sources = [*map(_line_text, evidence_lines), cause, extractive_summary]
    missing = unsupported_names(sentence, *sources)
    if missing:
        return "names not in the evidence: " + ", ".join(missing[:5])
    if not names_in(sentence):  # without one of the log's names it cannot beat the extractive sentence
        return "names nothing from the log"
    words, known = content_words(sentence), content_words(" ".join(sources))
    if len(words & known) < MIN_OVERLAP * len(words):
        return "words not in the evidence"
    return None


class Rewrite(NamedTuple):
    text: str  # the model's sentence, as cleaned (kept even when rejected, to read)
    reason: str | None  # why it cannot replace the summary; None: it can
    seconds: float

    @property
    def accepted(self) -> str | None:
        return self.text if self.reason is None else None


def rewrite_summary(lm, evidence_lines, cause: str, extractive_summary: str, timeout_s: float = TIMEOUT_S) -> Rewrite:
    """The model's summary sentence and whether it is supported (``.accepted`` is the sentence or
    None: keep the extractive summary). ``lm`` is a model of ``autoops.responder.llm``."""
    if not evidence_lines:
        return Rewrite("", "no evidence lines", 0.0)
    generation = lm.generate(SYSTEM, build_prompt(evidence_lines, cause), max_new_tokens=MAX_NEW_TOKENS, timeout_s=timeout_s)
    sentence = clean(generation.text)
    return Rewrite(sentence, supported(sentence, evidence_lines, cause, extractive_summary), generation.seconds)
