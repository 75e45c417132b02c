"""Reading logs: :func:`normalise` turns a raw CI log into the short text retrieval works on, and
:func:`redact` removes secrets before a log is stored, logged or sent anywhere.

``normalise`` strips ANSI escapes, CI markers and timestamps; masks what only identifies one
run (hex ids, UUIDs, digests, long numbers, IPs, the directories of long paths and URLs) while
keeping file basenames, hosts, short numbers such as exit codes and HTTP statuses, and every
error word; and collapses whitespace. A long log is cut down to its error lines (error, fail,
exception, fatal, killed, denied, timeout, ...) with a little context, strongest first, within
``max_chars`` (about 1,000 characters: what a 256-word-piece model such as MiniLM can see), so
the embedding sees the error and not the progress bars. The cost is linear in the log: only the
lines that can be kept are normalised; a 10,000-line (1.2 MB) log takes ~0.1 s, mostly spent
finding the error words (`make bench`: normalise_ms).
"""

from __future__ import annotations

import re
from bisect import bisect_right

# --------------------------------------------------------------------------- redaction

REDACTED = "[REDACTED]"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_TOKENS = re.compile(
    r"\b(?:"
    r"gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub classic/OAuth/user/server/refresh tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"  # GitHub fine-grained tokens
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab personal access tokens
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack tokens
    r"|npm_[A-Za-z0-9]{30,}"  # npm tokens
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}"  # AWS access key ids
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API keys
    r"|sk-[A-Za-z0-9_\-]{20,}"  # OpenAI-style secret keys
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+"  # JWTs
    r")"
)
# Authorization headers: keep the scheme, drop the credential.
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*[\"']?)(?:(bearer|basic|token|digest|negotiate)\s+)?[^\s\"',;]+"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}")
# key=value / key: value for secret-looking keys (password=..., token: ..., "client_secret": "...").
_SECRET_KEY = (
    r"[A-Za-z0-9_.\-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key"
    r"|credentials?|auth[_\-]?key|client[_\-]?secret)[A-Za-z0-9_.\-]*"
)
_SECRET_WORD = (
    r"(?:passw(?:or)?d|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key"
    r"|credentials?|auth[_\-]?key)"
)
# Starts at the secret word itself (a [\w.-]* prefix before it made this 10x slower); the part of
# the key before the word (DB_ in DB_PASSWORD) is left as it is.
_KEY_VALUE = re.compile(
    rf"(?i)({_SECRET_WORD}[A-Za-z0-9_.\-]*[\"']?\s*(?:=|:)\s*)(?!\[REDACTED\])(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&}}\])]+)"
)
_CLI_SECRET = re.compile(
    rf"(?i)((?:^|\s)--?{_SECRET_KEY}(?:=|\s+))(?!-)(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)"
)
_LOGIN_P = re.compile(r"(?i)(\blogin\b[^\n]*?\s-p\s+)(?!-)\S+")
# scheme://user:password@host and scheme://<long token>@host
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)(?:[^\s/@:]*:[^\s/@]+|[A-Za-z0-9_\-]{20,})@")
# Webhook URLs carry their secret in the path.
_WEBHOOK = re.compile(
    r"(?i)(https?://(?:hooks\.slack\.com/services|discord(?:app)?\.com/api/webhooks|outlook\.office\.com/webhook)/)\S+"
)


