"""Loading the log templates and compiling them for ``render_log``.

The text lives beside this module: ``templates/<category>.yaml`` (one list of templates per
failure category), ``frames.yaml`` (how each CI system wraps a tool's output), ``snippets.yaml``
(text shared by several templates) and ``words.yaml`` (the vocabularies values are drawn from);
``templates/README.md`` says how a template is written.
Every file is checked when loaded, and a bad one raises ``TemplateError`` naming the file and
the template or field.

Compiling turns each (template, toolchain, frame) into its literal pieces, the values to draw for
it, and which value follows each piece, so that rendering costs one Python call per distinct value
and the assembly happens in C (a join, which measured faster than %-formatting).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from autoops.envs.categories import FAILURES, TOOLCHAINS
from autoops.envs.logs.values import CLOCKED, FRESH, Gen, Words, base, computed_generators, line_stamps, lookup, word_generators

DATA_DIR = Path(__file__).parent  # the YAML ships inside the package

try:
    _Loader = yaml.CSafeLoader  # about 10x faster than the pure-Python loader on these files
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Slot = tuple[str, Gen]
Variant = tuple[tuple[str, ...], tuple[Slot, ...], tuple[str, ...]]
Table = dict[str, dict[str, tuple[tuple[Variant, ...], ...]]]  # category -> toolchain -> per template, its frame variants


class TemplateError(ValueError):
    """A log-template file is malformed; the message names the file and the template or field."""


class Catalog(NamedTuple):
    logs: Table
    gens: dict[str, Gen]


class _Template(NamedTuple):
    toolchains: tuple[str, ...]
    text: str
    cmd: str
    code: str
    frames: tuple[str, ...]


class _Frame(NamedTuple):
    prefix: str
    head: tuple[str, ...]
    tail: tuple[str, ...]
    workdir: str
    home: str


@functools.cache
def package_catalog() -> Catalog:
    """The package's templates, loaded and compiled once per process."""
    return load_catalog(DATA_DIR)


def load_catalog(root: Path) -> Catalog:
    """Load and compile the templates under ``root`` (a folder laid out like this package's)."""
    words = _load_words(root / "words.yaml")
    gens = word_generators(words)
    try:
        computed = computed_generators(words)
    except KeyError as err:
        raise TemplateError("%s: the list %s is missing (the code that draws values needs it)" % (root / "words.yaml", err)) from None
    if clash := sorted(gens.keys() & computed.keys()):
        raise TemplateError("%s: %s also drawn by code (values.py); rename the list" % (root / "words.yaml", ", ".join(clash)))
    gens.update(computed)
    snippets = _load_snippets(root / "snippets.yaml", gens)
    frames, with_cmd, without_cmd = _load_frames(root / "frames.yaml", gens, snippets)
    templates = _load_templates(root / "templates", gens, snippets, frames, with_cmd, without_cmd)
    logs: Table = {}
    for category, (path, category_templates) in templates.items():
        logs[category] = {}
        for toolchain in TOOLCHAINS:
            variants = []
            for i, t in enumerate(category_templates, 1):
                if toolchain in t.toolchains:
                    where = "%s, template %d" % (path, i)
                    variants.append(tuple(_parse(_expand(t, toolchain, frames[f], snippets, where), gens, where) for f in t.frames))
            logs[category][toolchain] = tuple(variants)
    return Catalog(logs, gens)


# ---------------------------------------------------------------------------------------------
# Reading and checking the files
# ---------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SNIPPET = re.compile(r"\{tc_(\w+)\}")
_NAME = re.compile(r"[a-z]([a-z_]*[a-z])?")  # a list may not end in a digit: {name2} is a second draw of {name}
_FILLED_BY_FRAME = {"cmd", "code", "wd", "home"}
_TEMPLATE_FIELDS = {"toolchains", "text", "cmd", "code", "frames"}
_FRAME_FIELDS = {"prefix", "head", "tail", "workdir", "home"}


