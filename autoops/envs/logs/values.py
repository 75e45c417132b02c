"""How the values in a log are drawn: one generator per placeholder name, each a function of
the render context (the caller's rng, the values this log already has, a running clock).
The word lists come from ``words.yaml``; this module only says how to draw from them.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable
from typing import Any



class Ctx:
    """Per-call state: the caller's rng, the generator table, values already drawn, and a running clock."""

    __slots__ = ("rng", "r", "gens", "vals", "t", "t0", "date", "sec", "head", "clock")

    def __init__(self, rng: random.Random, gens: dict[str, Gen]):
        self.rng = rng
        self.r = rng.random
        self.gens = gens
        self.vals: dict[str, str] = {"": ""}  # "" fills the slot after a variant's last literal
        self.t = -1.0
        self.t0 = 0.0
        self.date = ""
        self.sec = -1  # the whole second that ``head`` and ``clock`` were formatted for
        self.head = ""
        self.clock = ""

    def get(self, key: str) -> str:
        v = self.vals.get(key)
        if v is None:
            v = self.vals[key] = lookup(self.gens, key)(self)
        return v


Gen = Callable[[Ctx], str]


def _choice(seq: tuple[str, ...]) -> Gen:
    n = len(seq)

    def gen(c: Ctx) -> str:
        return seq[int(c.r() * n)]

    return gen


def _int(lo: int, hi: int) -> Gen:
    span = hi - lo + 1

    def gen(c: Ctx) -> str:
        return str(lo + int(c.r() * span))

    return gen


def _float(lo: float, hi: float, fmt: str = "%.2f") -> Gen:
    def gen(c: Ctx) -> str:
        return fmt % (lo + c.r() * (hi - lo))

    return gen


