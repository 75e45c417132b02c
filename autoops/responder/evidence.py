"""What a log says about an incident: the lines that match, the names it captures, the cause it points to.

An incident file may describe its failure modes precisely (front matter, all optional)::

    patterns:                 # regular expressions with named captures, matched line by line
      - 'npm ERR! Found: (?P<installed>\\S+?)@(?P<installed_version>[\\w.-]+)'
    summary: "{package|a dependency} wants {peer|a peer} {range|in another range} but {installed}@{installed_version} is installed"
    causes:
      - cause: "A plugin's peer range does not include the framework version the project uses."
        patterns: ['peer (?P<peer>\\S+?)@"(?P<range>[^"]+)" from (?P<package>\\S+)']
        summary: ...          # optional: replaces the incident's summary when this cause is chosen
        actions:              # at most three one-line actions, most specific first
          - "Upgrade {package|the plugin} to a release whose peerDependencies accept {installed}@{installed_version}."

A cause is chosen when one of its own patterns matches a line of the log (the first such cause
in file order); otherwise the first cause, said to be the most common one. ``{name}`` is filled
from a capture of any pattern of the incident; ``{name|words}`` reads ``words`` when the log did
not show that name, and a bare ``{name}`` of a well-known kind falls back to a generic noun
(``{image}`` -> "the image"). The loader (:func:`parse_causes`) checks every regular expression and
that every placeholder names a capture that can fill it and can be read without one.

Patterns run on the redacted log as written (not the normalised text, which masks the very
paths, versions and ids an answer should name), each line without the time stamp or CI marker a
runner puts before it, so that a pattern anchored with ``^`` reads a CI log as it reads a local one.
When a name is captured twice, the first line wins, unless a later line names the same thing more
fully (``test_x`` then ``tests/a.py::test_x``, ``Invoice.java`` then ``src/main/.../Invoice.java``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_CAPTURE_CHARS = 80  # a captured name longer than this is cut (a path or a test id, not a paragraph)
MAX_EVIDENCE_LINES = 3
MAX_ACTIONS = 3
MAX_LINE_CHARS = 240  # longer log lines are cut for display, with "…"
MAX_SCAN_CHARS = 2000  # patterns read at most this much of a line: a 15,000-character line took one pattern 10-36 s

# a bare {name} without "|words" reads as these words when the log did not show the name
GENERIC = {
    "package": "the package", "version": "the required version", "installed": "the installed package",
    "installed_version": "the installed version", "range": "the required range", "peer": "the peer dependency",
    "image": "the image", "tag": "the tag", "registry": "the registry", "host": "the host", "port": "the port",
    "path": "the path", "file": "the file", "limit": "the memory limit", "exit_code": "the exit code",
    "lock_id": "the lock", "module": "the module", "command": "the command", "url": "the URL", "job": "the job",
    "test": "the test", "timeout": "the time limit", "node": "the node", "pod": "the pod", "container": "the container",
    "platform": "the platform", "arch": "the architecture", "secret": "the secret", "variable": "the variable",
    "service": "the service", "python": "the Python version", "node_version": "the Node.js version",
    "signal": "the signal", "branch": "the branch", "repo": "the repository", "user": "the user",
    "resource": "the resource", "namespace": "the namespace", "status": "the status code", "target": "the target",
    "key": "the cache key", "artifact": "the artifact", "symbol": "the symbol", "rule": "the rule",
}
# what a runner puts before a log line: time stamps (ISO, "date time", bracketed), GitHub's
# ##[error] markers, BuildKit's "#14 2.113" step and time
_LINE_PREFIX = re.compile(
    r"^(?:\s*(?:\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?\]?"
    r"|\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?|##\[\w+\]|#\d+ \d+\.\d+(?= )))+ ?")
_PLACEHOLDER = re.compile(r"(?<!\$)\{(\w+)(?:\|([^{}]*))?\}")  # ${VAR} in a shell command is not one


class PatternError(ValueError):
    """A pattern, cause or placeholder of an incident is invalid; the message says which."""


@dataclass(frozen=True)
class Cause:
    text: str
    patterns: tuple[re.Pattern, ...] = ()
    actions: tuple[str, ...] = ()
    summary: str | None = None


@dataclass(frozen=True)
class Evidence:
    """What one log shows of one incident."""

    lines: tuple[tuple[int, str], ...] = ()  # (1-based line number, the line) of the lines that matched
    captures: dict[str, str] = field(default_factory=dict)
    cause: Cause | None = None
    cause_matched: bool = False  # the cause was chosen by its own pattern, not by default
    pattern_matched: bool = False  # any pattern of the incident matched a line (not only a plain signature)

    def fill(self, template: str) -> str:
        return fill(template, self.captures)


def fill(template: str, captures: dict[str, str]) -> str:
    """``template`` with each ``{name}`` / ``{name|words}`` replaced by the capture or its fallback."""
    def one(match: re.Match) -> str:
        name, words = match.group(1), match.group(2)
        if captures.get(name):
            return captures[name]
        return words if words is not None else GENERIC.get(name, name.replace("_", " "))
    return _PLACEHOLDER.sub(one, template)


def placeholders(template: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(template)]


def _compile(where: str, pattern) -> re.Pattern:
    if not isinstance(pattern, str) or not pattern.strip():
        raise PatternError(f"{where}: a pattern must be a non-empty string, got {pattern!r}")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as err:
        raise PatternError(f"{where}: invalid regular expression {pattern!r}: {err}") from None


def _strings(where: str, value, most: int | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PatternError(f"{where}: expected a list of non-empty strings, got {value!r}")
    if most is not None and len(value) > most:
        raise PatternError(f"{where}: at most {most} items, got {len(value)}")
    return tuple(v.strip() for v in value)


def parse_causes(meta: dict) -> tuple[tuple[re.Pattern, ...], tuple[Cause, ...], str | None]:
    """The incident's own patterns, its causes and its summary template, checked (see the module docstring)."""
    patterns = tuple(_compile(f"field `patterns` item {i + 1}", p) for i, p in enumerate(meta.get("patterns") or []))
    causes = []
    raw_causes = meta.get("causes") or []
    if not isinstance(raw_causes, list):
        raise PatternError(f"field `causes`: expected a list of causes, got {raw_causes!r}")
    for i, raw in enumerate(raw_causes):
        where = f"field `causes` item {i + 1}"
        if not isinstance(raw, dict) or not isinstance(raw.get("cause"), str) or not raw["cause"].strip():
            raise PatternError(f"{where}: expected a mapping with a non-empty `cause` text")
        unknown = sorted(set(raw) - {"cause", "patterns", "actions", "summary"})
        if unknown:
            raise PatternError(f"{where}: unknown key `{unknown[0]}`; expected cause, patterns, actions, summary")
        own = tuple(_compile(f"{where} pattern {j + 1}", p) for j, p in enumerate(raw.get("patterns") or []))
        summary = raw.get("summary")
        if summary is not None and not isinstance(summary, str):
            raise PatternError(f"{where}: `summary` must be text")
        causes.append(Cause(raw["cause"].strip(), own, _strings(f"{where} actions", raw.get("actions"), MAX_ACTIONS), summary))
    summary = meta.get("summary")
    if summary is not None and (not isinstance(summary, str) or not summary.strip()):
        raise PatternError(f"field `summary`: expected a one-sentence template, got {summary!r}")
    captures = {name for p in patterns + tuple(p for c in causes for p in c.patterns) for name in p.groupindex}
    templates = [("field `summary`", summary or "")] + [
        (f"field `causes` item {i + 1}", text) for i, c in enumerate(causes) for text in (c.text, c.summary or "", *c.actions)]
    for where, template in templates:
        for name, words in placeholders(template):
            if name not in captures:
                raise PatternError(f"{where}: placeholder {{{name}}} has no capture of that name in the incident's patterns "
                                   f"(captures: {', '.join(sorted(captures)) or 'none'})")
            if words is None and name not in GENERIC:
                raise PatternError(f"{where}: placeholder {{{name}}} needs words to read when the log lacks it: {{{name}|...}}")
    return patterns, tuple(causes), summary


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _capture(value: str) -> str:
    """A captured name as shown: surrounding quotes dropped only when they pair up, and a long one
    cut in the middle, which keeps both a path's start and its file name."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"`":
        value = value[1:-1]
    if len(value) > MAX_CAPTURE_CHARS:
        half = (MAX_CAPTURE_CHARS - 1) // 2
        value = value[:half] + "…" + value[-half:]
    return value


def _fuller(earlier: str, later: str) -> bool:
    """``later`` names the same thing as ``earlier``, more fully: a path or test id ending in it."""
    return len(later) > len(earlier) and later.endswith(earlier) and later[: -len(earlier)].endswith(("/", "::"))


def read_evidence(log: str, patterns: tuple[re.Pattern, ...], causes: tuple[Cause, ...],
                  signatures: tuple[str, ...] = ()) -> Evidence:
    """Match an incident's patterns and plain signatures against the log's lines. The evidence
    shown is the best three lines (a cause's pattern that captured names, then any pattern, then a
    signature), in log order."""
    lines = log.splitlines()
    captures: dict[str, str] = {}
    rank: dict[int, int] = {}  # line number -> 0 (a cause's pattern with captures), 1 (a pattern), 2 (a signature)
    matched_causes: set[int] = set()
    all_patterns = [(None, p) for p in patterns] + [(cause, p) for cause in causes for p in cause.patterns]
    lowered = [s.lower() for s in signatures]
    for number, full_line in enumerate(lines, start=1):
        line = _LINE_PREFIX.sub("", full_line[:MAX_SCAN_CHARS], count=1)
        for cause, pattern in all_patterns:
            found = pattern.search(line)
            if not found:
                continue
            named = {k: v for k, v in found.groupdict().items() if v}
            rank[number] = min(rank.get(number, 2), 0 if cause is not None and named else 1)
            for name, value in named.items():
                value = _capture(value)
                if name not in captures or _fuller(captures[name], value):
                    captures[name] = value
            if cause is not None:
                matched_causes.add(id(cause))
        if number not in rank and any(s in line.lower() for s in lowered):
            rank[number] = 2
    chosen = next((cause for cause in causes if id(cause) in matched_causes), None)  # the first in file order
    best = sorted(sorted(rank, key=lambda n: (rank[n], n))[:MAX_EVIDENCE_LINES])
    evidence = tuple((n, _cut(lines[n - 1].strip(), MAX_LINE_CHARS)) for n in best)
    return Evidence(evidence, captures, chosen or (causes[0] if causes else None), chosen is not None,
                    any(r < 2 for r in rank.values()))