def _read(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=_Loader)  # noqa: S506 (a safe loader)
    except OSError as err:
        raise TemplateError("%s: cannot read: %s" % (path, err.strerror)) from None
    except yaml.YAMLError as err:
        raise TemplateError("%s: not valid YAML: %s" % (path, err)) from None


def _text(value: Any, where: str) -> str:
    """A text from the files: leading and trailing newlines dropped (``|`` blocks end in one)."""
    if not isinstance(value, str):
        raise TemplateError("%s: expected text, got %r" % (where, value))
    return value.strip("\n")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise TemplateError("%s: expected a non-empty list, got %r" % (where, value))
    for v in value:
        if not isinstance(v, str):
            hint = " (quote it: YAML reads it as a %s)" % type(v).__name__ if isinstance(v, (int, float, bool)) else ""
            raise TemplateError("%s: entry %r is not text%s" % (where, v, hint))
    return tuple(value)


def _check_placeholders(text: str, where: str, gens: dict[str, Gen], snippets: dict[str, dict[str, str]]) -> None:
    protected = text.replace("{{", "\x00").replace("}}", "\x01")
    for key in _PLACEHOLDER.findall(protected):
        if key.startswith("tc_"):
            if key[3:] not in snippets:
                raise TemplateError("%s: unknown snippet {%s} (snippets.yaml has %s)" % (where, key, ", ".join(snippets)))
        elif key not in gens and base(key) not in gens and key not in _FILLED_BY_FRAME:
            raise TemplateError("%s: unknown placeholder {%s} (not a list in words.yaml nor drawn by code)" % (where, key))
    if "{" in (stray := _PLACEHOLDER.sub("", protected)) or "}" in stray:
        raise TemplateError("%s: a brace outside a {placeholder}; write {{ or }} for a literal one" % where)


def _load_words(path: Path) -> Words:
    data = _read(path)
    if not isinstance(data, dict):
        raise TemplateError("%s: expected a mapping of list names to lists" % path)
    words: Words = {}
    for name, entries in data.items():
        where = "%s, list %r" % (path, name)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise TemplateError("%s: a list name is lower-case letters and underscores, not ending in one" % where)
        if isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries):
            fields = list(entries[0])
            for i, record in enumerate(entries, 1):
                if list(record) != fields:
                    raise TemplateError("%s, record %d: fields %s, expected %s like the first" % (where, i, list(record), fields))
                _strings(list(record.values()), "%s, record %d" % (where, i))
            words[name] = tuple(entries)
        else:
            words[name] = _strings(entries, where)
    for name, entries in words.items():
        for entry in entries:
            for ref in _PLACEHOLDER.findall(entry) if isinstance(entry, str) else ():
                if ref not in words or isinstance(words[ref][0], dict) or any("{" in e for e in words[ref]):
                    raise TemplateError("%s, list %r: {%s} is not a plain list of words" % (path, name, ref))
    return words


def _load_snippets(path: Path, gens: dict[str, Gen]) -> dict[str, dict[str, str]]:
    data = _read(path)
    if not isinstance(data, dict):
        raise TemplateError("%s: expected a mapping of snippet names to texts" % path)
    snippets: dict[str, dict[str, str]] = {}
    for name, value in data.items():
        where = "%s, snippet %r" % (path, name)
        if isinstance(value, dict):
            if set(value) != set(TOOLCHAINS):
                raise TemplateError("%s: one text per toolchain (%s), got %s" % (where, ", ".join(TOOLCHAINS), ", ".join(map(str, value))))
            snippets[name] = {tc: _text(value[tc], "%s, %s" % (where, tc)) for tc in TOOLCHAINS}
        else:
            text = _text(value, where)
            snippets[name] = dict.fromkeys(TOOLCHAINS, text)
    for name, by_toolchain in snippets.items():
        for tc, text in by_toolchain.items():
            _check_placeholders(text, "%s, snippet %r (%s)" % (path, name, tc), gens, snippets)
    return snippets