_SECRET_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "credential")
# Each pattern with lower-case substrings that every one of its matches contains (see _sub_lines).
REDACTIONS: tuple[tuple[re.Pattern, object, tuple[str, ...]], ...] = (
    (_URL_USERINFO, rf"\1{REDACTED}@", ("@",)),
    (_WEBHOOK, rf"\1{REDACTED}", ("hook",)),
    (_TOKENS, REDACTED, ("gh", "glpat-", "xox", "npm_", "akia", "asia", "agpa", "aida", "aroa", "anpa", "aiza", "sk-", "eyj")),
    (_AUTH_HEADER, lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{REDACTED}", ("authorization",)),
    (_BEARER, rf"\1{REDACTED}", ("bearer",)),
    (_KEY_VALUE, rf"\1{REDACTED}", _SECRET_TRIGGERS),
    (_CLI_SECRET, rf"\1{REDACTED}", _SECRET_TRIGGERS),
    (_LOGIN_P, rf"\1{REDACTED}", ("login",)),
)


def _sub_lines(pattern: re.Pattern, replacement, text: str, triggers: tuple[str, ...]) -> str:
    """``pattern.sub(replacement, text)``, run only on the lines that contain one of ``triggers``
    and the line after each (a value may follow its key on the next line). Finding the triggers
    with ``str.find`` costs a fraction of running the patterns over a whole log (5 ms on 200 lines)."""
    low = text.lower()
    spans = []
    for trigger in triggers:
        pos = low.find(trigger)
        while pos != -1:
            end = text.find("\n", pos)
            end = -1 if end == -1 else text.find("\n", end + 1)
            end = len(text) if end == -1 else end
            spans.append((text.rfind("\n", 0, pos) + 1, end))
            pos = low.find(trigger, end)
    if not spans:
        return text
    spans.sort()
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, done = [], 0
    for start, end in merged:
        out += [text[done:start], pattern.sub(replacement, text[start:end])]
        done = end
    out.append(text[done:])
    return "".join(out)


def redact(text: str) -> str:
    """Replace secrets with ``[REDACTED]``: private key blocks; GitHub (``ghp_``, ``gho_``,
    ``github_pat_``...), GitLab, Slack, npm, AWS (``AKIA...``) and Google keys, JWTs;
    ``Authorization:`` / ``Bearer`` credentials; values of secret-looking keys (``password=``,
    ``token:``, ``"client_secret": "..."``, ``--password x``, ``-p x``); ``user:pass@`` in URLs
    and webhook URL paths. Errs on the side of removing too much."""
    if not text:
        return text
    if "private key" in text.lower():
        text = _PRIVATE_KEY.sub(REDACTED, text)
    for pattern, replacement, triggers in REDACTIONS:
        text = _sub_lines(pattern, replacement, text, triggers)
    return text


# --------------------------------------------------------------------------- normalisation

# ANSI CSI/OSC sequences and lone escapes; carriage-return progress rewrites keep the last frame.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# GitHub Actions / Azure markers: "##[error]" -> "error", "::error file=..::" -> "error"
_CI_MARKER = re.compile(r"##\[(\w+)\]|^::(\w+)[^:]*::", re.MULTILINE)
_TIMESTAMP = re.compile(
    r"\[?\b\d{4}-\d{2}-\d{2}[T _]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?Z|\s?[+-]\d{2}:?\d{2}|\s?UTC)?\]?"
    r"|\[?\b\d{4}[/.]\d{2}[/.]\d{2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\]?"
    r"|\[?\b\d{1,2}/(?:\w{3}|\d{2})/\d{4}[: ]\d{2}:\d{2}:\d{2}(?:\s?[+-]\d{4})?\]?"
    r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+(?=\w{3}\s+\d)"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}(?:\s+\d{4})?"
    r"|\[?\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s?[AP]M)?\]?"
    r"|\b\d{10}(?:\.\d+)?(?=\s)"  # unix epoch seconds at the start of a field
    r"|\bts=\S+"
)
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_DIGEST = re.compile(r"\b(sha(?:1|256|512)|md5):[0-9a-fA-F]{16,}\b")
_HEX0X = re.compile(r"\b0x[0-9a-fA-F]{4,}\b")
# hex ids (git shas, container/pod ids): 7+ hex chars with at least one digit and one letter a-f.
_HEXID = re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b")
_POD_SUFFIX = re.compile(r"\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*?)-[a-f0-9]{8,10}-[a-z0-9]{5}\b")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_LONGNUM = re.compile(r"(?<![\w.])\d{5,}(?:\.\d+)?\b")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d{3,}\b")  # measurements such as 1893.21: keep the magnitude
_URL = re.compile(r"\b([a-z][a-z0-9+.\-]*://)([^/\s\"'<>)\]]+)((?:/[^\s\"'<>)\]]*)?)")
# Unix paths with at least 3 components (a leading ./ ../ ~/ or / is optional).
_PATH = re.compile(r"(?<![\w/.:\-])((?:~|\.{1,2})?/?(?:[\w.@+\-]+/){2,}([\w.@+\-]*[\w@+\-]))")
_WINPATH = re.compile(r"\b[A-Za-z]:\\(?:[^\\\s\"'<>|:*?]+\\)+([^\\\s\"'<>|:*?]+)")
_DIVIDER = re.compile(r"([=\-_*#~.+^])\1{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")

# Error lines, strongest evidence first; a weak line is kept only when room is left.
_ERROR_STRONG = re.compile(
    r"(?i)(?-i:[A-Z][a-z]\w*(?:Error|Exception)\b)|\b(?:error|err!|errno|(?-i:E[A-Z]{3,}\b)|exception|traceback|fatal|panic|failed|failure|fail|cannot|"
    r"can't|could ?not|unable|denied|forbidden|unauthori[sz]ed|refused|reset|timed? ?out|timeout|deadline|"
    r"killed|oom\w*|out of memory|no space|not found|no such|missing|invalid|unknown|undefined|unresolved|"
    r"conflict|incompatible|mismatch|expired|rate.?limit|too ?many|segmentation|sigsegv|sigkill|core dumped|"
    r"abort\w*|crash\w*|back-?off|unhealthy|not ready|insufficient|exceeded|exhausted|violat\w*|rejected|"
    r"unreachable|unavailable|exit (?:code|status) [1-9]\d*|exited with|terminated|cancel\w*|"
    r"does(?:n'?t| not) exist|not (?:supported|allowed|permitted)|unsupported|stuck|pending|restart(?:s|ing)|"
    r"crashes|dies|died|broke|broken|refus\w*|won'?t|did(?:n'?t| not)|never|stopped|is down|are down|"
    r"not (?:ready|running|reachable|available|responding)|unused|"
    r"\b[45]\d\d (?:client|server|error)|(?:status|code|http/[\d.]+\"?|returned|response)[:= ]+\"?(?:4[0-2]\d|5[0-4]\d)\b)"
)
# Lower-case substrings, at least one of which every _ERROR_STRONG alternative contains: found
# with str.find over the whole log (fast C search), so the big regex only runs on lines that can
# match (45 us a line otherwise: half a second for a 10,000-line log).
_TRIGGERS = (
    "err", "exception", "traceback", "fatal", "panic", "fail", "cannot", "can't", "could", "unable",
    "denied", "forbidden", "unauthori", "refus", "reset", "timed", "timeout", "time out", "deadline",
    "kill", "oom", "memory", "space", "not found", "no such", "missing", "invalid", "unknown", "undefined",
    "unresolved", "conflict", "incompatible", "mismatch", "expired", "limit", "many", "segmentation",
    "sigsegv", "dump", "abort", "crash", "backoff", "back-off", "unhealthy", "ready", "insufficient",
    "exceeded", "exhausted", "violat", "rejected", "unreachable", "unavailable", "exit", "terminated",
    "cancel", "exist", "support", "allowed", "permitted", "stuck", "pending", "restart", "die", "broke",
    "won", "did", "never", "stopped", " down", "running", "reachable", "available", "responding",
    "unused", "client", "server", "status", "code", "http/", "returned", "response",
    # npm/libuv error codes
    "enoent", "eacces", "eperm", "enospc", "econn", "eaddr", "enotfound", "eai_", "eresolve", "etarget",
    "eintegrity", "elifecycle", "ebusy", "emfile", "erofs", "epipe", "e40", "e50",
)
# Generic last lines that say a step failed but not why.
_BOILERPLATE = re.compile(
    r"(?i)(process completed with exit code|complete log of this run|for more information|re-?run|"
    r"--stacktrace|--info|--debug|--scan|get more help|build failed with an exception|"
    r"npm err! a complete log|see .* for details|cleaning up|finished: failure|job failed|"
    r"(?:^|\]\s)\[help \d\])"  # Maven's "[ERROR] [Help 1] http://..." line, not an error line ending in "-> [Help 1]"
)
# a line that is only a level marker ("[ERROR]", "npm ERR!") says nothing about what failed
_MARKER_ONLY = re.compile(r"(?i)^\W*(?:npm )?(?:error|err!?|fatal|failed|failure)\W*$")
# The words that say by themselves that something failed, also inside names (OutOfMemoryError):
# first_error_line shows the first line with one. The wider vocabulary above (could not,
# pending, limit, ...) marks the lines worth keeping for retrieval, but picks a cause's
# consequence as often as the cause when one line must do.
_FAILURE_CORE = re.compile(r"(?i)error|exception|fail|fatal|killed|timed? ?out|denied|no space|toomanyrequests|cancel")
_STACK_FRAME = re.compile(r"^\s*(?:at\s+[\w$.<>]+\(|File \"|\d+:\s+0x|#\d+\s+0x|\.\.\. \d+ more)")

DEFAULT_MAX_CHARS = 1000  # ~256 word pieces of log text for MiniLM
CONTEXT_BEFORE = 2
CONTEXT_AFTER = 1


def _mask_url(m: re.Match) -> str:
    scheme, host, path = m.group(1), m.group(2), m.group(3)
    host = host.rsplit("@", 1)[-1]  # userinfo never helps matching
    last = path.rstrip("/").rsplit("/", 1)[-1] if path.strip("/") else ""
    last = last.split("?", 1)[0]
    return f"{scheme}{host}/{last}" if last and path.count("/") > 1 else f"{scheme}{host}{path.split('?', 1)[0]}"


def _mask_path(m: re.Match) -> str:
    full, base = m.group(1), m.group(2)
    # Short system paths (/var/run/docker.sock, /etc/resolv.conf) are meaningful: keep them.
    if full.count("/") <= 3 and full.startswith("/") and len(full) <= 40:
        return full
    return base


def normalise_line(line: str) -> str:
    """Normalise one line (ANSI codes are assumed already gone)."""
    line = _CI_MARKER.sub(lambda m: (m.group(1) or m.group(2)) + " ", line)
    line = _TIMESTAMP.sub(" ", line)
    line = _URL.sub(_mask_url, line)
    line = _UUID.sub("<id>", line)
    line = _DIGEST.sub(r"\1:<hex>", line)
    line = _HEX0X.sub("<hex>", line)
    line = _POD_SUFFIX.sub(r"\1-<id>", line)
    line = _WINPATH.sub(lambda m: m.group(1), line)
    line = _PATH.sub(_mask_path, line)
    line = _HEXID.sub("<hex>", line)
    line = _IPV4.sub("<ip>", line)
    line = _DECIMAL.sub("<num>", line)
    line = _LONGNUM.sub("<num>", line)
    line = _DIVIDER.sub(r"\1\1\1", line)
    return _SPACES.sub(" ", line).strip()


def _raw_lines(text: str) -> list[str]:
    text = _ANSI.sub("", text)
    lines = []
    for line in text.split("\n"):
        if "\r" in line:  # progress bars: keep what the terminal finally showed
            parts = [p for p in line.split("\r") if p.strip()]
            line = parts[-1] if parts else ""
        lines.append(_CONTROL.sub("", line))
    return lines


def _weight(line: str) -> int:
    """2: a line saying what went wrong; 1: a generic failure line; 0: anything else."""
    if not _ERROR_STRONG.search(line):
        return 0
    if _BOILERPLATE.search(line) or _STACK_FRAME.match(line) or _MARKER_ONLY.match(line):
        return 1
    return 2


def _candidates(lines: list[str]) -> set[int]:
    """Indices of the lines containing any trigger substring (a superset of the error lines)."""
    low = "\n".join(lines).lower()
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    found: set[int] = set()
    for trigger in _TRIGGERS:
        pos = low.find(trigger)
        while pos != -1:
            i = bisect_right(starts, pos) - 1
            found.add(i)
            pos = low.find(trigger, starts[i + 1])  # the rest of this line cannot add anything
    return found


def error_lines(lines: list[str], max_chars: int) -> list[int]:
    """Indices of the lines to keep from a long log: error lines with context, strongest and
    earliest first (the first error is usually the cause, later ones its consequences), until
    ``max_chars`` of (raw) text is used; returned in log order."""
    weights = {i: _weight(lines[i]) for i in _candidates(lines) if len(lines[i]) < 2000}
    order = sorted((i for i, w in weights.items() if w), key=lambda i: (-weights[i], i))
    if not order:  # no error words at all: the end of a log is where a failure shows
        order = list(range(max(0, len(lines) - 8), len(lines)))
    keep: set[int] = set()
    used = 0
    for i in order:
        window = [j for j in range(max(0, i - CONTEXT_BEFORE), min(len(lines), i + CONTEXT_AFTER + 1)) if j not in keep]
        # the error line itself first, its context only while it fits
        window.sort(key=lambda j: (j != i, abs(j - i)))
        for j in window:
            cost = min(len(lines[j]), 300) + 1
            if j != i and not lines[j].strip():
                continue
            if used + cost > max_chars * 1.6 and keep:  # raw text shrinks ~1/3 when normalised
                break
            keep.add(j)
            used += cost
        if used >= max_chars * 1.6:
            break
    return sorted(keep)


def normalise(text: str, max_chars: int | None = DEFAULT_MAX_CHARS) -> str:
    """Normalise a log (or any query text) for retrieval; see the module docstring.

    ``max_chars=None`` keeps every line (used for the knowledge-base documents)."""
    if not text:
        return ""
    lines = _raw_lines(text)
    total = sum(len(line) + 1 for line in lines)
    if max_chars is not None and total > max_chars * 1.6:
        lines = [lines[i] for i in error_lines(lines, max_chars)]
    out: list[str] = []
    for line in lines:
        norm = normalise_line(line[:2000])
        if norm and (not out or norm != out[-1]) and any(c.isalnum() for c in norm):
            out.append(norm)
    result = "\n".join(out)
    if max_chars is not None and len(result) > max_chars:
        result = _cut(out, max_chars)
    return result


def _cut(lines: list[str], max_chars: int) -> str:
    """Fit normalised lines into ``max_chars``: error lines first, then the rest in order."""
    ranked = sorted(range(len(lines)), key=lambda i: (-_weight(lines[i]), i))
    keep: set[int] = set()
    used = 0
    for i in ranked:
        line = lines[i]
        if used + len(line) + 1 > max_chars:
            if not keep:  # a single huge line: keep its head
                keep.add(i)
                lines = list(lines)
                lines[i] = line[:max_chars]
            continue
        keep.add(i)
        used += len(line) + 1
    return "\n".join(lines[i] for i in sorted(keep))


def focus_errors(normalised: str, max_chars: int) -> str:
    """The lines of a normalised log that say what went wrong (not generic "exit code 1" or
    stack frames), in order, within ``max_chars``; the whole text cut to size if there are none."""
    lines = normalised.split("\n")
    strong = [line for line in lines if _weight(line) == 2]
    if not strong:
        return _cut(lines, max_chars)
    out: list[str] = []
    used = 0
    for line in strong:
        if out and used + len(line) > max_chars:
            break
        out.append(line[:max_chars])
        used += len(line) + 1
    return "\n".join(out)


def has_failure_words(text: str) -> bool:
    """Whether any line says something failed (the error vocabulary used to pick log lines)."""
    return bool(_ERROR_STRONG.search(text))



def first_error_line(text: str) -> str:
    """The one line of a log to show someone: the first line with a failure word (error,
    exception, fail, fatal, killed, timeout, denied, no space, cancel; also inside names such as
    OutOfMemoryError) that is not a generic one ("Build failed with an exception", a stack
    frame), else the first generic failure line, else the last line. ANSI codes and surrounding
    spaces are removed; "" for an empty log. Not redacted: call :func:`redact` first when the
    log may hold secrets."""
    lines = [line.strip() for line in _raw_lines(text or "") if line.strip()]
    generic = None
    for line in lines:
        if _FAILURE_CORE.search(line):
            if _weight(line) != 1:
                return line
            generic = generic or line
    return generic or (lines[-1] if lines else "")
