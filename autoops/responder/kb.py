"""Load and validate the incident knowledge base (``knowledge_base/incidents/*.md``).

Every file is checked strictly, and the first problem found is raised as a
:class:`KnowledgeBaseError` naming the file and line, e.g.::

    .../knowledge_base/incidents/x.md:4: unknown category 'oom'; expected one of build_oom, ...

A file is: a YAML front matter block between two lines that are exactly ``---`` (the first line
of the file opens it; the first later line matching ``^---$`` closes it, so ``<--- ... --->`` in a
signature or a ``---`` rule in the body cannot confuse it), with the fields ``id`` (the file name
without ``.md``), ``title``, ``category`` (an id of the incident taxonomy), ``tags`` (list of
strings) and ``signatures`` (non-empty list of strings); then the sections ``## Symptoms``,
``## Root cause``, ``## Fix`` and ``## Verify``, each once and non-empty (headings inside fenced
code blocks do not count).

The knowledge base and its taxonomy ship with the package (:mod:`autoops.paths`):
``knowledge_base/incidents/`` and ``knowledge_base/taxonomy.yaml`` (the team's incident
taxonomy). ``AUTOOPS_TAXONOMY`` or an explicit path (``taxonomy:`` in ``responder.yaml``) names
another taxonomy, the environment variable winning; a taxonomy that was named but cannot be found
is an error saying where it looked, never a silent fallback to the shipped one. There is no
built-in category list either: an unknown category is always an error.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from autoops.responder.evidence import Cause, Evidence, PatternError, parse_causes, read_evidence

from autoops import paths
from autoops.settings import settings

TAXONOMY_ENV = "AUTOOPS_TAXONOMY"  # named in messages; read through autoops.settings
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SECTIONS: dict[str, str] = {  # heading -> attribute name
    "Symptoms": "symptoms",
    "Root cause": "root_cause",
    "Fix": "fix",
    "Verify": "verify",
}
# field -> (accepted type, description for messages)
FIELDS: dict[str, tuple[type, str]] = {
    "id": (str, "a string"),
    "title": (str, "a string"),
    "category": (str, "a string"),
    "tags": (list, "a list of strings"),
    "signatures": (list, "a non-empty list of strings"),
}

_DELIMITER = re.compile(r"^---[ \t]*$")
_HEADING = re.compile(r"^##[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_STEP = re.compile(r"^(\d+)[.)][ \t]+")


class KnowledgeBaseError(ValueError):
    """A knowledge-base or taxonomy file is missing or invalid; the message says where and why."""

    def __init__(self, path: Path | str, line: int | None, problem: str):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = str(self.path) + (f":{line}" if line else "")
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Category:
    id: str
    description: str
    fix_keywords: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    path: Path
    categories: dict[str, Category]

    @property
    def ids(self) -> list[str]:
        return list(self.categories)


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    category: str
    tags: tuple[str, ...]
    signatures: tuple[str, ...]
    symptoms: str
    root_cause: str
    fix: str
    verify: str
    path: Path
    patterns: tuple[re.Pattern, ...] = ()  # named captures for answers that fit the log (autoops.responder.evidence)
    causes: tuple[Cause, ...] = ()
    summary: str | None = None  # a one-sentence template with {placeholders}

    def evidence(self, log: str) -> Evidence:
        """The lines of ``log`` that match this incident, the names they capture and the cause they point to."""
        return _evidence(self, log)

    @property
    def fix_steps(self) -> list[str]:
        """The numbered steps of the Fix section, each with its continuation lines (code blocks)."""
        return split_steps(self.fix)


@dataclass
class KnowledgeBase:
    incidents: list[Incident]
    taxonomy: Taxonomy
    directory: Path
    content_hash: str
    by_id: dict[str, Incident] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {inc.id: inc for inc in self.incidents}

    def __len__(self) -> int:
        return len(self.incidents)

    def __getitem__(self, incident_id: str) -> Incident:
        return self.by_id[incident_id]

    def categories_without_incident(self) -> list[str]:
        covered = {inc.category for inc in self.incidents}
        return [c for c in self.taxonomy.categories if c not in covered]


@functools.lru_cache(maxsize=4)
def _evidence(incident: Incident, log: str) -> Evidence:
    """Cached: one answer reads the best incident's evidence twice (the answer, then its confidence),
    and on a 10,000-line log one reading takes 80 ms on average, up to 250 ms."""
    return read_evidence(log, incident.patterns, incident.causes, incident.signatures)


def split_steps(markdown: str) -> list[str]:
    """Split a numbered Markdown list into its items; text before the first item is dropped,
    lines after an item (indented continuation, code blocks) stay with that item."""
    steps: list[list[str]] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and _STEP.match(line):
            steps.append([_STEP.sub("", line, count=1)])
        elif steps:
            steps[-1].append(line)
    if not steps and markdown.strip():
        return [markdown.strip()]
    return ["\n".join(s).strip() for s in steps]


# --------------------------------------------------------------------------- taxonomy


def default_kb_dir() -> Path:
    """The incidents shipped with the package."""
    return paths.knowledge_base_dir() / "incidents"


def find_taxonomy(explicit: str | os.PathLike | None = None) -> Path:
    """The taxonomy file to use: ``AUTOOPS_TAXONOMY`` if set (the per-run override wins), else
    ``explicit`` (the config's ``taxonomy:``) if given, else the one shipped with the knowledge
    base. Raises :class:`KnowledgeBaseError` saying where it looked; a named file that is missing
    never falls back to another."""
    env = settings().taxonomy
    if env is not None:
        path, how = env, f"${TAXONOMY_ENV}"
    elif explicit:
        path, how = Path(explicit).expanduser(), "the `taxonomy:` setting"
    else:
        path, how = paths.taxonomy_file(), "the shipped default"
    if path.is_file():
        return path
    raise KnowledgeBaseError(
        path, None,
        f"incident taxonomy not found (looked at {path.resolve()}, from {how}). Point {TAXONOMY_ENV} or "
        f"`taxonomy:` in responder.yaml at an existing file, or unset them to use the shipped "
        "knowledge_base/taxonomy.yaml.",
    )


def load_taxonomy(path: str | os.PathLike | None = None) -> Taxonomy:
    path = find_taxonomy(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise KnowledgeBaseError(path, mark.line + 1 if mark else None, f"invalid YAML: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise KnowledgeBaseError(path, None, "expected a mapping with a `categories` list")
    categories: dict[str, Category] = {}
    for i, entry in enumerate(data["categories"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise KnowledgeBaseError(path, None, f"category #{i + 1} has no string `id`")
        categories[entry["id"]] = Category(
            entry["id"], str(entry.get("description", "")), tuple(str(k) for k in entry.get("fix_keywords") or ())
        )
    if not categories:
        raise KnowledgeBaseError(path, None, "no categories")
    return Taxonomy(path, categories)


# --------------------------------------------------------------------------- incidents


def _key_line(fm_lines: list[str], key: str, first_line: int) -> int:
    """The file line number of ``key:`` in the front matter (or the opening line if absent)."""
    pattern = re.compile(rf"^{re.escape(key)}[ \t]*:")
    for offset, line in enumerate(fm_lines):
        if pattern.match(line):
            return first_line + offset
    return first_line - 1


def _item_line(fm_lines: list[str], key: str, index: int, first_line: int) -> int:
    """The line of the ``index``-th block-list item under ``key`` (falls back to the key's line)."""
    start = _key_line(fm_lines, key, first_line)
    seen = -1
    for offset in range(start - first_line + 1, len(fm_lines)):
        line = fm_lines[offset]
        if line and not line[0].isspace() and not line.startswith("-"):
            break
        if line.lstrip().startswith("- "):
            seen += 1
            if seen == index:
                return first_line + offset
    return start


def parse_incident(path: Path, taxonomy: Taxonomy) -> Incident:
    """Parse and validate one incident file; raise :class:`KnowledgeBaseError` on the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise KnowledgeBaseError(path, None, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not _DELIMITER.match(lines[0]):
        raise KnowledgeBaseError(path, 1, "missing front matter: the first line must be `---`")
    close = next((i for i in range(1, len(lines)) if _DELIMITER.match(lines[i])), None)
    if close is None:
        raise KnowledgeBaseError(path, 1, "front matter is not closed: no later line is exactly `---`")
    fm_lines = lines[1:close]
    first = 2  # file line number of fm_lines[0]
    try:
        meta = yaml.load("\n".join(fm_lines), Loader=_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        line = first + mark.line if mark else 1
        raise KnowledgeBaseError(path, line, f"invalid YAML in front matter: {problem}") from None
    if not isinstance(meta, dict):
        raise KnowledgeBaseError(path, 1, "front matter must be a YAML mapping of fields")

    for key, (typ, description) in FIELDS.items():
        if key not in meta or meta[key] is None:
            raise KnowledgeBaseError(path, close + 1, f"missing required field `{key}` ({description})")
        value = meta[key]
        line = _key_line(fm_lines, key, first)
        if not isinstance(value, typ) or isinstance(value, bool):
            raise KnowledgeBaseError(
                path, line, f"field `{key}` must be {description}, got {type(value).__name__} {value!r}"
            )
        if typ is str and not value.strip():
            raise KnowledgeBaseError(path, line, f"field `{key}` is empty")
        if typ is list:
            for i, item in enumerate(value):
                if not isinstance(item, str) or not item.strip():
                    raise KnowledgeBaseError(
                        path, _item_line(fm_lines, key, i, first),
                        f"field `{key}` item {i + 1} must be a non-empty string, got {item!r}",
                    )
    if not meta["signatures"]:
        raise KnowledgeBaseError(path, _key_line(fm_lines, "signatures", first), "field `signatures` is empty")
    if meta["id"] != path.stem:
        raise KnowledgeBaseError(
            path, _key_line(fm_lines, "id", first), f"id {meta['id']!r} does not match the file name {path.stem!r}"
        )
    if meta["category"] not in taxonomy.categories:
        raise KnowledgeBaseError(
            path, _key_line(fm_lines, "category", first),
            f"unknown category {meta['category']!r}; expected one of {', '.join(taxonomy.categories)} "
            f"(from {taxonomy.path})",
        )

    sections: dict[str, list[str]] = {}
    section_line: dict[str, int] = {}
    current: str | None = None
    in_fence = False
    for number, line in enumerate(lines[close + 1 :], start=close + 2):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            name = heading.group(1).strip()
            if name in SECTIONS:
                if name in sections:
                    raise KnowledgeBaseError(
                        path, number, f"duplicate section `## {name}` (first at line {section_line[name]})"
                    )
                sections[name] = []
                section_line[name] = number
                current = name
                continue
            # An unknown level-2 heading ends the previous section (kept out of its text).
            current = None
            continue
        if current is not None:
            sections[current].append(line)
    for name in SECTIONS:
        if name not in sections:
            raise KnowledgeBaseError(path, len(lines), f"missing section `## {name}`")
        if not "\n".join(sections[name]).strip():
            raise KnowledgeBaseError(path, section_line[name], f"section `## {name}` is empty")
    if in_fence:
        raise KnowledgeBaseError(path, len(lines), "unclosed ``` code block")

    body = {SECTIONS[name]: "\n".join(sections[name]).strip() for name in SECTIONS}
    try:
        patterns, causes, summary = parse_causes(meta)
    except PatternError as err:
        key = next((k for k in ("causes", "patterns", "summary") if f"`{k}`" in str(err)), "patterns")
        raise KnowledgeBaseError(path, _key_line(fm_lines, key, first), str(err)) from None
    return Incident(
        id=meta["id"],
        title=meta["title"].strip(),
        category=meta["category"],
        tags=tuple(str(t) for t in meta["tags"]),
        signatures=tuple(meta["signatures"]),
        path=path,
        patterns=patterns,
        causes=causes,
        summary=summary,
        **body,
    )


def content_hash(files: list[Path]) -> str:
    """sha256 over the (sorted) file names and bytes of the knowledge base."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def load_knowledge_base(
    directory: str | os.PathLike | None = None, taxonomy: str | os.PathLike | Taxonomy | None = None
) -> KnowledgeBase:
    """Load every ``*.md`` incident of ``directory`` (default: the shipped incidents), validated
    against the taxonomy (see :func:`find_taxonomy`). Raises :class:`KnowledgeBaseError` on the
    first bad file."""
    directory = Path(directory).expanduser() if directory else default_kb_dir()
    if not directory.is_dir():
        raise KnowledgeBaseError(directory, None, "knowledge base folder not found")
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    files = sorted(directory.glob("*.md"))
    if not files:
        raise KnowledgeBaseError(directory, None, "no incident files (*.md)")
    incidents = [parse_incident(path, tax) for path in files]
    return KnowledgeBase(incidents, tax, directory, content_hash(files))