def _load_frames(
    path: Path, gens: dict[str, Gen], snippets: dict[str, dict[str, str]]
) -> tuple[dict[str, _Frame], tuple[str, ...], tuple[str, ...]]:
    """The frames by name, and the default frames of templates with and without a command."""
    data = _read(path)
    if not isinstance(data, dict) or set(data) != {"frames", "with_cmd", "without_cmd"}:
        raise TemplateError("%s: expected the keys frames, with_cmd and without_cmd" % path)
    if not isinstance(data["frames"], dict):
        raise TemplateError("%s, frames: expected a mapping of frame names to frames" % path)
    frames: dict[str, _Frame] = {}
    for name, spec in data["frames"].items():
        where = "%s, frame %r" % (path, name)
        if not isinstance(spec, dict):
            raise TemplateError("%s: expected a mapping with %s" % (where, ", ".join(sorted(_FRAME_FIELDS))))
        if unknown := sorted(set(spec) - _FRAME_FIELDS):
            raise TemplateError("%s: unknown field %s (known: %s)" % (where, ", ".join(unknown), ", ".join(sorted(_FRAME_FIELDS))))
        for field in ("workdir", "home"):
            if field not in spec:
                raise TemplateError("%s: field %r is missing" % (where, field))
        frame = _Frame(
            prefix=_text(spec["prefix"], where + ", field 'prefix'") if "prefix" in spec else "",
            head=_strings(spec["head"], where + ", field 'head'") if "head" in spec else (),
            tail=_strings(spec["tail"], where + ", field 'tail'") if "tail" in spec else (),
            workdir=_text(spec["workdir"], where + ", field 'workdir'"),
            home=_text(spec["home"], where + ", field 'home'"),
        )
        for field, value in zip(_Frame._fields, frame):
            for text in (value,) if isinstance(value, str) else value:
                _check_placeholders(text, "%s, field %r" % (where, field), gens, snippets)
        frames[name] = frame
    defaults = [_frame_names(data[key], "%s, %s" % (path, key), frames) for key in ("with_cmd", "without_cmd")]
    return frames, defaults[0], defaults[1]


def _frame_names(value: Any, where: str, frames: dict[str, _Frame]) -> tuple[str, ...]:
    names = _strings(value, where)
    for name in names:
        if name not in frames:
            raise TemplateError("%s: unknown frame %r (frames.yaml has %s)" % (where, name, ", ".join(frames)))
    return names


def _load_templates(folder: Path, gens, snippets, frames, with_cmd, without_cmd) -> dict[str, tuple[Path, list[_Template]]]:
    """category -> (its file, its templates), in the order of ``FAILURES``."""
    files = {p.stem: p for p in folder.glob("*.yaml")}
    if extra := sorted(set(files) - set(FAILURES)):
        raise TemplateError("%s: not a failure category; expected one of %s" % (files[extra[0]], ", ".join(FAILURES)))
    out = {}
    for category in FAILURES:
        path = folder / ("%s.yaml" % category)
        if category not in files:
            raise TemplateError("%s: missing; every failure category needs templates" % path)
        data = _read(path)
        if not isinstance(data, list) or not data:
            raise TemplateError("%s: expected a non-empty list of templates" % path)
        templates = [_template(spec, "%s, template %d" % (path, i), gens, snippets, frames, with_cmd, without_cmd)
                     for i, spec in enumerate(data, 1)]
        for toolchain in TOOLCHAINS:
            if not any(toolchain in t.toolchains for t in templates):
                raise TemplateError("%s: no template for toolchain %r" % (path, toolchain))
        out[category] = (path, templates)
    return out