def _hex(nbits: int) -> Gen:
    fmt = "%0" + str(nbits // 4) + "x"

    def gen(c: Ctx) -> str:
        return fmt % c.rng.getrandbits(nbits)

    return gen


def _tick(c: Ctx, step: float) -> float:
    if c.t < 0.0:
        r = c.r
        c.t = c.t0 = 21600.0 + r() * 46800.0  # a start between 06:00 and 19:00, so that jumps rarely wrap
        c.date = "%d-%02d-%02d" % (2025 + int(r() * 2), 1 + int(r() * 12), 1 + int(r() * 28))
    c.t += step
    return c.t


def _hms(t: float) -> tuple[int, int, int]:
    h, rem = divmod(int(t) % 86400, 3600)
    m, s = divmod(rem, 60)
    return h, m, s


# Line timestamps are the hottest code here (one per log line), and string formatting is what
# costs: two-digit fields and the 7-digit fraction (to 1/4096 s, low digits scrambled so that
# they do not look stepped) come from tables, and the whole-second part is rebuilt only when
# the second changes.
_TWO = tuple("%02d" % i for i in range(100))
_FRAC_STEPS = 4096
_FRAC = tuple("%07dZ" % (k * 10_000_000 // _FRAC_STEPS + k * 7919 % 2441) for k in range(_FRAC_STEPS))


def _new_second(c: Ctx, i: int) -> None:
    c.sec = i
    c.clock = _TWO[i // 3600 % 24] + ":" + _TWO[i // 60 % 60] + ":" + _TWO[i % 60]
    c.head = c.date + "T" + c.clock + "."


def line_stamps(keys: tuple[str, ...], iso: bool) -> Gen:
    """One generator for a run of line-prefix timestamps, ISO 8601 as GitHub Actions prints
    them or ``HH:MM:SS``; a loop here is much cheaper than a call per line."""
    first = keys[0]

    def gen(c: Ctx) -> str:
        r = c.r
        vals = c.vals
        t = c.t
        if t < 0.0:
            t = _tick(c, 0.0)
        sec = c.sec
        text = c.head if iso else c.clock
        for key in keys:
            x = r()
            x *= x * x
            # Mostly bursts of lines a fraction of a millisecond apart, now and then a pause.
            t += 0.0003 + x * x * x * x * 2.0
            i = int(t)
            if i != sec:
                _new_second(c, i)
                sec = i
                text = c.head if iso else c.clock
            vals[key] = text + _FRAC[int((t - i) * _FRAC_STEPS)] if iso else text
        c.t = t
        return vals[first]

    return gen


# Single stamps, for completeness; templates get them batched (``catalog._batch_stamps``).
_gts = line_stamps(("#gts",), True)
_clk = line_stamps(("#clk",), False)


def _hms_ms(c: Ctx) -> str:
    t = _tick(c, 0.001 + c.r() * 0.2)
    h, m, s = _hms(t)
    return "%02d:%02d:%02d.%03d" % (h, m, s, int((t - int(t)) * 1000))


def _jump(c: Ctx) -> str:
    _tick(c, 4.0 + c.r() * 80.0)
    return ""


def _bigjump(c: Ctx) -> str:
    _tick(c, 180.0 + c.r() * 1500.0)
    return ""


def _timeoutjump(c: Ctx) -> str:
    _tick(c, float(c.get("maxmin")) * 60.0 * (0.85 + c.r() * 0.1))
    return ""


def _date(c: Ctx) -> str:
    _tick(c, 0.0)
    return c.date


def _date_compact(c: Ctx) -> str:
    return _date(c).replace("-", "")


def _npm_log(c: Ctx) -> str:
    t = _tick(c, 0.01)
    h, m, s = _hms(t)
    return "%sT%02d_%02d_%02d_%03dZ" % (c.date, h, m, s, int((t - int(t)) * 1000))


def _gdur(c: Ctx) -> str:
    # The excerpt starts some way into the build.
    s = 20 + int(c.r() * 600) + (int(c.t - c.t0) if c.t >= 0.0 else int(c.r() * 300))
    return "%dm %ds" % divmod(s, 60) if s >= 60 else "%ds" % s


def _nact(c: Ctx) -> str:
    return str(int(c.get("nexec")) + int(c.get("nupd")))


def _jpkg_path(c: Ctx) -> str:
    return c.get("jpkg").replace(".", "/")


def _jdk_dir(c: Ctx) -> str:
    return c.get("jdk").replace("+", "-")


def _jdk_major(c: Ctx) -> str:
    return c.get("jdk").split(".", 1)[0]


def _mvn_ga(c: Ctx) -> str:
    return c.get("mvn").rsplit(":", 1)[0]


def _mvn_v(c: Ctx) -> str:
    return c.get("mvn").rsplit(":", 1)[1]


def _mvn_file(c: Ctx) -> str:
    _g, a, v = c.get("mvn").split(":")
    return "%s-%s.%s" % (a, v, "jar" if c.r() < 0.6 else "pom")


def _mvn_url(c: Ctx) -> str:
    g, a, v = c.get("mvn").split(":")
    return "https://repo.maven.apache.org/maven2/%s/%s/%s/%s" % (g.replace(".", "/"), a, v, c.get("mvn_file"))


def _semver(c: Ctx) -> str:
    r = c.r
    return "%d.%d.%d" % (1 + int(r() * 6), int(r() * 20), int(r() * 15))


def _old_semver(c: Ctx) -> str:
    r = c.r
    return "%d.%d.%d" % (int(r() * 2), 1 + int(r() * 12), int(r() * 9))


def _npmerr(c: Ctx) -> str:
    # npm 10.8 renamed its error prefix; logs from both eras are common.
    return "npm ERR!" if c.r() < 0.6 else "npm error"


def _node_major(c: Ctx) -> str:
    return c.get("node_ver").split(".", 1)[0]


def _jest_file(c: Ctx) -> str:
    d = c.get("desc")
    if d[0].islower():
        return "src/lib/%s.test.ts" % d
    return "src/components/%s/%s.test.tsx" % (d, d)


def _pymm(c: Ctx) -> str:
    return c.get("pyver").rsplit(".", 1)[0]


def _pyabi(c: Ctx) -> str:
    return c.get("pymm").replace(".", "")


def _pyconf_name(c: Ctx) -> str:
    return c.get("pyconf_pin").split("==", 1)[0]


def _ntotal(c: Ctx) -> str:
    return str(int(c.get("npass")) + 1)


def _line_next(c: Ctx) -> str:
    return str(int(c.get("line")) + 1)


def _nsuites_total(c: Ctx) -> str:
    return str(int(c.get("nsuites")) + 1)


def _cnt_actual(c: Ctx) -> str:
    return str(int(c.get("cnt_expected")) - 1 - int(c.r() * 2))


def _date_next(c: Ctx) -> str:
    y, m, d = _date(c).split("-")
    return "%s-%s-%02d" % (y, m, int(d) + 1)


def _hms_of_secs(c: Ctx) -> str:
    s = int(float(c.get("secs")))
    h, rem = divmod(s, 3600)
    return "%d:%02d:%02d" % (h, rem // 60, rem % 60)


def _secs(c: Ctx) -> str:
    elapsed = c.t - c.t0 if c.t >= 0.0 else 0.0
    return "%.2f" % (90.0 + c.r() ** 2 * 1500.0 + elapsed)


def _svc(c: Ctx) -> str:
    return c.get("svc_image").split(":", 1)[0]


def _img_path(c: Ctx) -> str:
    name, tag = c.get("image").split(":", 1)
    if "/" not in name:
        name = "library/" + name
    return "%s/manifests/%s" % (name, tag)


def _img_name(c: Ctx) -> str:
    name = c.get("image").split(":", 1)[0]
    return name if "/" in name else "library/" + name


def _img_tag(c: Ctx) -> str:
    return c.get("image").split(":", 1)[1]


def _svc_tag(c: Ctx) -> str:
    return c.get("svc_image").split(":", 1)[1]


def _guid(c: Ctx) -> str:
    h = "%032x" % c.rng.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def _b64(c: Ctx) -> str:
    return base64.b64encode(c.rng.getrandbits(512).to_bytes(64, "big")).decode()


def _gl_runner(c: Ctx) -> str:
    r = c.r
    return "runner-%s-project-%d-concurrent-%d" % (c.get("hex_s"), 1000 + int(r() * 60000), int(r() * 4))


def _gl_dur(c: Ctx) -> str:
    h, m = divmod(int(c.get("maxmin")), 60)
    return "%dh%dm0s" % (h, m)


def _v8_gc(c: Ctx) -> str:
    r = c.r
    ms = c.vals.get("_gcms")
    ms = float(ms) + 400 + r() * 3000 if ms else 40000.0 + r() * 400000.0
    c.vals["_gcms"] = "%.0f" % ms
    limit = float(c.get("heap_mb"))
    before = limit - r() * 40
    after = before - r() * 25
    return "%8.0f ms: Mark-Compact %.1f (%.1f) -> %.1f (%.1f) MB, %.2f / 0.00 ms  (average mu = %.3f, current mu = %.3f) allocation failure; scavenge might not succeed" % (
        ms, before, before + 60 + r() * 40, after, after + 60 + r() * 40, 800 + r() * 2400, 0.05 + r() * 0.3, r() * 0.05)


def _addr(c: Ctx) -> str:
    return "0x%x" % (0xA00000 + c.rng.getrandbits(22))


def _shape_field(i: int) -> Gen:
    def gen(c: Ctx) -> str:
        r = c.r
        a = c.vals.get("_sha")
        if a is None:
            rows = (50000, 100000, 250000, 120000, 80000)[int(r() * 5)]
            cols = (2048, 4096, 10000, 8192, 16384)[int(r() * 5)]
            c.vals["_sha"] = a = "%d %d %.2f" % (rows, cols, rows * cols * 8 / 2**30)
        return a.split()[i]

    return gen


def _bytes_big(c: Ctx) -> str:
    return str(400_000_000 + c.rng.getrandbits(31))


def _stepm(c: Ctx) -> str:
    return str(int(c.get("stepn")) + int(c.r() * 3))


def _dsteps(c: Ctx) -> str:
    return str(int(c.get("dstep")) + 1 + int(c.r() * 6))


def _runner_gha(c: Ctx) -> str:
    return "GitHub Actions %d" % (1 + int(c.r() * 40))


def _pyaddr(c: Ctx) -> str:
    return "0x7f%010x" % c.rng.getrandbits(40)


def _thread_id(c: Ctx) -> str:
    return "0x00007f%010x" % c.rng.getrandbits(40)


def _thread_ident(c: Ctx) -> str:
    return str(139_600_000_000_000 + c.rng.getrandbits(40))


def _to_hms(c: Ctx) -> str:
    m, s = divmod(int(c.get("to_s")), 60)
    return "%d:%02d:%02d" % (m // 60, m % 60, s)


def _py_big_name(c: Ctx) -> str:
    return c.get("py_big").split("-", 1)[0].replace("_", "-")


def _recv(c: Ctx) -> str:
    return str(int(c.get("bytes_big")) * int(c.get("pct")) // 100)


def _ip(prefix: str) -> Gen:
    def gen(c: Ctx) -> str:
        return "%s.%d.%d" % (prefix, int(c.r() * 255), 1 + int(c.r() * 254))

    return gen


# Generators that read a word list of their own, besides the one-entry-per-draw lists.

Words = dict[str, Any]  # list name -> tuple of strings, or tuple of records (str -> str)
_REF = re.compile(r"\{(\w+)\}")


def _jtest(suffixes: tuple[str, ...]) -> Gen:
    def gen(c: Ctx) -> str:
        return c.get("jclass") + suffixes[int(c.r() * len(suffixes))]

    return gen


def _desc(components: tuple[str, ...], hooks: tuple[str, ...]) -> Gen:
    def gen(c: Ctx) -> str:
        r = c.r
        if r() < 0.6:
            return components[int(r() * len(components))]
        return hooks[int(r() * len(hooks))]

    return gen


def _ts_loc(files: tuple[str, ...]) -> Gen:
    def gen(c: Ctx) -> str:
        r = c.r
        return "%s(%d,%d)" % (files[int(r() * len(files))], 3 + int(r() * 300), 1 + int(r() * 40))

    return gen


def _runner_self(pools: tuple[str, ...]) -> Gen:
    def gen(c: Ctx) -> str:
        return "%s-%s" % (pools[int(c.r() * len(pools))], c.get("hex_s")[:5])

    return gen


def _phrase(entries: tuple[str, ...], words: Words) -> Gen:
    """One entry, its ``{list}`` references each replaced by a fresh draw from that list."""
    parsed = []
    for entry in entries:
        pieces = _REF.split(entry)
        parsed.append((pieces[0], tuple((tuple(words[ref]), lit) for ref, lit in zip(pieces[1::2], pieces[2::2]))))
    n = len(parsed)

    def gen(c: Ctx) -> str:
        r = c.r
        head, refs = parsed[int(r() * n)]
        return head + "".join(choices[int(r() * len(choices))] + lit for choices, lit in refs)

    return gen


def _field(records: tuple[dict[str, str], ...], name: str, field: str) -> Gen:
    """A field of the record that ``{name}`` drew, so that one log's fields agree."""

    def gen(c: Ctx) -> str:
        return records[int(c.get(name))][field]

    return gen


def word_generators(words: Words) -> dict[str, Gen]:
    """``{name}`` draws an entry of the list ``name``; for a list of records it draws a record's
    index and ``{name_field}`` reads that record's field."""
    gens: dict[str, Gen] = {}
    for name, entries in words.items():
        if isinstance(entries[0], dict):
            gens[name] = _int(0, len(entries) - 1)
            for field in entries[0]:
                gens["%s_%s" % (name, field)] = _field(entries, name, field)
        elif any(_REF.search(e) for e in entries):
            gens[name] = _phrase(entries, words)
        else:
            gens[name] = _choice(entries)
    return gens


def computed_generators(words: Words) -> dict[str, Gen]:
    """Numbers, times, ids and values derived from other values. Raises ``KeyError`` naming a
    word list that one of them needs and ``words`` lacks."""
    return {
        # time
        "gts": _gts, "clk": _clk, "hms_ms": _hms_ms, "jump": _jump, "bigjump": _bigjump,
        "timeoutjump": _timeoutjump, "date": _date, "date_next": _date_next, "date_compact": _date_compact,
        "npm_log": _npm_log, "gdur": _gdur, "secs": _secs, "hms": _hms_of_secs, "ms": _int(120, 9800),
        "jest_secs": _float(0.8, 45.0, "%.3f"), "suite_secs": _float(12.0, 400.0, "%.3f"),
        "gl_dur": _gl_dur, "backoff": _float(1.0, 9.9, "%.3f"),
        # generic numbers and ids
        "pid": _int(1200, 64000), "port": _int(32768, 60999), "line": _int(12, 480), "line_next": _line_next,
        "col": _int(5, 60), "small": _int(1, 8), "cnt_expected": _int(3, 8), "cnt_actual": _cnt_actual,
        "cnt_short": _int(1, 2), "npass": _int(60, 1800), "ntotal": _ntotal, "nskip": _int(0, 14),
        "nsuites": _int(12, 160), "nsuites_total": _nsuites_total, "nexec": _int(3, 60), "nupd": _int(0, 90),
        "nact": _nact, "pct": _int(11, 97), "mb": _int(120, 980), "kb": _int(12, 9000),
        "gib_free": _float(0.0, 0.4, "%.1f"), "stepn": _int(1, 3), "stepm": _stepm, "dstep": _int(3, 7),
        "dsteps": _dsteps, "job_id": _int(10_000_000_000, 29_000_000_000), "build_no": _int(120, 9800),
        "pr": _int(40, 4200), "attempt": _int(1, 3),
        "sha": _hex(256), "hex_m": _hex(128), "hex_id": _hex(48), "hex_s": _hex(32), "git_sha": _hex(28),
        "guid": _guid, "pyaddr": _pyaddr, "thread_id": _thread_id, "thread_ident": _thread_ident, "recv": _recv,
        "b64": _b64, "addr": _addr, "v8addr": _hex(28), "bytes_big": _bytes_big,
        # gradle / JVM
        "jpkg_path": _jpkg_path, "jtest": _jtest(words["jtest_suffix"]), "mvn_ga": _mvn_ga, "mvn_v": _mvn_v,
        "mvn_file": _mvn_file, "mvn_url": _mvn_url, "jdk_dir": _jdk_dir, "jdk_major": _jdk_major,
        "executor": _int(1, 6), "semver": _semver, "old_semver": _old_semver,
        # npm
        "npmerr": _npmerr, "node_major": _node_major, "desc": _desc(words["comp"], words["hook"]),
        "jest_file": _jest_file, "ts_loc": _ts_loc(words["ts_file"]), "v8_gc": _v8_gc,
        # python
        "pymm": _pymm, "pyabi": _pyabi, "py_big_name": _py_big_name, "to_hms": _to_hms, "pyconf_name": _pyconf_name,
        "shape_a": _shape_field(0), "shape_b": _shape_field(1), "gib": _shape_field(2),
        # docker and CI
        "img_path": _img_path, "img_name": _img_name, "img_tag": _img_tag, "svc": _svc, "svc_tag": _svc_tag,
        "runner_gha": _runner_gha, "runner_self": _runner_self(words["runner_pool"]), "gl_runner": _gl_runner,
        "ip_npm": _ip("104.16"), "ip_fastly": _ip("151.101"), "ip_maven": _ip("146.75"), "ip_docker": _ip("54.227"),
    }


# Drawn afresh at every occurrence (the others keep one value per log).
FRESH = frozenset({"gts", "clk", "hms_ms", "jump", "bigjump", "timeoutjump", "npm_log", "ts_err", "ts_loc", "addr", "v8_gc"})
# Read or advance the clock, so must be drawn in the order they appear in the log.
CLOCKED = frozenset({"gts", "clk", "hms_ms", "jump", "bigjump", "timeoutjump", "npm_log", "date", "date_next",
                     "date_compact", "gdur", "secs", "hms"})


def lookup(gens: dict[str, Gen], key: str) -> Gen:
    """``pkg2`` is a second, independent draw from the generator of ``pkg``."""
    gen = gens.get(key)
    if gen is None:
        gen = gens[base(key)]
    return gen


def base(key: str) -> str:
    return key.rstrip("0123456789").rstrip("_")