def _template(spec: Any, where: str, gens, snippets, frames, with_cmd, without_cmd) -> _Template:
    if not isinstance(spec, dict):
        raise TemplateError("%s: expected a mapping with fields %s" % (where, ", ".join(sorted(_TEMPLATE_FIELDS))))
    if unknown := sorted(set(spec) - _TEMPLATE_FIELDS):
        raise TemplateError("%s: unknown field %s (known: %s)" % (where, ", ".join(unknown), ", ".join(sorted(_TEMPLATE_FIELDS))))
    for field in ("toolchains", "text"):
        if field not in spec:
            raise TemplateError("%s: field %r is missing" % (where, field))
    toolchains = _strings(spec["toolchains"], where + ", field 'toolchains'")
    for tc in toolchains:
        if tc not in TOOLCHAINS:
            raise TemplateError("%s, field 'toolchains': unknown toolchain %r (known: %s)" % (where, tc, ", ".join(TOOLCHAINS)))
    text = _text(spec["text"], where + ", field 'text'")
    cmd = _text(spec["cmd"], where + ", field 'cmd'") if "cmd" in spec else ""
    code = spec.get("code", 1)
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code <= 255:
        raise TemplateError("%s, field 'code': expected an exit code 0-255, got %r" % (where, code))
    for field, value in (("text", text), ("cmd", cmd)):
        _check_placeholders(value, "%s, field %r" % (where, field), gens, snippets)
    if "frames" in spec:
        names = _frame_names(spec["frames"], where + ", field 'frames'", frames)
    else:
        names = with_cmd if cmd else without_cmd
    return _Template(toolchains, text, cmd, str(code), names)


# ---------------------------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------------------------

_MAX_SNIPPET_DEPTH = 5


def _expand(t: _Template, toolchain: str, frame: _Frame, snippets: dict[str, dict[str, str]], where: str) -> str:
    text = "\n".join((*frame.head, t.text, *frame.tail))
    text = text.replace("{cmd}", t.cmd).replace("{code}", t.code)
    for _ in range(_MAX_SNIPPET_DEPTH + 1):  # snippets may themselves contain snippets
        text, n = _SNIPPET.subn(lambda m: snippets[m.group(1)][toolchain], text)
        if not n:
            break
    else:
        raise TemplateError("%s: snippets nest more than %d deep (one contains itself?)" % (where, _MAX_SNIPPET_DEPTH))
    text = text.replace("{wd}", frame.workdir).replace("{home}", frame.home)
    prefix = frame.prefix
    return "\n".join(prefix + ln if ln else prefix.rstrip() for ln in text.split("\n"))


def _parse(text: str, gens: dict[str, Gen], where: str) -> Variant:
    """Split at the ``{key}`` placeholders; values drawn afresh at every occurrence get a name
    of their own (``gts#3``). Slots are in order of appearance, which is the order of the draws,
    so that the clock runs forwards down the log."""
    # ``{{`` and ``}}`` stand for literal braces; protect them from the placeholder regex.
    pieces = _PLACEHOLDER.split(text.replace("{{", "\x00").replace("}}", "\x01"))
    lits: list[str] = []
    slots: list[Slot] = []
    fills: list[str] = []
    seen: set[str] = set()
    for i in range(0, len(pieces), 2):
        lit = pieces[i]
        if "{" in lit or "}" in lit:
            raise TemplateError("%s: a brace outside a {placeholder} in %r" % (where, lit))
        lits.append(lit.replace("\x00", "{").replace("\x01", "}"))
        if i + 1 < len(pieces):
            key = pieces[i + 1]
            try:
                gen = lookup(gens, key)
            except KeyError:
                raise TemplateError("%s: unknown placeholder {%s}" % (where, key)) from None
            if base(key) in FRESH:
                key = "%s#%d" % (key, len(slots))
            if key not in seen:
                seen.add(key)
                slots.append((key, gen))
            fills.append(key)
    fills.append("")
    return tuple(lits), _batch_stamps(slots), tuple(fills)


def _batch_stamps(slots: list[Slot]) -> tuple[Slot, ...]:
    """Merge each run of line timestamps that no other clocked value interrupts into one slot.
    Unclocked values do not care when they are drawn, so they may move before the run."""
    out: list[Slot] = []
    run: list[str] = []
    kind = ""

    def flush() -> None:
        if run:
            out.append((run[0], line_stamps(tuple(run), kind == "gts")))
            run.clear()

    for key, gen in slots:
        key_base = base(key.split("#", 1)[0])
        if key_base in ("gts", "clk"):
            if key_base != kind:
                flush()
            kind = key_base
            run.append(key)
        else:
            if key_base in CLOCKED:
                flush()
            out.append((key, gen))
    flush()
    return tuple(out)
