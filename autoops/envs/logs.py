"""Realistic CI error-log excerpts for the failed builds of AutoOps' build simulator: given the
failure category and the project's toolchain (a Gradle JVM monorepo, an npm web app or a Python
library), ``render_log`` prints what the CI job would have shown, in the style of GitHub Actions,
GitLab CI, Jenkins or TeamCity, with names, versions, digests, timings and paths drawn from the
caller's ``random.Random`` so that agents reading the logs see varied but category-faithful text.
Templates are compiled at import, so that a call only draws its values and joins the pieces.
"""

from __future__ import annotations

import base64
import random
import re
import textwrap
from collections.abc import Callable
from itertools import chain

from autoops.envs.categories import FAILURES, TOOLCHAINS

__all__ = ["CATEGORIES", "TOOLCHAINS", "render_log"]

CATEGORIES = FAILURES  # every failure the simulator produces has templates


# ---------------------------------------------------------------------------------------------
# Word lists
# ---------------------------------------------------------------------------------------------

_REPOS = (
    "atlas-platform", "storefront", "ledger", "orbit", "harbor", "tidewater", "quartz-api",
    "lumen", "beacon", "fieldnotes", "mosaic", "switchyard", "parcel-hub", "kiln",
)
_ORGS = ("acme", "northwind", "bluefin-labs", "octo-systems", "kestrel-io", "paperplane", "fernway")
_BRANCHES = ("main", "develop", "release/2.4", "feature/batch-export", "fix/retry-jitter", "renovate/all-minor")

_GMODS = (
    "core", "app", "api", "service", "common", "payments", "billing-service", "search",
    "data-access", "web", "notifications", "auth", "reporting", "gateway", "ingest",
)
_JPKGS = (
    "com.acme.billing", "com.acme.orders", "io.orbit.gateway", "org.northwind.search",
    "com.kestrel.ledger", "io.harbor.auth", "com.paperplane.notify", "dev.quartz.reporting",
)
_JCLASSES = (
    "InvoiceService", "OrderRepository", "RetryPolicy", "SessionCache", "EventPublisher",
    "RateLimiter", "LedgerEntryMapper", "PaymentGatewayClient", "SearchIndexer", "TokenValidator",
    "ReportScheduler", "AccountController", "ShipmentTracker", "PriceCalculator", "AuditLogWriter",
    "WebhookDispatcher", "BatchImporter", "OutboxRelay",
)
_JTEST_SUFFIXES = ("Test", "Test", "IT", "IntegrationTest", "Tests")
_JMETHODS = (
    "shouldRetryOnTimeout", "publishesEventsInOrder", "expiresSessionAfterTtl",
    "processesConcurrentUpdates", "returnsCachedValueOnSecondCall", "handlesDuplicateWebhook",
    "calculatesTotalWithDiscount", "rejectsExpiredToken", "schedulesNightlyReport",
    "reconnectsAfterBrokerRestart", "updatesBalanceAtomically", "streamsResultsInBatches",
    "acquiresLockWithinDeadline", "emitsMetricsOnShutdown", "drainsOutboxAfterCommit",
)
_JIMPL = (
    "loadAll", "buildIndex", "flushBatch", "resolveAccounts", "mergeSnapshots", "collectEvents",
    "materialize", "readChunk", "applyCredit", "recompute", "dispatchPending",
)
_JFIELDS = ("ledger", "repository", "clock", "publisher", "client", "cache", "mapper", "scheduler")
_JSYMBOLS = (
    "applyCredit(BigDecimal)", "findByExternalId(String)", "withRetry(Duration)",
    "toEntity(OrderDto)", "publishAsync(Event)", "expireAt(Instant)", "nextRunAfter(ZonedDateTime)",
)
_KT_PROPS = ("totalAmount", "createdAt", "retryCount", "externalId", "isActive", "lineItems", "currency")
_MVN = (
    "com.fasterxml.jackson.core:jackson-databind:2.15.3",
    "com.fasterxml.jackson.module:jackson-module-kotlin:2.16.1",
    "org.springframework.boot:spring-boot-starter-web:3.2.2",
    "org.springframework:spring-context:6.1.3",
    "io.netty:netty-handler:4.1.104.Final",
    "com.google.guava:guava:33.0.0-jre",
    "org.jetbrains.kotlinx:kotlinx-coroutines-core:1.7.3",
    "org.slf4j:slf4j-api:2.0.11",
    "ch.qos.logback:logback-classic:1.4.14",
    "io.grpc:grpc-netty-shaded:1.61.0",
    "com.squareup.okhttp3:okhttp:4.12.0",
    "org.postgresql:postgresql:42.7.1",
    "org.testcontainers:postgresql:1.19.4",
    "io.micrometer:micrometer-core:1.12.2",
    "org.apache.kafka:kafka-clients:3.6.1",
    "com.google.protobuf:protobuf-java:3.25.2",
    "org.jetbrains.kotlinx:kotlinx-serialization-json:1.6.2",
    "io.ktor:ktor-client-core:2.3.7",
)
_GRADLE_VERS = ("8.4", "8.5", "8.6", "8.7", "8.8", "8.10.2", "8.11.1")
_JDKS = ("17.0.10+7", "17.0.11+9", "21.0.2+13", "21.0.4+7", "17.0.9+9", "11.0.22+7")
_KOTLIN_VERS = ("1.9.22", "1.9.23", "1.9.24", "2.0.0", "2.0.21", "1.8.22")

_NPM_PKGS = (
    "react", "react-dom", "webpack", "typescript", "eslint", "jest", "@testing-library/react",
    "axios", "lodash", "next", "vite", "@babel/core", "ts-jest", "eslint-plugin-react-hooks",
    "@typescript-eslint/eslint-plugin", "esbuild", "sass", "postcss", "styled-components",
    "react-router-dom", "@reduxjs/toolkit", "date-fns", "zod", "webpack-cli", "@storybook/react",
    "msw", "@tanstack/react-query", "core-js",
)
# (package with the peer range, its version, peer name, peer range, version the root has,
#  a version that would satisfy the range)
_NPM_PEERS = (
    ("react-beautiful-dnd", "13.1.1", "react", "^16.8.5 || ^17.0.0", "18.2.0", "17.0.2"),
    ("@testing-library/react-hooks", "8.0.1", "react", ">=16.9.0 <18.0.0", "18.3.1", "17.0.2"),
    ("eslint-config-airbnb", "19.0.4", "eslint", "^7.32.0 || ^8.2.0", "9.4.0", "8.57.0"),
    ("@typescript-eslint/eslint-plugin", "6.21.0", "@typescript-eslint/parser", "^6.0.0", "7.13.1", "6.21.0"),
    ("ts-jest", "28.0.8", "jest", "^28.0.0", "29.7.0", "28.1.3"),
    ("react-quill", "1.3.5", "react", "^16 || ^17", "18.2.0", "17.0.2"),
    ("@storybook/addon-essentials", "7.6.17", "@storybook/react", "7.6.17", "8.1.5", "7.6.17"),
    ("eslint-plugin-react-hooks", "4.6.2", "eslint", "^3.0.0 || ^4.0.0 || ^5.0.0 || ^6.0.0 || ^7.0.0 || ^8.0.0-0", "9.6.0", "8.57.0"),
)
_NEXT_VERS = ("13.5.6", "14.1.4", "14.2.3", "14.2.15", "15.0.3")
_VITE_VERS = ("4.5.2", "5.0.12", "5.1.6", "5.2.11", "5.4.10")
_WEBPACK_VERS = ("5.89.0", "5.90.3", "5.91.0", "5.92.1", "5.94.0")
_NODE_VERS = ("18.19.1", "20.11.1", "20.12.2", "20.15.0", "22.3.0", "22.11.0")
_NPM_CLI_VERS = ("9.8.1", "10.2.4", "10.5.0", "10.7.0", "10.8.2")
_COMPONENTS = (
    "CartSummary", "CheckoutForm", "NotificationBell", "SearchBar", "OrderHistory", "UserMenu",
    "ProductGrid", "InvoiceTable", "DateRangePicker", "UploadDropzone",
)
_HOOKS = ("useSession", "usePolling", "useDebouncedValue", "useFeatureFlag", "apiClient", "formatPrice", "queryCache")
_IT_NAMES = (
    "renders discount after coupon applied", "refreshes token before expiry",
    "retries failed request once", "debounces search input", "shows toast after save",
    "polls until job completes", "sorts orders by date", "restores focus after closing",
    "keeps selection when list reloads", "shows relative time for recent items",
)
_TS_FILES = (
    "src/api/client.ts", "src/hooks/useSession.ts", "src/utils/formatPrice.ts",
    "src/store/cartSlice.ts", "src/pages/checkout.tsx", "src/components/OrderHistory.tsx",
    "src/components/SearchBar.tsx", "src/lib/featureFlags.ts", "src/routes/index.tsx",
)
_TS_PROPS = ("totalCents", "createdAt", "userId", "items", "isLoading", "refetch", "currency", "meta")
_TS_TYPES = ("Order", "CartState", "Session", "ApiResponse<Invoice>", "UserProfile", "Props", "SearchResult")
_TS_MODULES = ("@/lib/analytics", "./CartItem", "../hooks/usePolling", "date-fns/locale", "@acme/ui-kit")
_TS_NAMES = ("formatCurrency", "assertNever", "process", "JSX", "trackEvent", "OrderStatus")

_PY_LIBS = ("tidepool", "quillkit", "ferrylib", "gridwatch", "parcelpy", "lanternml", "sluice", "mapleleaf")
_PY_MODS = ("scheduler", "client", "io", "cache", "retry", "models", "parser", "transport", "storage", "cli", "store")
_PY_FUNCS = (
    "retry_backoff_respects_deadline", "concurrent_writers_do_not_lose_updates",
    "cache_expires_after_ttl", "stream_closes_on_cancel", "parse_handles_unicode",
    "client_reconnects_after_reset", "scheduler_runs_jobs_in_order", "lock_released_on_error",
    "timestamps_are_monotonic", "upload_resumes_after_interrupt", "pool_shrinks_when_idle",
    "export_roundtrip_large_frame", "watcher_sees_new_files",
)
_PY_PKGS = (
    "numpy", "pandas", "requests", "urllib3", "pydantic", "sqlalchemy", "boto3", "botocore",
    "cryptography", "grpcio", "protobuf", "scipy", "pyarrow", "lxml", "aiohttp", "httpx",
    "pytest-asyncio", "orjson", "matplotlib", "scikit-learn",
)
# Wheels big enough that a slow mirror times out on them.
_PY_BIG = (
    "torch-2.2.1-cp311-cp311-manylinux1_x86_64.whl", "pyarrow-15.0.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    "scipy-1.12.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "nvidia_cudnn_cu12-8.9.2.26-py3-none-manylinux1_x86_64.whl",
    "tensorflow-2.15.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
)
# (what the user pins, the package that disagrees, its version, what it needs)
_PY_CONFLICTS = (
    ("pydantic==1.10.13", "fastapi", "0.110.0", "pydantic!=1.8,!=1.8.1,<3.0.0,>=2.0"),
    ("urllib3==2.2.1", "botocore", "1.34.40", "urllib3<2.1,>=1.25.4"),
    ("numpy==2.0.0", "pandas", "2.1.4", "numpy<2,>=1.23.2"),
    ("protobuf==5.26.1", "grpcio-tools", "1.60.1", "protobuf<5.0dev,>=4.21.6"),
    ("sqlalchemy==1.4.52", "alembic", "1.13.1", "SQLAlchemy>=2.0.0"),
    ("requests==2.25.1", "docker", "7.0.0", "requests>=2.26.0"),
    ("packaging==21.3", "black", "24.2.0", "packaging>=22.0"),
)
_PY_VERS = ("3.10.13", "3.11.8", "3.11.9", "3.12.2", "3.12.4", "3.9.19")
_PYTEST_VERS = ("7.4.4", "8.0.2", "8.1.1", "8.2.2", "8.3.3")
_PIP_VERS = ("23.3.2", "24.0", "24.1.2", "24.2")

# Docker Hub images (the ones that count against the anonymous pull limit).
_SVC_IMAGES = ("postgres:15-alpine", "postgres:16", "redis:7-alpine", "mysql:8.0", "rabbitmq:3.13-management", "mongo:7.0")
_IMAGES = (
    "node:20-bullseye", "python:3.11-slim", "gradle:8.5-jdk17", "eclipse-temurin:17-jdk",
    "docker:24-dind", "alpine:3.19", "ubuntu:22.04", "selenium/standalone-chrome:122.0",
    "localstack/localstack:3.2", "bitnami/kafka:3.6",
)
_RUNNER_VERS = ("2.311.0", "2.314.1", "2.316.1", "2.317.0", "2.319.1", "2.320.0")
_GLR_VERS = ("16.8.0", "16.11.1", "17.0.0", "17.2.1", "17.5.0")
_AGENTS = ("build-agent-03", "build-agent-07", "linux-large-2", "ci-worker-12", "jenkins-agent-k8s-5xq2b")
_MAXMIN = ("30", "45", "60", "60", "90", "120", "360")
_GIT_HOSTS = ("github.com", "gitlab.com")


# ---------------------------------------------------------------------------------------------
# Placeholder generators: each takes the render context and returns a string
# ---------------------------------------------------------------------------------------------


class _Ctx:
    """Per-call state: the caller's rng, values already drawn, and a running clock."""

    __slots__ = ("rng", "r", "vals", "t", "t0", "date", "sec", "head", "clock")

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.r = rng.random
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
            v = self.vals[key] = _lookup(key)(self)
        return v


Gen = Callable[[_Ctx], str]


def _choice(seq: tuple[str, ...]) -> Gen:
    n = len(seq)

    def gen(c: _Ctx) -> str:
        return seq[int(c.r() * n)]

    return gen


def _int(lo: int, hi: int) -> Gen:
    span = hi - lo + 1

    def gen(c: _Ctx) -> str:
        return str(lo + int(c.r() * span))

    return gen


def _float(lo: float, hi: float, fmt: str = "%.2f") -> Gen:
    def gen(c: _Ctx) -> str:
        return fmt % (lo + c.r() * (hi - lo))

    return gen


def _hex(nbits: int) -> Gen:
    fmt = "%0" + str(nbits // 4) + "x"

    def gen(c: _Ctx) -> str:
        return fmt % c.rng.getrandbits(nbits)

    return gen


def _tick(c: _Ctx, step: float) -> float:
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


def _new_second(c: _Ctx, i: int) -> None:
    c.sec = i
    c.clock = _TWO[i // 3600 % 24] + ":" + _TWO[i // 60 % 60] + ":" + _TWO[i % 60]
    c.head = c.date + "T" + c.clock + "."


def _line_stamps(keys: tuple[str, ...], iso: bool) -> Gen:
    """One generator for a run of line-prefix timestamps, ISO 8601 as GitHub Actions prints
    them or ``HH:MM:SS``; a loop here is much cheaper than a call per line."""
    first = keys[0]

    def gen(c: _Ctx) -> str:
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


# Single stamps, for completeness; templates get them batched by ``_batch_stamps``.
_gts = _line_stamps(("#gts",), True)
_clk = _line_stamps(("#clk",), False)


def _hms_ms(c: _Ctx) -> str:
    t = _tick(c, 0.001 + c.r() * 0.2)
    h, m, s = _hms(t)
    return "%02d:%02d:%02d.%03d" % (h, m, s, int((t - int(t)) * 1000))


def _jump(c: _Ctx) -> str:
    _tick(c, 4.0 + c.r() * 80.0)
    return ""


def _bigjump(c: _Ctx) -> str:
    _tick(c, 180.0 + c.r() * 1500.0)
    return ""


def _timeoutjump(c: _Ctx) -> str:
    _tick(c, float(c.get("maxmin")) * 60.0 * (0.85 + c.r() * 0.1))
    return ""


def _date(c: _Ctx) -> str:
    _tick(c, 0.0)
    return c.date


def _date_compact(c: _Ctx) -> str:
    return _date(c).replace("-", "")


def _npm_log(c: _Ctx) -> str:
    t = _tick(c, 0.01)
    h, m, s = _hms(t)
    return "%sT%02d_%02d_%02d_%03dZ" % (c.date, h, m, s, int((t - int(t)) * 1000))


def _gdur(c: _Ctx) -> str:
    # The excerpt starts some way into the build.
    s = 20 + int(c.r() * 600) + (int(c.t - c.t0) if c.t >= 0.0 else int(c.r() * 300))
    return "%dm %ds" % divmod(s, 60) if s >= 60 else "%ds" % s


def _nact(c: _Ctx) -> str:
    return str(int(c.get("nexec")) + int(c.get("nupd")))


def _jtest(c: _Ctx) -> str:
    return c.get("jclass") + _JTEST_SUFFIXES[int(c.r() * len(_JTEST_SUFFIXES))]


def _jpkg_path(c: _Ctx) -> str:
    return c.get("jpkg").replace(".", "/")


def _jdk_dir(c: _Ctx) -> str:
    return c.get("jdk").replace("+", "-")


def _jdk_major(c: _Ctx) -> str:
    return c.get("jdk").split(".", 1)[0]


def _mvn_ga(c: _Ctx) -> str:
    return c.get("mvn").rsplit(":", 1)[0]


def _mvn_v(c: _Ctx) -> str:
    return c.get("mvn").rsplit(":", 1)[1]


def _mvn_file(c: _Ctx) -> str:
    _g, a, v = c.get("mvn").split(":")
    return "%s-%s.%s" % (a, v, "jar" if c.r() < 0.6 else "pom")


def _mvn_url(c: _Ctx) -> str:
    g, a, v = c.get("mvn").split(":")
    return "https://repo.maven.apache.org/maven2/%s/%s/%s/%s" % (g.replace(".", "/"), a, v, c.get("mvn_file"))


def _semver(c: _Ctx) -> str:
    r = c.r
    return "%d.%d.%d" % (1 + int(r() * 6), int(r() * 20), int(r() * 15))


def _old_semver(c: _Ctx) -> str:
    r = c.r
    return "%d.%d.%d" % (int(r() * 2), 1 + int(r() * 12), int(r() * 9))


def _npmerr(c: _Ctx) -> str:
    # npm 10.8 renamed its error prefix; logs from both eras are common.
    return "npm ERR!" if c.r() < 0.6 else "npm error"


def _node_major(c: _Ctx) -> str:
    return c.get("node_ver").split(".", 1)[0]


def _peer_field(i: int) -> Gen:
    def gen(c: _Ctx) -> str:
        return _NPM_PEERS[int(c.get("peer"))][i]

    return gen


def _jest_file(c: _Ctx) -> str:
    d = c.get("desc")
    if d[0].islower():
        return "src/lib/%s.test.ts" % d
    return "src/components/%s/%s.test.tsx" % (d, d)


def _desc(c: _Ctx) -> str:
    r = c.r
    if r() < 0.6:
        return _COMPONENTS[int(r() * len(_COMPONENTS))]
    return _HOOKS[int(r() * len(_HOOKS))]


def _ts_err(c: _Ctx) -> str:
    r = c.r
    k = int(r() * 6)
    if k == 0:
        return "error TS2339: Property '%s' does not exist on type '%s'." % (
            _TS_PROPS[int(r() * len(_TS_PROPS))], _TS_TYPES[int(r() * len(_TS_TYPES))])
    if k == 1:
        return "error TS2322: Type 'string' is not assignable to type 'number'."
    if k == 2:
        return "error TS2345: Argument of type 'string | undefined' is not assignable to parameter of type 'string'."
    if k == 3:
        return "error TS2307: Cannot find module '%s' or its corresponding type declarations." % (
            _TS_MODULES[int(r() * len(_TS_MODULES))])
    if k == 4:
        return "error TS18048: '%s' is possibly 'undefined'." % _TS_PROPS[int(r() * len(_TS_PROPS))]
    return "error TS2304: Cannot find name '%s'." % _TS_NAMES[int(r() * len(_TS_NAMES))]


def _ts_loc(c: _Ctx) -> str:
    r = c.r
    return "%s(%d,%d)" % (_TS_FILES[int(r() * len(_TS_FILES))], 3 + int(r() * 300), 1 + int(r() * 40))


def _pymm(c: _Ctx) -> str:
    return c.get("pyver").rsplit(".", 1)[0]


def _pyabi(c: _Ctx) -> str:
    return c.get("pymm").replace(".", "")


def _pyconf_field(i: int) -> Gen:
    def gen(c: _Ctx) -> str:
        return _PY_CONFLICTS[int(c.get("pyconf"))][i]

    return gen


def _pyconf_name(c: _Ctx) -> str:
    return c.get("pyconf_pin").split("==", 1)[0]


def _ntotal(c: _Ctx) -> str:
    return str(int(c.get("npass")) + 1)


def _line_next(c: _Ctx) -> str:
    return str(int(c.get("line")) + 1)


def _nsuites_total(c: _Ctx) -> str:
    return str(int(c.get("nsuites")) + 1)


def _cnt_actual(c: _Ctx) -> str:
    return str(int(c.get("cnt_expected")) - 1 - int(c.r() * 2))


def _date_next(c: _Ctx) -> str:
    y, m, d = _date(c).split("-")
    return "%s-%s-%02d" % (y, m, int(d) + 1)


def _hms_of_secs(c: _Ctx) -> str:
    s = int(float(c.get("secs")))
    h, rem = divmod(s, 3600)
    return "%d:%02d:%02d" % (h, rem // 60, rem % 60)


def _secs(c: _Ctx) -> str:
    elapsed = c.t - c.t0 if c.t >= 0.0 else 0.0
    return "%.2f" % (90.0 + c.r() ** 2 * 1500.0 + elapsed)


def _svc(c: _Ctx) -> str:
    return c.get("svc_image").split(":", 1)[0]


def _img_path(c: _Ctx) -> str:
    name, tag = c.get("image").split(":", 1)
    if "/" not in name:
        name = "library/" + name
    return "%s/manifests/%s" % (name, tag)


def _img_name(c: _Ctx) -> str:
    name = c.get("image").split(":", 1)[0]
    return name if "/" in name else "library/" + name


def _img_tag(c: _Ctx) -> str:
    return c.get("image").split(":", 1)[1]


def _svc_tag(c: _Ctx) -> str:
    return c.get("svc_image").split(":", 1)[1]


def _guid(c: _Ctx) -> str:
    h = "%032x" % c.rng.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def _b64(c: _Ctx) -> str:
    return base64.b64encode(c.rng.getrandbits(512).to_bytes(64, "big")).decode()


def _gl_runner(c: _Ctx) -> str:
    r = c.r
    return "runner-%s-project-%d-concurrent-%d" % (c.get("hex_s"), 1000 + int(r() * 60000), int(r() * 4))


def _gl_dur(c: _Ctx) -> str:
    h, m = divmod(int(c.get("maxmin")), 60)
    return "%dh%dm0s" % (h, m)


def _heap_mb(c: _Ctx) -> str:
    return ("2048", "4096", "4096", "3072", "8192", "6144")[int(c.r() * 6)]


def _v8_gc(c: _Ctx) -> str:
    r = c.r
    ms = c.vals.get("_gcms")
    ms = float(ms) + 400 + r() * 3000 if ms else 40000.0 + r() * 400000.0
    c.vals["_gcms"] = "%.0f" % ms
    limit = float(c.get("heap_mb"))
    before = limit - r() * 40
    after = before - r() * 25
    return "%8.0f ms: Mark-Compact %.1f (%.1f) -> %.1f (%.1f) MB, %.2f / 0.00 ms  (average mu = %.3f, current mu = %.3f) allocation failure; scavenge might not succeed" % (
        ms, before, before + 60 + r() * 40, after, after + 60 + r() * 40, 800 + r() * 2400, 0.05 + r() * 0.3, r() * 0.05)


def _addr(c: _Ctx) -> str:
    return "0x%x" % (0xA00000 + c.rng.getrandbits(22))


def _shape_field(i: int) -> Gen:
    def gen(c: _Ctx) -> str:
        r = c.r
        a = c.vals.get("_sha")
        if a is None:
            rows = (50000, 100000, 250000, 120000, 80000)[int(r() * 5)]
            cols = (2048, 4096, 10000, 8192, 16384)[int(r() * 5)]
            c.vals["_sha"] = a = "%d %d %.2f" % (rows, cols, rows * cols * 8 / 2**30)
        return a.split()[i]

    return gen


def _bytes_big(c: _Ctx) -> str:
    return str(400_000_000 + c.rng.getrandbits(31))


def _stepm(c: _Ctx) -> str:
    return str(int(c.get("stepn")) + int(c.r() * 3))


def _dsteps(c: _Ctx) -> str:
    return str(int(c.get("dstep")) + 1 + int(c.r() * 6))


def _runner_gha(c: _Ctx) -> str:
    return "GitHub Actions %d" % (1 + int(c.r() * 40))


def _runner_self(c: _Ctx) -> str:
    return "%s-%s" % (("ci-linux-x64", "gh-runner-large", "runner-pool-b", "self-hosted-arm64")[int(c.r() * 4)], c.get("hex_s")[:5])


def _pyaddr(c: _Ctx) -> str:
    return "0x7f%010x" % c.rng.getrandbits(40)


def _thread_id(c: _Ctx) -> str:
    return "0x00007f%010x" % c.rng.getrandbits(40)


def _thread_ident(c: _Ctx) -> str:
    return str(139_600_000_000_000 + c.rng.getrandbits(40))


def _to_hms(c: _Ctx) -> str:
    m, s = divmod(int(c.get("to_s")), 60)
    return "%d:%02d:%02d" % (m // 60, m % 60, s)


def _py_big_name(c: _Ctx) -> str:
    return c.get("py_big").split("-", 1)[0].replace("_", "-")


def _recv(c: _Ctx) -> str:
    return str(int(c.get("bytes_big")) * int(c.get("pct")) // 100)


def _ip(prefix: str) -> Gen:
    def gen(c: _Ctx) -> str:
        return "%s.%d.%d" % (prefix, int(c.r() * 255), 1 + int(c.r() * 254))

    return gen


_GEN: dict[str, Gen] = {
    # time
    "gts": _gts, "clk": _clk, "hms_ms": _hms_ms, "jump": _jump, "bigjump": _bigjump,
    "timeoutjump": _timeoutjump, "date": _date, "date_next": _date_next, "date_compact": _date_compact, "npm_log": _npm_log,
    "gdur": _gdur, "secs": _secs, "hms": _hms_of_secs, "ms": _int(120, 9800),
    "jest_secs": _float(0.8, 45.0, "%.3f"), "suite_secs": _float(12.0, 400.0, "%.3f"),
    "maxmin": _choice(_MAXMIN), "gl_dur": _gl_dur, "backoff": _float(1.0, 9.9, "%.3f"),
    # generic numbers and ids
    "pid": _int(1200, 64000), "port": _int(32768, 60999), "line": _int(12, 480), "line_next": _line_next, "col": _int(5, 60),
    "small": _int(1, 8), "cnt_expected": _int(3, 8), "cnt_actual": _cnt_actual, "cnt_short": _int(1, 2), "npass": _int(60, 1800), "ntotal": _ntotal, "nskip": _int(0, 14),
    "nsuites": _int(12, 160), "nsuites_total": _nsuites_total, "nexec": _int(3, 60), "nupd": _int(0, 90), "nact": _nact,
    "pct": _int(11, 97), "mb": _int(120, 980), "kb": _int(12, 9000), "gib_free": _float(0.0, 0.4, "%.1f"),
    "stepn": _int(1, 3), "stepm": _stepm, "dstep": _int(3, 7), "dsteps": _dsteps, "job_id": _int(10_000_000_000, 29_000_000_000),
    "build_no": _int(120, 9800), "pr": _int(40, 4200), "attempt": _int(1, 3),
    "sha": _hex(256), "hex_m": _hex(128), "hex_id": _hex(48), "hex_s": _hex(32), "git_sha": _hex(28),
    "guid": _guid, "pyaddr": _pyaddr, "thread_id": _thread_id, "thread_ident": _thread_ident, "recv": _recv, "b64": _b64, "addr": _addr, "v8addr": _hex(28), "bytes_big": _bytes_big,
    # project
    "repo": _choice(_REPOS), "org": _choice(_ORGS), "branch": _choice(_BRANCHES),
    # gradle / JVM
    "gmod": _choice(_GMODS), "jpkg": _choice(_JPKGS), "jpkg_path": _jpkg_path, "jclass": _choice(_JCLASSES),
    "jtest": _jtest, "jmethod": _choice(_JMETHODS), "jimpl": _choice(_JIMPL), "jfield": _choice(_JFIELDS),
    "jsym": _choice(_JSYMBOLS), "ktprop": _choice(_KT_PROPS), "mvn": _choice(_MVN), "mvn_ga": _mvn_ga,
    "mvn_v": _mvn_v, "mvn_file": _mvn_file, "mvn_url": _mvn_url, "gradle_ver": _choice(_GRADLE_VERS),
    "jdk": _choice(_JDKS), "jdk_dir": _jdk_dir, "jdk_major": _jdk_major, "kotlin_ver": _choice(_KOTLIN_VERS),
    "executor": _int(1, 6), "semver": _semver, "old_semver": _old_semver,
    # npm
    "npmerr": _npmerr, "npm_pkg": _choice(_NPM_PKGS), "node_ver": _choice(_NODE_VERS), "node_major": _node_major,
    "npm_ver": _choice(_NPM_CLI_VERS), "next_ver": _choice(_NEXT_VERS),
    "vite_ver": _choice(_VITE_VERS), "webpack_ver": _choice(_WEBPACK_VERS), "peer": _int(0, len(_NPM_PEERS) - 1), "peer_host": _peer_field(0), "peer_host_ver": _peer_field(1),
    "peer_dep": _peer_field(2), "peer_range": _peer_field(3), "peer_found": _peer_field(4), "peer_ok": _peer_field(5),
    "desc": _desc, "it_name": _choice(_IT_NAMES), "jest_file": _jest_file, "comp": _choice(_COMPONENTS),
    "ts_file": _choice(_TS_FILES), "ts_err": _ts_err, "ts_loc": _ts_loc, "ts_prop": _choice(_TS_PROPS),
    "ts_type": _choice(_TS_TYPES), "heap_mb": _heap_mb, "v8_gc": _v8_gc,
    # python
    "pyver": _choice(_PY_VERS), "pymm": _pymm, "pyabi": _pyabi, "lib": _choice(_PY_LIBS),
    "pymod": _choice(_PY_MODS), "pyfunc": _choice(_PY_FUNCS), "pytest_ver": _choice(_PYTEST_VERS),
    "pip_ver": _choice(_PIP_VERS), "py_pkg": _choice(_PY_PKGS), "py_big": _choice(_PY_BIG), "py_big_name": _py_big_name,
    "to_s": _choice(("300", "600", "900", "1200")), "to_hms": _to_hms,
    "pyconf": _int(0, len(_PY_CONFLICTS) - 1), "pyconf_pin": _pyconf_field(0), "pyconf_dep": _pyconf_field(1),
    "pyconf_depver": _pyconf_field(2), "pyconf_req": _pyconf_field(3), "pyconf_name": _pyconf_name,
    "shape_a": _shape_field(0), "shape_b": _shape_field(1), "gib": _shape_field(2),
    # docker and CI
    "image": _choice(_IMAGES), "img_path": _img_path, "img_name": _img_name, "img_tag": _img_tag,
    "svc_image": _choice(_SVC_IMAGES), "svc": _svc, "svc_tag": _svc_tag,
    "runner_gha": _runner_gha, "runner_self": _runner_self, "gl_runner": _gl_runner,
    "agent": _choice(_AGENTS), "runner_ver": _choice(_RUNNER_VERS), "glr_ver": _choice(_GLR_VERS),
    "git_host": _choice(_GIT_HOSTS),
    "ip_npm": _ip("104.16"), "ip_fastly": _ip("151.101"), "ip_maven": _ip("146.75"), "ip_docker": _ip("54.227"),
}
# Drawn afresh at every occurrence (the others keep one value per log).
_NOCACHE = frozenset({"gts", "clk", "hms_ms", "jump", "bigjump", "timeoutjump", "npm_log", "ts_err", "ts_loc", "addr", "v8_gc"})
# Read or advance the clock, so must be drawn in the order they appear in the log.
_CLOCKED = frozenset({"gts", "clk", "hms_ms", "jump", "bigjump", "timeoutjump", "npm_log", "date", "date_next",
                      "date_compact", "gdur", "secs", "hms"})



def _lookup(key: str) -> Gen:
    """``pkg2`` is a second, independent draw from the generator of ``pkg``."""
    gen = _GEN.get(key)
    if gen is None:
        gen = _GEN[_base(key)]
    return gen


def _base(key: str) -> str:
    return key.rstrip("0123456789").rstrip("_")


# ---------------------------------------------------------------------------------------------
# CI frames: where the tool output ran, and how the CI system wraps it
# ---------------------------------------------------------------------------------------------

# name: (line prefix, head lines, tail lines, workspace dir, home dir)
_FRAMES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str, str]] = {
    "gha": ("{gts} ", ("##[group]Run {cmd}", "{cmd}", "##[endgroup]"),
            ("##[error]Process completed with exit code {code}.",), "/home/runner/work/{repo}/{repo}", "/home/runner"),
    "gha_env": ("{gts} ", ("##[group]Run {cmd}", "{cmd}", "{tc_gha_env}", "##[endgroup]"),
                ("##[error]Process completed with exit code {code}.",), "/home/runner/work/{repo}/{repo}", "/home/runner"),
    "gitlab": ("", ("$ {cmd}",), ("Cleaning up project directory and file based variables", "ERROR: Job failed: exit code {code}"),
               "/builds/{org}/{repo}", "/root"),
    "jenkins": ("", ("[Pipeline] sh", "+ {cmd}"), ("ERROR: script returned exit code {code}", "Finished: FAILURE"),
                "/var/lib/jenkins/workspace/{repo}_main", "/var/lib/jenkins"),
    "jenkins_clock": ("[{clk}] ", ("[Pipeline] sh", "+ {cmd}"), ("[Pipeline] End of Pipeline", "ERROR: script returned exit code {code}", "Finished: FAILURE"),
                      "/home/jenkins/agent/workspace/{repo}_PR-{pr}", "/home/jenkins"),
    "teamcity": ("[{clk}] ", ("Step {stepn}/{stepm}: {cmd} (Command Line)",), ("Process exited with code {code}",),
                 "/opt/buildagent/work/{hex_s}", "/home/buildagent"),
    # No wrapping: the template prints its own CI lines.
    "gha_bare": ("{gts} ", (), (), "/home/runner/work/{repo}/{repo}", "/home/runner"),
    "gha_plain": ("", (), (), "/home/runner/work/{repo}/{repo}", "/home/runner"),
    "gitlab_bare": ("", (), (), "/builds/{org}/{repo}", "/root"),
    "jenkins_bare": ("", (), (), "/var/lib/jenkins/workspace/{repo}_main", "/var/lib/jenkins"),
    "jenkins_clock_bare": ("[{clk}] ", (), (), "/home/jenkins/agent/workspace/{repo}_PR-{pr}", "/home/jenkins"),
    "plain": ("", (), (), "/home/ci/workspace/{repo}", "/home/ci"),
    "clock": ("[{clk}] ", (), (), "/opt/buildagent/work/{hex_s}", "/home/buildagent"),
}
_TOOL = ("gha", "gha_env", "gitlab", "jenkins", "jenkins_clock", "teamcity")
_ANY = ("gha_bare", "gha_plain", "gitlab_bare", "jenkins_bare", "jenkins_clock_bare", "plain", "clock")
_GHA = ("gha_bare", "gha_plain")
_GITLAB = ("gitlab_bare",)
_JENKINS = ("jenkins_bare", "jenkins_clock_bare")

# Toolchain-specific snippets, spliced into templates at import time as ``{tc_name}``.
_TC: dict[str, dict[str, str]] = {
    "gha_env": {
        "gradle": "env:\n  JAVA_HOME: /opt/hostedtoolcache/Java_Temurin-Hotspot_jdk/{jdk_dir}/x64",
        "npm": "env:\n  NODE_OPTIONS: --max-old-space-size={heap_mb}\n  CI: true",
        "python": "env:\n  pythonLocation: /opt/hostedtoolcache/Python/{pyver}/x64\n  LD_LIBRARY_PATH: /opt/hostedtoolcache/Python/{pyver}/x64/lib",
    },
    "cmd_build": {"gradle": "./gradlew build --no-daemon", "npm": "npm run build", "python": "python -m build"},
    "cmd_test": {"gradle": "./gradlew test --continue", "npm": "npm test -- --ci", "python": "python -m pytest -n auto"},
    "cmd_offline": {"gradle": "./gradlew build --offline", "npm": "npm ci --offline",
                    "python": "pip install --no-index --find-links {home}/.cache/wheelhouse ."},
    "cmd_disk": {"gradle": "./gradlew build --no-daemon", "npm": "npm ci", "python": "pip install -r requirements.txt"},
    "cmd_install": {"gradle": "./gradlew dependencies", "npm": "npm ci", "python": "pip install -r requirements-dev.txt"},
    "progress": {
        "gradle": "> Task :{gmod}:compileKotlin\n> Task :{gmod}:compileJava NO-SOURCE\n> Task :{gmod}:classes",
        "npm": "> {repo}@{semver} build\n> vite build\n\nvite v{vite_ver} building for production...\ntransforming...",
        "python": "* Creating isolated environment: venv+pip...\n* Installing packages in isolated environment:\n  - setuptools>=68\n* Getting build dependencies for sdist...",
    },
    "ci_image": {"gradle": "gradle:{gradle_ver}-jdk{jdk_major}", "npm": "node:{node_major}-bullseye", "python": "python:{pymm}-slim"},
    "ci_image_name": {"gradle": "gradle", "npm": "node", "python": "python"},
    "ci_image_tag": {"gradle": "{gradle_ver}-jdk{jdk_major}", "npm": "{node_major}-bullseye", "python": "{pymm}-slim"},
    "base_image": {"gradle": "eclipse-temurin:{jdk_major}-jre", "npm": "node:{node_major}-alpine", "python": "python:{pymm}-slim-bookworm"},
    "base_path": {"gradle": "eclipse-temurin/manifests/{jdk_major}-jre", "npm": "node/manifests/{node_major}-alpine",
                  "python": "python/manifests/{pymm}-slim-bookworm"},
    "dep_dir": {"gradle": "{home}/.gradle/caches", "npm": "{home}/.npm", "python": "{home}/.cache/pip"},
    "cache_key": {
        "gradle": "gradle-Linux-{sha}",
        "npm": "node-cache-Linux-x64-npm-{sha}",
        "python": "setup-python-Linux-x64-22.04-Ubuntu-python-{pyver}-pip-{sha}",
    },
    "cache_prefix": {"gradle": "gradle-Linux-", "npm": "node-cache-Linux-x64-npm-", "python": "setup-python-Linux-x64-22.04-Ubuntu-python-{pyver}-pip-"},
    # What the build step prints when the disk fills under it.
    "disk_err": {
        "gradle": "> Task :{gmod}:compileKotlin FAILED\ne: java.io.IOException: No space left on device\n\nFAILURE: Build failed with an exception.\n\n* What went wrong:\nExecution failed for task ':{gmod}:compileKotlin'.\n> java.io.IOException: No space left on device",
        "npm": "{npmerr} code ENOSPC\n{npmerr} syscall write\n{npmerr} errno -28\n{npmerr} nospc ENOSPC: no space left on device, write\n{npmerr} nospc There appears to be insufficient space on your system to finish.\n{npmerr} nospc Clear up some disk space and try again.",
        "python": "Collecting {py_big_name}\n  Downloading {py_big} ({mb}.{small} MB)\nInstalling collected packages: {py_pkg}, {py_big_name}\nERROR: Could not install packages due to an OSError: [Errno 28] No space left on device",
    },
    # What the next step prints when the dependency cache it relied on is not there.
    "offline_err": {
        "gradle": "> Task :{gmod}:compileKotlin FAILED\n\nFAILURE: Build failed with an exception.\n\n* What went wrong:\nExecution failed for task ':{gmod}:compileKotlin'.\n> Could not resolve all files for configuration ':{gmod}:compileClasspath'.\n   > Could not resolve {mvn}.\n      > No cached version of {mvn} available for offline mode.",
        "npm": "{npmerr} code ENOTCACHED\n{npmerr} request to https://registry.npmjs.org/{npm_pkg} failed: cache mode is 'only-if-cached' but no cached response is available.",
        "python": "Looking in links: {home}/.cache/wheelhouse\nProcessing ./dist/{lib}-{semver}.tar.gz\nERROR: Could not find a version that satisfies the requirement {py_pkg}>=1.4 (from {lib}) (from versions: none)\nERROR: No matching distribution found for {py_pkg}>=1.4",
    },
    "running_tests": {
        "gradle": "> Task :{gmod}:test\n\n{jtest} > {jmethod}() PASSED\n{jclass2}Test > {jmethod2}() PASSED",
        "npm": " PASS  src/lib/formatPrice.test.ts\n PASS  src/components/UserMenu/UserMenu.test.tsx (7.812 s)\n PASS  src/hooks/usePolling.test.ts",
        "python": "tests/test_{pymod}.py ...................................... [ {pct}%]\ntests/test_{pymod2}.py .........",
    },
}


# ---------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------

_ALL = TOOLCHAINS
_G, _N, _P = ("gradle",), ("npm",), ("python",)


class _T:
    __slots__ = ("toolchains", "body", "cmd", "code", "frames")

    def __init__(self, toolchains: tuple[str, ...], body: str, cmd: str | None = None,
                 code: str = "1", frames: tuple[str, ...] | None = None):
        self.toolchains = toolchains
        self.body = textwrap.dedent(body).strip("\n")
        self.cmd = cmd
        self.code = code
        self.frames = frames if frames is not None else (_TOOL if cmd else _ANY)


_GRADLE_FAIL_TAIL = """
        * Try:
        > Run with --stacktrace option to get the stack trace.
        > Run with --info or --debug option to get more log output.

        BUILD FAILED in {gdur}
        {nact} actionable tasks: {nexec} executed, {nupd} up-to-date"""

_TEMPLATES: dict[str, list[_T]] = {c: [] for c in CATEGORIES}


def _add(category: str, *templates: _T) -> None:
    _TEMPLATES[category].extend(templates)


# --- build_oom -------------------------------------------------------------------------------

_add(
    "build_oom",
    _T(_G, """
        > Task :{gmod}:compileJava UP-TO-DATE
        > Task :{gmod}:compileKotlin
        Expiring Daemon because JVM heap space is exhausted
        Daemon will be stopped at the end of the build after running out of JVM memory
        Expiring Daemon because JVM heap space is exhausted
        > Task :{gmod}:compileKotlin FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileKotlin'.
        > Java heap space

        BUILD FAILED in {gdur}
        """, cmd="./gradlew assemble --parallel"),
    _T(_G, """
        > Task :{gmod}:test
        java.lang.OutOfMemoryError: Java heap space
        Dumping heap to java_pid{pid}.hprof ...
        Heap dump file created [{bytes_big} bytes in {small}.{line} secs]

        {jtest} > {jmethod}() FAILED
            java.lang.OutOfMemoryError: Java heap space
                at java.base/java.util.Arrays.copyOf(Arrays.java:3537)
                at java.base/java.util.ArrayList.grow(ArrayList.java:237)
                at app//{jpkg}.{jclass}.{jimpl}({jclass}.kt:{line})

        {npass} tests completed, 1 failed
        > Task :{gmod}:test FAILED

        BUILD FAILED in {gdur}
        """, cmd="./gradlew :{gmod}:test"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() PASSED
        {jclass2}Test > {jmethod2}() PASSED
        > Task :{gmod}:test FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:test'.
        > Process 'Gradle Test Executor {executor}' finished with non-zero exit value 137
          This problem might be caused by incorrect test process configuration.
          For more on test execution, please refer to https://docs.gradle.org/{gradle_ver}/userguide/java_testing.html#sec:test_execution in the Gradle documentation.

        BUILD FAILED in {gdur}
        """, cmd="./gradlew check"),
    _T(_G, """
        > Task :{gmod}:kaptGenerateStubsKotlin
        > Task :{gmod}:compileKotlin
        Could not connect to Kotlin compile daemon
        Could not connect to kotlin daemon. Using fallback strategy.
        exception: java.lang.OutOfMemoryError: GC overhead limit exceeded
        > Task :{gmod}:compileKotlin FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileKotlin'.
        > Internal compiler error. See log for more details
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew build -x test"),
    _T(_G, """
        Starting a Gradle Daemon (subsequent builds will be faster)
        > Task :{gmod}:compileKotlin
        > Task :{gmod}:compileJava
        > Task :{gmod}:processResources
        > Task :{gmod}:shadowJar
        bash: line 1: {pid} Killed                  ./gradlew shadowJar -Pci=true
        """, cmd="./gradlew shadowJar -Pci=true", code="137"),
    _T(_G, """
        > Task :{gmod}:compileTestKotlin
        The Daemon will expire immediately since the JVM garbage collector is thrashing.
        > Task :{gmod}:compileTestKotlin FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Gradle build daemon has been stopped: JVM garbage collector thrashing and after running out of JVM memory
        java.lang.OutOfMemoryError: GC overhead limit exceeded
        """, cmd="./gradlew build"),
    _T(_N, """
        > {repo}@{semver} build
        > webpack --mode production --config webpack.prod.js

        <--- Last few GCs --->

        [{pid}:0x{v8addr}] {v8_gc}
        [{pid}:0x{v8addr}] {v8_gc}

        <--- JS stacktrace --->

        FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
         1: {addr} node::Abort() [node]
         2: {addr} node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]
         3: {addr} v8::internal::Heap::FatalProcessOutOfMemory(char const*) [node]
        Aborted (core dumped)
        """, cmd="npm run build", code="134"),
    _T(_N, """
        > {repo}@{semver} typecheck
        > tsc --noEmit -p tsconfig.json

        <--- Last few GCs --->

        [{pid}:0x{v8addr}] {v8_gc}

        <--- JS stacktrace --->

        FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory
        ----- Native stack trace -----

         1: {addr} node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]
         2: {addr} v8::internal::V8::FatalProcessOutOfMemory(v8::internal::Isolate*, char const*, v8::OOMDetails const&) [node]
        """, cmd="npm run typecheck", code="134"),
    _T(_N, """
        > {repo}@{semver} build
        > next build

           ▲ Next.js {next_ver}

           Creating an optimized production build ...
        {npmerr} path {wd}
        {npmerr} command failed
        {npmerr} signal SIGKILL
        {npmerr} command sh -c next build

        {npmerr} A complete log of this run can be found in: {home}/.npm/_logs/{npm_log}-debug-0.log
        """, cmd="npm run build"),
    _T(_N, """
        > {repo}@{semver} test
        > jest --ci --maxWorkers=50%

         PASS  src/lib/formatPrice.test.ts
         PASS  src/hooks/useSession.test.ts ({jest_secs} s)

        <--- Last few GCs --->
        [{pid}:0x{v8addr}] {v8_gc}
        FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
         FAIL  {jest_file}
          ● Test suite failed to run

            Jest worker encountered 4 child process exceptions, exceeding retry limit

        Test Suites: 1 failed, {npass} passed, {ntotal} total
        """, cmd="npm test -- --ci"),
    _T(_N, """
        > {repo}@{semver} build
        > vite build

        vite v{vite_ver} building for production...
        transforming...
        ✓ {nupd}{small} modules transformed.
        rendering chunks...
        bash: line 1: {pid} Killed                  npm run build
        """, cmd="npm run build", code="137"),
    _T(_P, """
        ============================= test session starts ==============================
        platform linux -- Python {pyver}, pytest-{pytest_ver}, pluggy-1.5.0
        rootdir: {wd}
        collected {ntotal} items

        tests/test_{pymod}.py ..........F

        =================================== FAILURES ===================================
        ___________________________ test_{pyfunc} ___________________________
        >       grid = np.zeros((n_rows, n_cols), dtype=np.float64)
        E       numpy.core._exceptions._ArrayMemoryError: Unable to allocate {gib} GiB for an array with shape ({shape_a}, {shape_b}) and data type float64

        tests/test_{pymod}.py:{line}: MemoryError
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - numpy.core._exceptions._ArrayMemoryError: Unable to allocate {gib} GiB...
        ============ 1 failed, {npass} passed in {secs}s ({hms}) ============
        """, cmd="python -m pytest tests/"),
    _T(_P, """
        Building wheels for collected packages: {lib}
          Building wheel for {lib} (pyproject.toml): started
          error: subprocess-exited-with-error

          × Building wheel for {lib} (pyproject.toml) did not run successfully.
          │ exit code: 1
          ╰─> [5 lines of output]
              running build_ext
              building '{lib}._core' extension
              g++ -pthread -DNDEBUG -g -O2 -Wall -fPIC -I/usr/local/include/python{pymm} -c src/{lib}/_core.cpp -o build/temp.linux-x86_64-cpython-{pyabi}/src/{lib}/_core.o
              g++: fatal error: Killed signal terminated program cc1plus
              compilation terminated.
              [end of output]

          ERROR: Failed building wheel for {lib}
        ERROR: Could not build wheels for {lib}, which is required to install pyproject.toml-based projects
        """, cmd="pip install -e .[dev]"),
    _T(_P, """
        [gw1] [ {pct}%] PASSED tests/test_{pymod}.py::test_{pyfunc}
        [gw3] node down: Not properly terminated
        F
        replacing crashed worker gw3
        =================================== FAILURES ===================================
        ___________________ tests/test_{pymod2}.py:{line} ___________________
        [gw3] linux -- Python {pyver} {wd}/.venv/bin/python
        worker 'gw3' crashed while running 'tests/test_{pymod2}.py::test_{pyfunc2}'
        ============ 1 failed, {npass} passed in {secs}s ({hms}) ============
        + sudo dmesg | tail -n 2
        [ {line}{nupd}.{pid}] oom-kill:constraint=CONSTRAINT_NONE,task=python,pid={pid2},uid=1001
        [ {line}{nupd}.{pid}] Out of memory: Killed process {pid2} (python) total-vm:{bytes_big}kB, anon-rss:{kb}{kb2}kB
        """, cmd="python -m pytest -n 4 --dist loadscope"),
    _T(_P, """
        tests/test_{pymod}.py::test_{pyfunc} FAILED                              [ {pct}%]

        E       RuntimeError: [enforce fail at alloc_cpu.cpp:83] data. DefaultCPUAllocator: not enough memory: you tried to allocate {bytes_big} bytes.

        {wd}/.venv/lib/python{pymm}/site-packages/torch/nn/modules/linear.py:116: RuntimeError
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - RuntimeError: [enforce fail at alloc_cpu.cpp:83] data. DefaultCPUAllocator: not enough memory
        ============ 1 failed, {npass} passed, {nskip} skipped in {secs}s ============
        """, cmd="pytest -v -m 'not gpu'"),
    _T(_P, """
        Building index for {npass} documents ...
        Traceback (most recent call last):
          File "{wd}/scripts/build_fixtures.py", line {line}, in <module>
            main()
          File "{wd}/scripts/build_fixtures.py", line {line2}, in main
            frame = pd.concat(chunks, ignore_index=True)
        MemoryError
        """, cmd="python scripts/build_fixtures.py --full"),
    _T(_P, """
        Processing {wd}
          Installing build dependencies: started
          Installing build dependencies: finished with status 'done'
        Building wheels for collected packages: {lib}
        bash: line 1: {pid} Killed                  python -m build --wheel
        """, cmd="python -m build --wheel", code="137"),
)

# --- docker_pull_rate_limit --------------------------------------------------------------------

_RATE_MSG = ("toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
             "authenticating and upgrading: https://www.docker.com/increase-rate-limit")

_add(
    "docker_pull_rate_limit",
    _T(_ALL, """
        ##[group]Starting {svc} service container
        ##[command]/usr/bin/docker pull {svc_image}
        Error response from daemon: %(m)s
        Warning: Docker pull failed with exit code 1, back off {backoff} seconds before retry.
        ##[command]/usr/bin/docker pull {svc_image}
        Error response from daemon: %(m)s
        Warning: Docker pull failed with exit code 1, back off {backoff2} seconds before retry.
        ##[command]/usr/bin/docker pull {svc_image}
        Error response from daemon: %(m)s
        ##[error]Docker pull failed with exit code 1
        """ % {"m": _RATE_MSG}, frames=_GHA),
    _T(_ALL, """
        ##[group]Checking docker version
        ##[command]/usr/bin/docker version --format '...'
        '1.45'
        ##[endgroup]
        ##[group]Pulling container image
        ##[command]/usr/bin/docker pull {tc_ci_image}
        Error response from daemon: %(m)s
        Warning: Docker pull failed with exit code 1, back off {backoff} seconds before retry.
        ##[command]/usr/bin/docker pull {tc_ci_image}
        Error response from daemon: %(m)s
        ##[error]Docker pull failed with exit code 1
        """ % {"m": _RATE_MSG}, frames=_GHA),
    _T(_ALL, """
        #0 building with "default" instance using docker driver

        #1 [internal] load build definition from Dockerfile
        #1 transferring dockerfile: {kb}B done
        #1 DONE 0.0s

        #2 [internal] load metadata for docker.io/library/{tc_base_image}
        #2 ERROR: failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/{tc_base_path}: 429 Too Many Requests - Server message: %(m)s
        ------
         > [internal] load metadata for docker.io/library/{tc_base_image}:
        ------
        Dockerfile:{small}
        --------------------
           {small} | >>> FROM {tc_base_image} AS runtime
        --------------------
        ERROR: failed to solve: {tc_base_image}: failed to resolve source metadata for docker.io/library/{tc_base_image}: 429 Too Many Requests
        """ % {"m": _RATE_MSG}, cmd="docker build -t {org}/{repo}:{git_sha} ."),
    _T(_ALL, """
        Running with gitlab-runner {glr_ver} (%(h)s)
          on {gl_runner} {hex_s2}, system ID: s_{hex_id}
        Preparing the "docker" executor
        Using Docker executor with image {tc_ci_image} ...
        Pulling docker image {tc_ci_image} ...
        WARNING: Failed to pull image with policy "always": Error response from daemon: %(m)s (manager.go:250:0s)
        ERROR: Job failed: failed to pull image "{tc_ci_image}" with specified policies [always]: Error response from daemon: %(m)s (manager.go:250:0s)
        """ % {"m": _RATE_MSG, "h": "{hex_s3}"}, frames=_GITLAB),
    _T(_ALL, """
        [Pipeline] withDockerRegistry
        [Pipeline] isUnix
        [Pipeline] sh
        + docker pull {tc_ci_image}
        Error response from daemon: %(m)s
        [Pipeline] // withDockerRegistry
        [Pipeline] End of Pipeline
        ERROR: script returned exit code 1
        Finished: FAILURE
        """ % {"m": _RATE_MSG}, frames=_JENKINS),
    _T(_ALL, """
        [+] Running 0/3
         ⠿ {svc} Pulling                                                        {small}.{pct}s
         ⠿ minio Pulling                                                        {small}.{pct}s
         ✘ {svc} Error toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit
        Error response from daemon: %(m)s
        """ % {"m": _RATE_MSG}, cmd="docker compose -f docker-compose.ci.yml up -d --wait"),
    _T(_ALL, """
        Preparing the "kubernetes" executor
        Using Kubernetes namespace: gitlab-runner
        Using Kubernetes executor with image {tc_ci_image} ...
        Waiting for pod gitlab-runner/{gl_runner}-{hex_s} to be running, status is Pending
        	ErrImagePull: "failed to pull and unpack image \\"docker.io/library/{tc_ci_image}\\": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/{tc_ci_image_name}/manifests/{tc_ci_image_tag}: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit."
        Waiting for pod gitlab-runner/{gl_runner}-{hex_s} to be running, status is Pending
        	ImagePullBackOff: "Back-off pulling image \\"{tc_ci_image}\\""
        ERROR: Job failed (system failure): prepare environment: waiting for pod running: pulling image "{tc_ci_image}": image pull failed: Back-off pulling image "{tc_ci_image}"
        """, frames=_GITLAB),
    _T(_ALL, """
        + docker pull {image}
        Error response from daemon: %(m)s
        + echo 'docker pull failed, retrying in 30s'
        docker pull failed, retrying in 30s
        + sleep 30{jump}
        + docker pull {image}
        Error response from daemon: %(m)s
        """ % {"m": _RATE_MSG}, cmd="./ci/pull-images.sh"),
    _T(_G, """
        > Task :{gmod}:integrationTest

        {jtest} > {jmethod}() FAILED
            org.testcontainers.containers.ContainerFetchException: Can't get Docker image: RemoteDockerImage(imageName={svc_image}, imagePullPolicy=DefaultPullPolicy())
                Caused by: com.github.dockerjava.api.exception.InternalServerErrorException: Status 500: %(m)s

        {npass} tests completed, 1 failed
        > Task :{gmod}:integrationTest FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:integrationTest'.
        > There were failing tests. See the report at: file://{wd}/{gmod}/build/reports/tests/integrationTest/index.html
        """ % {"m": _RATE_MSG}, cmd="./gradlew integrationTest"),
    _T(_G, """
        > Task :{gmod}:test
        {hms_ms} [Test worker] INFO  tc.{svc_image} -- Pulling docker image: {svc_image}. Please be patient; this may take some time but only needs to be done once.
        {hms_ms} [Test worker] ERROR tc.{svc_image} -- Failed to pull image: {svc_image}. Please check output of `docker pull {svc_image}`
        com.github.dockerjava.api.exception.InternalServerErrorException: Status 500: %(m)s
        {jtest} > initializationError FAILED
            org.testcontainers.containers.ContainerLaunchException at GenericContainer.java:{line}
        > Task :{gmod}:test FAILED
        """ % {"m": _RATE_MSG}, cmd="./gradlew test"),
    _T(_P, """
        tests/integration/test_{pymod}.py E

        ==================================== ERRORS ====================================
        _______________ ERROR at setup of test_{pyfunc} _______________
        E   docker.errors.APIError: 500 Server Error for http+docker://localhost/v1.44/images/create?tag={svc_tag}&fromImage={svc}: Internal Server Error ("%(m)s")

        {wd}/.venv/lib/python{pymm}/site-packages/docker/errors.py:39: APIError
        =========================== short test summary info ============================
        ERROR tests/integration/test_{pymod}.py::test_{pyfunc} - docker.errors.APIError: 500 Server Error ... toomanyrequests
        ========= {npass} passed, 1 error in {secs}s =========
        """ % {"m": _RATE_MSG}, cmd="pytest tests/integration"),
    _T(_N, """
        > {repo}@{semver} test:integration
        > jest --config jest.integration.config.js

         FAIL  src/server/__tests__/orders.integration.test.ts
          ● Test suite failed to run

            Error: (HTTP code 500) server error - %(m)s

              at node_modules/docker-modem/lib/modem.js:{line}:{col}

        Test Suites: 1 failed, {nsuites} passed, {nsuites_total} total
        """ % {"m": _RATE_MSG}, cmd="npm run test:integration"),
)

# --- network_timeout_flaky_download -----------------------------------------------------------

_add(
    "network_timeout_flaky_download",
    _T(_G, """
        > Task :{gmod}:compileKotlin FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileKotlin'.
        > Could not resolve all files for configuration ':{gmod}:compileClasspath'.
           > Could not download {mvn_file} ({mvn})
              > Could not get resource '{mvn_url}'.
                 > Could not GET '{mvn_url}'.
                    > Read timed out
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew build"),
    _T(_G, """
        Downloading https://services.gradle.org/distributions/gradle-{gradle_ver}-bin.zip
        .............10%.............20%.............30%......
        Exception in thread "main" java.net.SocketTimeoutException: Read timed out
            at java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)
            at java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:314)
            at java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)
            at org.gradle.wrapper.Download.downloadInternal(Download.java:{line})
            at org.gradle.wrapper.Install$1.call(Install.java:{line2})
            at org.gradle.wrapper.WrapperExecutor.execute(WrapperExecutor.java:{line3})
            at org.gradle.wrapper.GradleWrapperMain.main(GradleWrapperMain.java:{line4})
        """, cmd="./gradlew build"),
    _T(_G, """
        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileTestKotlin'.
        > Could not resolve all files for configuration ':{gmod}:testCompileClasspath'.
           > Could not resolve {mvn}.
             Required by:
                 project :{gmod}
              > Could not resolve {mvn}.
                 > Could not get resource '{mvn_url}'.
                    > Could not HEAD '{mvn_url}'.
                       > Connect to repo.maven.apache.org:443 [repo.maven.apache.org/{ip_maven}] failed: Connect timed out
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew check"),
    _T(_G, """
        FAILURE: Build failed with an exception.

        * Where:
        Build file '{wd}/{gmod}/build.gradle.kts' line: {small}

        * What went wrong:
        Plugin [id: 'org.jetbrains.kotlin.jvm', version: '{kotlin_ver}'] was not found in any of the following sources:

        - Gradle Core Plugins (plugin is not in 'org.gradle' namespace)
        - Plugin Repositories (could not resolve plugin artifact 'org.jetbrains.kotlin.jvm:org.jetbrains.kotlin.jvm.gradle.plugin:{kotlin_ver}')
          Searched in the following repositories:
            Gradle Central Plugin Repository
        > Could not GET 'https://plugins.gradle.org/m2/org/jetbrains/kotlin/kotlin-gradle-plugin/{kotlin_ver}/kotlin-gradle-plugin-{kotlin_ver}.pom'.
           > Connection reset
        """, cmd="./gradlew build --refresh-dependencies"),
    _T(_N, """
        {npmerr} code ETIMEDOUT
        {npmerr} errno ETIMEDOUT
        {npmerr} network request to https://registry.npmjs.org/{npm_pkg}/-/{npm_pkg}-{semver}.tgz failed, reason: connect ETIMEDOUT {ip_npm}:443
        {npmerr} network This is a problem related to network connectivity.
        {npmerr} network In most cases you are behind a proxy or have bad network settings.
        {npmerr} network
        {npmerr} network If you are behind a proxy, please make sure that the
        {npmerr} network 'proxy' config is set properly.  See: 'npm help config'

        {npmerr} A complete log of this run can be found in: {home}/.npm/_logs/{npm_log}-debug-0.log
        """, cmd="npm ci"),
    _T(_N, """
        npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.
        npm WARN deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported
        {npmerr} code ECONNRESET
        {npmerr} syscall read
        {npmerr} errno ECONNRESET
        {npmerr} network request to https://registry.npmjs.org/{npm_pkg} failed, reason: read ECONNRESET
        {npmerr} network This is a problem related to network connectivity.
        {npmerr} network In most cases you are behind a proxy or have bad network settings.

        {npmerr} A complete log of this run can be found in: {home}/.npm/_logs/{npm_log}-debug-0.log
        """, cmd="npm ci --no-audit --prefer-offline"),
    _T(_N, """
        {npmerr} code ERR_SOCKET_TIMEOUT
        {npmerr} network Socket timeout
        {npmerr} network This is a problem related to network connectivity.
        {npmerr} network In most cases you are behind a proxy or have bad network settings.

        {npmerr} A complete log of this run can be found in: {home}/.npm/_logs/{npm_log}-debug-0.log
        """, cmd="npm install --no-fund"),
    _T(_N, """
        > {repo}@{semver} postinstall
        > cypress install

        Installing Cypress (version: 13.{small}.0)

        [STARTED] Task without title.
        The Cypress App could not be downloaded.

        Does your workplace require a proxy to be used to access the Internet? If so, you must configure the HTTP_PROXY environment variable before downloading Cypress.

        URL: https://download.cypress.io/desktop.json?platform=linux&arch=x64
        Error: read ETIMEDOUT
        """, cmd="npm ci"),
    _T(_N, """
        gyp info it worked if it ends with ok
        gyp info using node-gyp@10.{small}.0
        gyp info using node@{node_ver} | linux | x64
        gyp http GET https://nodejs.org/download/release/v{node_ver}/node-v{node_ver}-headers.tar.gz
        gyp WARN install got an error, rolling back install
        gyp ERR! configure error
        gyp ERR! stack Error: connect ETIMEDOUT 104.20.{small}.{pct}:443
        gyp ERR! stack     at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)
        gyp ERR! not ok
        {npmerr} command failed
        {npmerr} command sh -c node-gyp rebuild
        """, cmd="npm ci"),
    _T(_P, """
        Collecting {py_big_name}>=1.2
          Downloading {py_big} ({mb}.{small} MB)
             ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ {small}.{pct}/{mb}.{small} MB {small}.{pct} MB/s eta 0:0{small}:{nupd}
        ERROR: Exception:
        Traceback (most recent call last):
          File "{wd}/.venv/lib/python{pymm}/site-packages/pip/_vendor/urllib3/response.py", line 438, in _error_catcher
            yield
          File "{wd}/.venv/lib/python{pymm}/site-packages/pip/_vendor/urllib3/response.py", line 561, in read
            data = self._fp_read(amt) if not fp_closed else b""
          File "/usr/lib/python{pymm}/ssl.py", line 1134, in read
            return self._sslobj.read(len, buffer)
        TimeoutError: The read operation timed out

        During handling of the above exception, another exception occurred:

        pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool(host='files.pythonhosted.org', port=443): Read timed out.
        """, cmd="pip install -r requirements.txt"),
    _T(_P, """
        Collecting {py_pkg}=={semver}
        WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ReadTimeoutError("HTTPSConnectionPool(host='pypi.org', port=443): Read timed out. (read timeout=15)")': /simple/{py_pkg}/
        WARNING: Retrying (Retry(total=3, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ReadTimeoutError("HTTPSConnectionPool(host='pypi.org', port=443): Read timed out. (read timeout=15)")': /simple/{py_pkg}/
        WARNING: Retrying (Retry(total=2, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ConnectTimeoutError(<pip._vendor.urllib3.connection.HTTPSConnection object at {pyaddr}>, 'Connection to pypi.org timed out. (connect timeout=15)')': /simple/{py_pkg}/
        ERROR: Could not find a version that satisfies the requirement {py_pkg}=={semver} (from versions: none)
        ERROR: No matching distribution found for {py_pkg}=={semver}
        """, cmd="pip install -e .[test]"),
    _T(_P, """
        Requirement already satisfied: {py_pkg} in ./.venv/lib/python{pymm}/site-packages ({semver})
        Collecting {py_big_name}
          Downloading {py_big} ({mb} MB)
        ERROR: Could not install packages due to an OSError: HTTPSConnectionPool(host='files.pythonhosted.org', port=443): Max retries exceeded with url: /packages/{hex_s}/{hex_m}/{py_big} (Caused by ReadTimeoutError("HTTPSConnectionPool(host='files.pythonhosted.org', port=443): Read timed out. (read timeout=15)"))
        """, cmd="python -m pip install --upgrade -r requirements/ci.txt"),
    _T(_P, """
        ==================================== ERRORS ====================================
        ______________ ERROR at setup of test_{pyfunc} ______________
            @pytest.fixture(scope="session")
            def sample_dataset(tmp_path_factory):
        >       path = download_fixture("https://data.{org}.dev/fixtures/{pymod}-v{small}.parquet", tmp_path_factory.mktemp("data"))
        E       requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='data.{org}.dev', port=443): Read timed out. (read timeout=30)

        tests/conftest.py:{line}: ReadTimeout
        =========================== short test summary info ============================
        ERROR tests/test_{pymod}.py::test_{pyfunc} - requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='data.{org}.dev', port=443): Read timed out.
        ========= {npass} passed, {nskip} skipped, 1 error in {secs}s =========
        """, cmd="pytest -q"),
    _T(_ALL, """
        Get:{small} http://archive.ubuntu.com/ubuntu jammy-updates/main amd64 libssl-dev amd64 3.0.2-0ubuntu1.{line}
        Err:{nupd} http://archive.ubuntu.com/ubuntu jammy/universe amd64 protobuf-compiler amd64 3.12.4-1ubuntu7
          Could not connect to archive.ubuntu.com:80 (185.125.190.{pct}), connection timed out
        Err:{nexec} http://security.ubuntu.com/ubuntu jammy-security/main amd64 libcurl4-openssl-dev amd64 7.81.0-1ubuntu1.{small}
          Could not connect to security.ubuntu.com:80 (91.189.91.{pct2}), connection timed out
        E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/universe/p/protobuf/protobuf-compiler_3.12.4-1ubuntu7_amd64.deb  Could not connect to archive.ubuntu.com:80 (185.125.190.{pct}), connection timed out
        E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?
        """, cmd="sudo apt-get install -y --no-install-recommends protobuf-compiler libcurl4-openssl-dev", code="100"),
    _T(_ALL, """
          % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current
                                         Dload  Upload   Total   Spent    Left  Speed
          0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0
          {small}  {mb}M    {small}  {kb}k    0     0   {small}{nupd}k      0  0:0{small}:{nupd}  0:05:00 --:--:--     0
        curl: (28) Operation timed out after 300000 milliseconds with {kb}{kb2} out of {bytes_big} bytes received
        """, cmd="curl -fL -o sonar-scanner.zip https://binaries.sonarsource.com/Distribution/sonar-scanner-cli/sonar-scanner-cli-5.0.1.3006-linux.zip",
       code="28"),
)

# --- flaky_test --------------------------------------------------------------------------------

_GRADLE_TEST_TAIL = """
        {npass} tests completed, 1 failed, {nskip} skipped
        > Task :{gmod}:test FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:test'.
        > There were failing tests. See the report at: file://{wd}/{gmod}/build/reports/tests/test/index.html

        BUILD FAILED in {gdur}"""

_add(
    "flaky_test",
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            org.opentest4j.AssertionFailedError: expected: <{cnt_expected}> but was: <{cnt_actual}>
                at app//org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
                at app//org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:150)
                at app//{jpkg}.{jtest}.{jmethod}({jtest}.kt:{line})
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew test --parallel"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            org.opentest4j.AssertionFailedError: expected: <{date}T{hms_ms}Z> but was: <{date}T{hms_ms}Z>
                at app//{jpkg}.{jtest}.{jmethod}({jtest}.kt:{line})
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew :{gmod}:test"),
    _T(_G, """
        > Task :{gmod}:integrationTest

        {jtest} > {jmethod}() FAILED
            java.net.SocketException: Connection reset
                at java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:328)
                at java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)
                at app//org.postgresql.core.VisibleBufferedInputStream.readMore(VisibleBufferedInputStream.java:161)

        {npass} tests completed, 1 failed
        > Task :{gmod}:integrationTest FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:integrationTest'.
        > There were failing tests. See the report at: file://{wd}/{gmod}/build/reports/tests/integrationTest/index.html
        """, cmd="./gradlew integrationTest"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            Wanted but not invoked:
            publisher.publish(<any {jpkg}.Event>);
            -> at {jpkg}.{jtest}.{jmethod}({jtest}.kt:{line})
            Actually, there were zero interactions with this mock.
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew test"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            java.net.BindException: Address already in use
                at java.base/sun.nio.ch.Net.bind0(Native Method)
                at app//io.netty.channel.socket.nio.NioServerSocketChannel.doBind(NioServerSocketChannel.java:141)
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew test --parallel --max-workers=4"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            org.opentest4j.AssertionFailedError: expected: <[evt-1, evt-2, evt-3]> but was: <[evt-2, evt-1, evt-3]>
                at app//{jpkg}.{jtest}.{jmethod}({jtest}.kt:{line})

        {jtest} > {jmethod}() PASSED
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew test -Pretries=2"),
    _T(_N, """
         FAIL  {jest_file} ({jest_secs} s)
          ● {desc} › {it_name}

            expect(received).toBe(expected) // Object.is equality

            Expected: {cnt_expected}
            Received: {cnt_actual}

              {line} |     await waitFor(() => expect(fetchMock).toHaveBeenCalled())
            > {line_next} |     expect(fetchMock.mock.calls.length).toBe(expected)

        Test Suites: 1 failed, {nsuites} passed, {nsuites_total} total
        Tests:       1 failed, {npass} passed, {ntotal} total
        Snapshots:   {small3} passed, {small3} total
        Time:        {suite_secs} s
        Ran all test suites.
        """, cmd="npm test -- --ci"),
    _T(_N, """
         FAIL  {jest_file}
          ● {desc} › {it_name}

            TestingLibraryElementError: Unable to find an element with the text: Saved. This could be because the text is broken up by multiple elements.

            Ignored nodes: comments, script, style

              at Object.getElementError (node_modules/@testing-library/dom/dist/config.js:37:19)

        Test Suites: 1 failed, {nsuites} passed, {nsuites_total} total
        Tests:       1 failed, {npass} passed, {ntotal} total
        """, cmd="npx jest --ci --silent"),
    _T(_N, """
        > {repo}@{semver} test
        > vitest run --reporter=dot

        ⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯

         FAIL  {jest_file} > {desc} > {it_name}
        AssertionError: expected '{date}' to be '{date_next}' // Object.is equality
         ❯ {jest_file}:{line}:{col}

         Test Files  1 failed | {nsuites} passed ({nsuites_total})
              Tests  1 failed | {npass} passed ({ntotal})
           Duration  {suite_secs}s
        """, cmd="npm test"),
    _T(_N, """
         FAIL  src/server/__tests__/webhooks.test.ts
          ● webhooks › {it_name}

            FetchError: request to http://127.0.0.1:{port}/hooks failed, reason: socket hang up

              at ClientRequest.<anonymous> (node_modules/node-fetch/lib/index.js:1505:11)

          ● webhooks › {it_name2}

            ECONNRESET

        Tests:       1 failed, {npass} passed, {ntotal} total
        """, cmd="npm run test:ci"),
    _T(_P, """
        =================================== FAILURES ===================================
        ________________ test_{pyfunc} ________________

            def test_{pyfunc}(store):
                run_concurrently(store.increment, times=3)
        >       assert store.count() == 3
        E       assert {cnt_short} == 3
        E        +  where {cnt_short} = count()

        tests/test_{pymod}.py:{line}: AssertionError
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - assert {cnt_short} == 3
        ============ 1 failed, {npass} passed, {nskip} skipped in {secs}s ({hms}) ============
        """, cmd="python -m pytest -p no:randomly"),
    _T(_P, """
        =================================== FAILURES ===================================
        ________________ test_{pyfunc} ________________
        [gw{small}] linux -- Python {pyver} {wd}/.venv/bin/python

        >       data = sock.recv(4096)
        E       ConnectionResetError: [Errno 104] Connection reset by peer

        src/{lib}/transport.py:{line}: ConnectionResetError
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - ConnectionResetError: [Errno 104] Connection reset by peer
        ============ 1 failed, {npass} passed in {secs}s ({hms}) ============
        """, cmd="python -m pytest -n auto"),
    _T(_P, """
        tests/test_{pymod}.py::test_{pyfunc} FAILED                   [ {pct}%]

        >       assert elapsed < 0.2
        E       assert 0.2{kb} < 0.2

        tests/test_{pymod}.py:{line}: AssertionError
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - assert 0.2{kb} < 0.2
        ======= 1 failed, {npass} passed, 1 rerun in {secs}s ({hms}) =======
        """, cmd="pytest -v --reruns 1"),
    _T(_P, """
        E       hypothesis.errors.Flaky: Hypothesis test_{pyfunc}(value=...) produces unreliable results: Falsified on the first call but did not on a subsequent one
        E       Falsifying example: test_{pyfunc}(
        E           value='{hex_s}',
        E       )
        E       Unreliable test timings! On an initial run, this test took {ms}.{small}ms, which exceeded the deadline of 200.00ms, but on a subsequent run it took {small2}.{nupd} ms, which did not.

        tests/test_{pymod}.py:{line}: Flaky
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - hypothesis.errors.Flaky: Hypothesis test_{pyfunc}(value=...) produces unreliable results
        ============ 1 failed, {npass} passed in {secs}s ({hms}) ============
        """, cmd="python -m pytest --hypothesis-show-statistics"),
    _T(_P, """
        ________________ test_{pyfunc} ________________
            for key in self._entries:
        >       self._entries.pop(key) if self._expired(key) else None
        E       RuntimeError: dictionary changed size during iteration

        src/{lib}/{pymod}.py:{line}: RuntimeError
        ------------------------------ Captured log call -------------------------------
        WARNING  {lib}.{pymod}:{pymod}.py:{line2} eviction thread still running after stop()
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - RuntimeError: dictionary changed size during iteration
        ============ 1 failed, {npass} passed in {secs}s ============
        """, cmd="pytest tests -x -q"),
)

# --- test_timeout ------------------------------------------------------------------------------

_add(
    "test_timeout",
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            java.util.concurrent.TimeoutException: {jmethod}() timed out after {small}0 seconds
                at app//org.junit.jupiter.engine.extension.TimeoutExceptionFactory.create(TimeoutExceptionFactory.java:29)
                at app//org.junit.jupiter.engine.extension.SameThreadTimeoutInvocation.proceed(SameThreadTimeoutInvocation.java:58)
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew test"),
    _T(_G, """
        > Task :{gmod}:integrationTest
        {jtest} > {jmethod}() STARTED{bigjump}
        Requesting stop of task ':{gmod}:integrationTest' as it has exceeded its configured timeout of {maxmin}m.
        > Task :{gmod}:integrationTest FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:integrationTest'.
        > Timeout has been exceeded
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew integrationTest"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            org.awaitility.core.ConditionTimeoutException: Condition with {jpkg}.{jtest} was not fulfilled within {small}0 seconds.
                at app//org.awaitility.core.ConditionAwaiter.await(ConditionAwaiter.java:167)
                at app//org.awaitility.core.ConditionFactory.until(ConditionFactory.java:985)
                at app//{jpkg}.{jtest}.{jmethod}({jtest}.kt:{line})
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew test --info"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod} FAILED
            org.junit.runners.model.TestTimedOutException: test timed out after {small}000 milliseconds
                at java.base@{jdk_major}/java.lang.Object.wait0(Native Method)
                at app//{jpkg}.{jclass}.{jimpl}({jclass}.java:{line})
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew test"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            org.opentest4j.AssertionFailedError: execution timed out after {small}000 ms
                at app//org.junit.jupiter.api.AssertTimeoutPreemptively.createAssertionFailure(AssertTimeoutPreemptively.java:132)
                at app//{jpkg}.{jtest}.{jmethod}({jtest}.kt:{line})
        """ + _GRADLE_TEST_TAIL, cmd="./gradlew :{gmod}:test"),
    _T(_N, """
         FAIL  {jest_file} ({jest_secs} s)
          ● {desc} › {it_name}

            thrown: "Exceeded timeout of 5000 ms for a test.
            Add a timeout value to this test to increase the timeout, if this is a long-running test. See https://jestjs.io/docs/api#testname-fn-timeout."

              {line} |
            > {line_next} |   it('{it_name}', async () => ...

              at Object.<anonymous> ({jest_file}:{line_next}:{col})

        Test Suites: 1 failed, {nsuites} passed, {nsuites_total} total
        Tests:       1 failed, {npass} passed, {ntotal} total
        """, cmd="npm test -- --ci"),
    _T(_N, """
         FAIL  {jest_file}
          ● {desc} › {it_name}

            thrown: "Exceeded timeout of 10000 ms for a hook.
            Add a timeout value to this test to increase the timeout, if this is a long-running test. See https://jestjs.io/docs/api#testname-fn-timeout."

              at beforeAll (src/test/setupServer.ts:{line}:{col})

        Test Suites: 1 failed, {nsuites} passed, {nsuites_total} total
        Time:        {suite_secs} s
        """, cmd="npx jest --ci --runInBand"),
    _T(_N, """
        Running {ntotal} tests using {small} workers

          ✘  {small2} [chromium] › e2e/checkout.spec.ts:{line}:{col} › checkout › {it_name} (30.0s)

          1) [chromium] › e2e/checkout.spec.ts:{line}:{col} › checkout › {it_name}

            Test timeout of 30000ms exceeded.

            Error: locator.click: Test timeout of 30000ms exceeded.
            Call log:
              - waiting for getByRole('button', name: 'Place order')

          1 failed
          {npass} passed ({small3}.{small}m)
        """, cmd="npx playwright test --project=chromium"),
    _T(_N, """
          Running:  checkout.cy.ts                                              ({small} of {nsuites})

          1) checkout
               {it_name}:
             AssertionError: Timed out retrying after 4000ms: Expected to find element: `[data-test=order-confirmation]`, but never found it.
              at Context.eval (webpack:///./cypress/e2e/checkout.cy.ts:{line}:{col})

          (Results)
          │ Tests:        {small2}0
          │ Failing:      1
        """, cmd="npx cypress run --browser chrome"),
    _T(_P, """
        tests/test_{pymod}.py::test_{pyfunc} {bigjump}
        +++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
        ~~~~~~~~~~~~~~~~~~~~~~~~ Stack of MainThread ({thread_ident}) ~~~~~~~~~~~~~~~~~~~~~~~~
          File "{wd}/src/{lib}/{pymod}.py", line {line}, in wait_for_result
            self._done.wait()
          File "/usr/lib/python{pymm}/threading.py", line 629, in wait
            signaled = self._cond.wait(timeout)
        +++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
        FAILED
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - Failed: Timeout >300.0s
        ============ 1 failed, {npass} passed in {secs}s ({hms}) ============
        """, cmd="python -m pytest --timeout=300 -v"),
    _T(_P, """
        =================================== FAILURES ===================================
        _____________________ test_{pyfunc} _____________________
        [gw{small}] linux -- Python {pyver} {wd}/.venv/bin/python
        E   Failed: Timeout >{small}0.0s

        src/{lib}/{pymod}.py:{line}: Failed
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - Failed: Timeout >{small}0.0s
        ============ 1 failed, {npass} passed, {nskip} skipped in {secs}s ({hms}) ============
        """, cmd="pytest -n auto --timeout={small}0"),
    _T(_P, """
        tests/test_{pymod}.py::test_{pyfunc} FAILED                               [ {pct}%]

        >           return await asyncio.wait_for(fut, timeout=self._timeout)
        E           TimeoutError

        /usr/lib/python{pymm}/asyncio/tasks.py:{line}: TimeoutError
        =========================== short test summary info ============================
        FAILED tests/test_{pymod}.py::test_{pyfunc} - TimeoutError: wait_for timed out after {small}.0s
        ============ 1 failed, {npass} passed in {secs}s ============
        """, cmd="pytest -v -p asyncio"),
    _T(_P, """
        tests/test_{pymod}.py ......................................... [ {pct}%]
        tests/test_{pymod2}.py ....{bigjump}
        Timeout ({to_hms})!
        Thread {thread_id} (most recent call first):
          File "{wd}/src/{lib}/{pymod2}.py", line {line} in _poll
          File "{wd}/tests/test_{pymod2}.py", line {line2} in test_{pyfunc}
        """, cmd="python -m pytest --timeout={to_s} --timeout-method=thread"),
    _T(_P, """
        timeout {small}0m python -m pytest -q
        tests/test_{pymod}.py ....................................... [ {pct}%]
        tests/test_{pymod2}.py ........{bigjump}
        Terminated
        make: *** [Makefile:{line}: test] Error 124
        """, cmd="make test", code="2"),
)

# --- dependency_version_conflict ---------------------------------------------------------------

_add(
    "dependency_version_conflict",
    _T(_G, """
        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileKotlin'.
        > Could not resolve all dependencies for configuration ':{gmod}:compileClasspath'.
           > Conflict found for the following module:
               - {mvn_ga} between versions {mvn_v} and {old_semver}
             Run with:
                 --scan or
                 :{gmod}:dependencyInsight --configuration compileClasspath --dependency {mvn_ga}
             to get more insight on how to solve the conflict.
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew build"),
    _T(_G, """
        > Task :{gmod}:compileKotlin FAILED
        e: file://{wd}/{gmod}/src/main/kotlin/{jpkg_path}/{jclass}.kt:{line}:{col} Class 'kotlin.Unit' was compiled with an incompatible version of Kotlin. The binary version of its metadata is 2.0.0, expected version is 1.8.0.
        e: file://{wd}/{gmod}/src/main/kotlin/{jpkg_path}/{jclass}.kt:{line2}:{col2} Module was compiled with an incompatible version of Kotlin. The binary version of its metadata is 2.0.0, expected version is 1.8.0.

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileKotlin'.
        > A failure occurred while executing org.jetbrains.kotlin.compilerRunner.GradleCompilerRunnerWithWorkers$GradleKotlinCompilerWorkAction
           > Compilation error. See log for more details
        """, cmd="./gradlew :{gmod}:assemble"),
    _T(_G, """
        FAILURE: Build failed with an exception.

        * What went wrong:
        Could not determine the dependencies of task ':{gmod}:test'.
        > Could not resolve all task dependencies for configuration ':{gmod}:testRuntimeClasspath'.
           > Could not resolve {mvn}.
             Required by:
                 project :{gmod}
              > No matching variant of {mvn} was found. The consumer was configured to find a library for use during runtime, compatible with Java 11, packaged as a jar, preferably optimized for standard JVMs, and its dependencies declared externally but:
                  - Variant 'apiElements' declares a library for use during compile-time, compatible with Java 17, packaged as a jar, and its dependencies declared externally:
                      - Incompatible because this component declares a component for use during compile-time, compatible with Java 17 and the consumer needed a component for use during runtime, compatible with Java 11
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew check"),
    _T(_G, """
        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:checkDebugDuplicateClasses'.
        > Could not resolve all files for configuration ':{gmod}:runtimeClasspath'.
           > Could not resolve com.google.guava:listenablefuture:1.0.
             Required by:
                 project :{gmod} > com.google.guava:guava:33.0.0-jre
              > Module 'com.google.guava:listenablefuture' has been rejected:
                   Cannot select module with conflict on capability 'com.google.guava:listenablefuture:1.0' also provided by [com.google.guava:guava:33.0.0-jre(jreRuntimeElements)]
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew build"),
    _T(_G, """
        > Task :{gmod}:test

        {jtest} > {jmethod}() FAILED
            java.lang.NoSuchMethodError: 'com.fasterxml.jackson.core.util.JacksonFeatureSet com.fasterxml.jackson.core.JsonParser.getReadCapabilities()'
                at app//com.fasterxml.jackson.databind.deser.std.StdDeserializer._parseIntPrimitive(StdDeserializer.java:{line})

        {npass} tests completed, 1 failed
        > Task :{gmod}:test FAILED

        > Task :dependencyInsight
        com.fasterxml.jackson.core:jackson-core:2.10.5 (selected by rule)
           Selection reasons:
              - By conflict resolution: between versions 2.10.5 and 2.16.1

        BUILD FAILED in {gdur}
        """, cmd="./gradlew test dependencyInsight --dependency jackson-core --continue"),
    _T(_N, """
        {npmerr} code ERESOLVE
        {npmerr} ERESOLVE unable to resolve dependency tree
        {npmerr}
        {npmerr} While resolving: {repo}@{semver}
        {npmerr} Found: {peer_dep}@{peer_found}
        {npmerr} node_modules/{peer_dep}
        {npmerr}   {peer_dep}@"^{peer_found}" from the root project
        {npmerr}
        {npmerr} Could not resolve dependency:
        {npmerr} peer {peer_dep}@"{peer_range}" from {peer_host}@{peer_host_ver}
        {npmerr} node_modules/{peer_host}
        {npmerr}   {peer_host}@"^{peer_host_ver}" from the root project
        {npmerr}
        {npmerr} Fix the upstream dependency conflict, or retry
        {npmerr} this command with --force or --legacy-peer-deps
        {npmerr} to accept an incorrect (and potentially broken) dependency resolution.
        """, cmd="npm ci"),
    _T(_N, """
        {npmerr} code ERESOLVE
        {npmerr} ERESOLVE could not resolve
        {npmerr}
        {npmerr} While resolving: {peer_host}@{peer_host_ver}
        {npmerr} Found: {peer_dep}@{peer_found}
        {npmerr}
        {npmerr} Could not resolve dependency:
        {npmerr} peer {peer_dep}@"{peer_range}" from {peer_host}@{peer_host_ver}
        {npmerr}
        {npmerr} Conflicting peer dependency: {peer_dep}@{peer_ok}
        {npmerr} node_modules/{peer_dep}
        {npmerr}   peer {peer_dep}@"{peer_range}" from {peer_host}@{peer_host_ver}
        {npmerr}
        {npmerr} A complete log of this run can be found in: {home}/.npm/_logs/{npm_log}-debug-0.log
        """, cmd="npm install"),
    _T(_N, """
        {npmerr} code ETARGET
        {npmerr} notarget No matching version found for {npm_pkg}@^{semver}.
        {npmerr} notarget In most cases you or one of your dependencies are requesting
        {npmerr} notarget a package version that doesn't exist.
        npm WARN ERESOLVE overriding peer dependency
        npm WARN While resolving: {peer_host}@{peer_host_ver}
        npm WARN Found: {peer_dep}@{peer_found}
        npm WARN Could not resolve dependency: conflicting peer {peer_dep}@"{peer_range}"
        """, cmd="npm install --no-audit"),
    _T(_N, """
        > {repo}@{semver} typecheck
        > tsc --noEmit

        node_modules/@types/react-dom/node_modules/@types/react/index.d.ts:{line}:{col} - error TS2300: Duplicate identifier 'LibraryManagedAttributes'.
        node_modules/@types/react/index.d.ts:{line2}:{col2} - error TS2300: Duplicate identifier 'LibraryManagedAttributes'.

        Found 2 errors in 2 files.

        npm ls @types/react
        {repo}@{semver} {wd}
        ├── @types/react@18.{small}.{nupd}
        └─┬ @types/react-dom@17.0.{small2}
          └── @types/react@17.0.{nexec}  invalid: "^18" from the root project, conflicting versions
        """, cmd="npm run typecheck"),
    _T(_N, """
        ➤ YN0000: ┌ Resolution step
        ➤ YN0060: │ {peer_dep} is listed by your project with version {peer_found}, which doesn't satisfy what {peer_host} (p{hex_s}) requests ({peer_range}).
        ➤ YN0002: │ {repo}@workspace:. doesn't provide {npm_pkg} (p{hex_s2}), requested by {peer_host}.
        ➤ YN0000: │ Some peer dependencies are incorrectly met; run yarn explain peer-requirements <hash> for details, where <hash> is the six-letter p-prefixed code.
        ➤ YN0000: └ Completed in {small}s {ms}ms
        ➤ YN0000: ┌ Post-resolution validation
        ➤ YN0028: │ The lockfile would have been modified by this install, which is explicitly forbidden.
        ➤ YN0000: └ Completed
        ➤ YN0000: Failed with errors in {small}s {ms}ms
        """, cmd="yarn install --immutable"),
    _T(_P, """
        Collecting {pyconf_dep}=={pyconf_depver}
          Using cached {pyconf_dep}-{pyconf_depver}-py3-none-any.whl.metadata ({kb} kB)
        INFO: pip is looking at multiple versions of {pyconf_dep} to determine which version is compatible with other requirements. This could take a while.
        ERROR: Cannot install -r requirements.txt (line {small}) and {pyconf_pin} because these package versions have conflicting dependencies.

        The conflict is caused by:
            The user requested {pyconf_pin}
            {pyconf_dep} {pyconf_depver} depends on {pyconf_req}

        To fix this you could try to:
        1. loosen the range of package versions you've specified
        2. remove package versions to allow pip to attempt to solve the dependency conflict

        ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts
        """, cmd="pip install -r requirements.txt"),
    _T(_P, """
        Installing collected packages: {pyconf_name}, {py_pkg}, {lib}
          Attempting uninstall: {pyconf_name}
            Found existing installation: {pyconf_name} {semver}
            Uninstalling {pyconf_name}-{semver}:
              Successfully uninstalled {pyconf_name}-{semver}
        ERROR: pip's dependency resolver does not currently take into account all the packages that are installed. This behaviour is the source of the following dependency conflicts.
        {pyconf_dep} {pyconf_depver} requires {pyconf_req}, but you have {pyconf_name} {semver2} which is incompatible.
        Successfully installed {lib}-0.{small}.{nupd} {pyconf_name}-{semver2} {py_pkg}-{semver3}
        + pip check
        {pyconf_dep} {pyconf_depver} has requirement {pyconf_req}, but you have {pyconf_name} {semver2}.
        """, cmd="pip install -e . && pip check"),
    _T(_P, """
        Updating dependencies
        Resolving dependencies...

        Because no versions of {pyconf_dep} match >{pyconf_depver},<2.0.0
         and {pyconf_dep} ({pyconf_depver}) depends on {pyconf_req}, {pyconf_dep} (>={pyconf_depver},<2.0.0) requires {pyconf_req}.
        So, because {lib} depends on both {pyconf_pin} and {pyconf_dep} (^{pyconf_depver}), version solving failed.
        """, cmd="poetry lock --no-update && poetry install --with dev"),
    _T(_P, """
          × No solution found when resolving dependencies:
          ╰─▶ Because {pyconf_dep}=={pyconf_depver} depends on {pyconf_req} and you require {pyconf_pin}, we can conclude that your requirements and {pyconf_dep}=={pyconf_depver} are incompatible.
              And because you require {pyconf_dep}=={pyconf_depver}, we can conclude that your requirements are unsatisfiable.
        """, cmd="uv pip sync requirements/ci.lock"),
    _T(_P, """
        ==================================== ERRORS ====================================
        _____________________ ERROR collecting tests/test_{pymod}.py _____________________
        tests/test_{pymod}.py:{small}: in <module>
            from {lib}.{pymod} import Client
        src/{lib}/{pymod}.py:{line}: in <module>
            from pydantic import field_validator
        E   ImportError: cannot import name 'field_validator' from 'pydantic' ({wd}/.venv/lib/python{pymm}/site-packages/pydantic/__init__.cpython-{pyabi}-x86_64-linux-gnu.so)
        ------ pip: fastapi 0.110.0 requires pydantic>=2.0, but you have pydantic 1.10.13 which is incompatible.
        =========================== short test summary info ============================
        ERROR tests/test_{pymod}.py
        !!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
        """, cmd="pytest"),
)

# --- disk_full ---------------------------------------------------------------------------------

_add(
    "disk_full",
    _T(_G, """
        > Task :{gmod}:compileKotlin
        > Task :{gmod}:jar FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:jar'.
        > Failed to create Jar file {wd}/{gmod}/build/libs/{gmod}-{semver}.jar.
           > No space left on device
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew build"),
    _T(_G, """
        OpenJDK 64-Bit Server VM warning: Insufficient space for shared memory file:
           {pid}
        Try using the -Djava.io.tmpdir= option to select an alternate temp location.

        > Task :{gmod}:test FAILED
        Could not write standard input to Gradle Test Executor {executor}.
        java.io.IOException: No space left on device
            at java.base/java.io.FileOutputStream.writeBytes(Native Method)
        """, cmd="./gradlew test"),
    _T(_G, """
        > Task :{gmod}:kaptKotlin
        e: java.io.IOException: No space left on device
            at java.base/java.io.FileOutputStream.writeBytes(Native Method)
            at java.base/java.io.FileOutputStream.write(FileOutputStream.java:367)

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:kaptKotlin'.
        > A failure occurred while executing org.jetbrains.kotlin.gradle.internal.KaptWithoutKotlincTask$KaptExecutionWorkAction
           > java.io.IOException: No space left on device
        """, cmd="./gradlew assemble"),
    _T(_N, """
        > {repo}@{semver} build
        > webpack --mode production

        Error: ENOSPC: no space left on device, write
            at writeSync (node:fs:{line}:{col})
            at Object.writeFileSync (node:fs:{line2}:{col2})
            at {wd}/node_modules/webpack/lib/Compiler.js:{line3}:{col3}
        {npmerr} Lifecycle script `build` failed with error:
        {npmerr} Error: command failed
        """, cmd="npm run build"),
    _T(_N, """
        {npmerr} code ENOSPC
        {npmerr} syscall write
        {npmerr} errno -28
        {npmerr} nospc ENOSPC: no space left on device, write
        {npmerr} nospc There appears to be insufficient space on your system to finish.
        {npmerr} nospc Clear up some disk space and try again.

        {npmerr} A complete log of this run can be found in: {home}/.npm/_logs/{npm_log}-debug-0.log
        """, cmd="npm ci"),
    _T(_N, """
         PASS  src/lib/formatPrice.test.ts
         FAIL  {jest_file}
          ● Test suite failed to run

            ENOSPC: no space left on device, open '/tmp/jest_{hex_s}/haste-map-{hex_m}'

        Test Suites: 1 failed, {nsuites} passed, {nsuites_total} total
        """, cmd="npm test -- --ci"),
    _T(_P, """
        Collecting {py_big_name}
          Downloading {py_big} ({mb}.{small} MB)
        Installing collected packages: {py_pkg}, {py_big_name}
        ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device
        """, cmd="pip install -r requirements.txt"),
    _T(_P, """
        ==================================== ERRORS ====================================
        ____________ ERROR at setup of test_{pyfunc} ____________
            @pytest.fixture
            def workdir(tmp_path):
        >       shutil.copytree(FIXTURES, tmp_path / "data")
        E       OSError: [Errno 28] No space left on device: '{wd}/tests/fixtures/{pymod}/part-000{small}.parquet' -> '/tmp/pytest-of-runner/pytest-0/test_{pyfunc}0/data/part-000{small}.parquet'

        tests/conftest.py:{line}: OSError
        ========= {npass} passed, 1 error in {secs}s =========
        """, cmd="pytest -q"),
    _T(_P, """
        running bdist_wheel
        running build
        running build_py
        copying src/{lib}/{pymod}.py -> build/lib.linux-x86_64-cpython-{pyabi}/{lib}
        error: could not create 'build/bdist.linux-x86_64/wheel/{lib}/{pymod}.py': No space left on device
        ERROR Backend subprocess exited when trying to invoke build_wheel
        """, cmd="python -m build"),
    _T(_ALL, """
        ##[warning]You are running out of disk space. The runner will stop working when the machine runs out of disk space. Free space left: {small} MB
        ##[group]Run {tc_cmd_disk}
        {tc_cmd_disk}
        ##[endgroup]
        {tc_disk_err}
        ##[error]Process completed with exit code 1.
        """, frames=_GHA),
    _T(_ALL, """
        ##[group]Run {tc_cmd_test}
        {tc_cmd_test}
        ##[endgroup]
        {tc_running_tests}{bigjump}
        ##[error]No space left on device : '/home/runner/runners/{runner_ver}/_diag/pages/{guid}_{guid2}_1.log'
        ##[error]Process completed with exit code 1.
        """, frames=("gha_bare",)),
    _T(_ALL, """
        #{dstep} [build {dstep}/{dsteps}] RUN {tc_cmd_install}
        #{dstep} ERROR: failed to copy files: copy file range failed: no space left on device
        ------
         > [build {dstep}/{dsteps}] RUN {tc_cmd_install}:
        ------
        ERROR: failed to solve: failed to register layer: write /usr/local/lib/{hex_s}: no space left on device
        """, cmd="docker build --target test -t {repo}-ci ."),
    _T(_ALL, """
        Fetching changes with git depth set to 20...
        Reinitialized existing Git repository in {wd}/.git/
        Checking out {git_sha} as detached HEAD (ref is {branch})...
        error: unable to create temporary file: No space left on device
        fatal: sha1 file '.git/objects/pack/tmp_pack_{hex_s}' write error: No space left on device
        fatal: fetch-pack: invalid index-pack output
        ERROR: Job failed: exit code 1
        """, frames=_GITLAB),
    _T(_ALL, """
        + {tc_cmd_disk}
        {tc_disk_err}
        + df -h /
        Filesystem      Size  Used Avail Use% Mounted on
        /dev/root        84G   84G     0 100% /
        """, frames=_JENKINS + ("plain",)),
)

# --- cache_restore_failure ---------------------------------------------------------------------

_add(
    "cache_restore_failure",
    _T(_ALL, """
        ##[group]Run actions/cache@v4
        with:
          path: {tc_dep_dir}
          key: {tc_cache_key}
          fail-on-cache-miss: true
        ##[endgroup]
        Cache not found for input keys: {tc_cache_key}, {tc_cache_prefix}
        ##[error]Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {tc_cache_key}
        """, frames=_GHA),
    _T(_ALL, """
        ##[group]Run actions/cache/restore@v4
        with:
          path: {tc_dep_dir}
          key: {tc_cache_key}
        ##[endgroup]
        ##[warning]Failed to restore: getCacheEntry failed: Cache service responded with 503
        Cache not found for input keys: {tc_cache_key}
        ##[group]Run {tc_cmd_offline}
        ##[endgroup]
        {tc_offline_err}
        ##[error]Process completed with exit code 1.
        """, frames=("gha_bare",)),
    _T(_ALL, """
        ##[group]Run actions/cache@v4
        ##[endgroup]
        Received {recv} of {bytes_big} ({pct}.0%), {small2}{small3}.{small}0 MBs/sec
        Received {recv} of {bytes_big} ({pct}.0%), 0.0 MBs/sec{jump}
        /usr/bin/tar: ../../../..{tc_dep_dir}/{hex_s}: Cannot open: File exists
        /usr/bin/tar: Unexpected EOF in archive
        /usr/bin/tar: Error is not recoverable: exiting now
        ##[warning]Failed to restore: Tar failed with error: The process '/usr/bin/tar' failed with exit code 2
        {tc_offline_err}
        ##[error]Process completed with exit code 1.
        """, frames=_GHA),
    _T(_ALL, """
        Restoring cache
        Checking cache for {repo}-{branch}-{hex_s}-protected...
        Downloading cache from https://storage.googleapis.com/gitlab-runners-cache/project/{build_no}/{repo}-{hex_s}-protected  ETag="{hex_m}"
        WARNING: {repo}-{hex_s}-protected: zip: not a valid zip file
        Failed to extract cache
        Executing "step_script" stage of the job script
        $ {tc_cmd_offline}
        {tc_offline_err}
        Cleaning up project directory and file based variables
        ERROR: Job failed: exit code 1
        """, frames=_GITLAB),
    _T(_ALL, """
        Restoring cache
        Found a cache from build {build_no} at v{small}-deps-{branch}-{hex_s}
        Size: {mb} MiB
        Cached paths:
          * {tc_dep_dir}

        Downloading cache archive...
        Validating cache...

        Unarchiving cache...
        Error untarring cache: Error extracting tarball /tmp/cache{pid} : tar: {hex_s}/{hex_m}: Cannot open: No such file or directory
        tar: Exiting with failure status due to previous errors
        : exit status 2
        """, frames=("plain", "clock")),
    _T(_ALL, """
        [Pipeline] cache
        [Cache for {tc_dep_dir} with id {hex_m}] Searching cache in default caches...
        [Cache for {tc_dep_dir} with id {hex_m}] Found cache in job specific caches
        [Cache for {tc_dep_dir} with id {hex_m}] Restoring cache...
        ERROR: Failed to restore cache entry: java.io.EOFException: Unexpected end of ZLIB input stream
        [Pipeline] // cache
        [Pipeline] End of Pipeline
        Finished: FAILURE
        """, frames=_JENKINS),
    _T(_G, """
        ##[group]Run gradle/actions/setup-gradle@v3
        Restore Gradle state from cache
        ##[endgroup]
        Failed to restore gradle-home-v1|Linux|build[{hex_m}]-{git_sha}: Error: Cache service responded with 429
        Gradle User Home cache not found. Will initialize empty.
        ##[group]Run ./gradlew build --offline
        {tc_offline_err}
        ##[error]Process completed with exit code 1.
        """, frames=("gha_bare",)),
    _T(_G, """
        Cache restored from key: {tc_cache_key}
        > Task :{gmod}:compileKotlin FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Could not read workspace metadata from {home}/.gradle/caches/{gradle_ver}/transforms/{hex_m}/metadata.bin
        > Could not read workspace metadata: the file appears to be corrupt (java.util.zip.ZipException: invalid entry CRC)
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew build"),
    _T(_N, """
        Cache restored from key: {tc_cache_key}
        {npmerr} code EINTEGRITY
        {npmerr} sha512-{b64} integrity checksum failed when using sha512: wanted sha512-{b64} but got sha512-{b64_2}. ({kb} bytes)

        {npmerr} A complete log of this run can be found in: {home}/.npm/_logs/{npm_log}-debug-0.log
        """, cmd="npm ci --prefer-offline"),
    _T(_N, """
        Cache restored from key: node-modules-Linux-{sha}
        > {repo}@{semver} build
        > next build

        sh: 1: next: Permission denied
        {npmerr} Lifecycle script `build` failed with error:
        {npmerr} Error: command failed
        """, cmd="npm run build"),
    _T(_P, """
        Cache restored from key: venv-Linux-{sha}
        bash: line 1: .venv/bin/pytest: /opt/hostedtoolcache/Python/{pyver}/x64/bin/python{pymm}: bad interpreter: No such file or directory
        """, cmd=".venv/bin/pytest -q", code="126"),
    _T(_P, """
        Cache restored from key: {tc_cache_key}
        Collecting {py_pkg}=={semver}
          Using cached {py_pkg}-{semver}-py3-none-any.whl
        ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions, please update the hashes. Otherwise, examine the package contents carefully; someone may have tampered with them.
            {py_pkg}=={semver} from {home}/.cache/pip/wheels/{hex_s}/{py_pkg}-{semver}-py3-none-any.whl:
                Expected sha256 {sha}
                     Got        {sha2}
        """, cmd="pip install --require-hashes -r requirements.lock"),
)

# --- ci_runner_timeout_or_cancelled ------------------------------------------------------------

_add(
    "ci_runner_timeout_or_cancelled",
    _T(_ALL, """
        ##[group]Run {tc_cmd_test}
        {tc_cmd_test}
        ##[endgroup]
        {tc_running_tests}{timeoutjump}
        ##[error]The job running on runner {runner_gha} has exceeded the maximum execution time of {maxmin} minutes.
        ##[error]The operation was canceled.
        Cleaning up orphan processes
        """, frames=_GHA),
    _T(_ALL, """
        ##[group]Run {tc_cmd_build}
        {tc_cmd_build}
        ##[endgroup]
        {tc_progress}{jump}
        ##[error]The operation was canceled.
        Post job cleanup.
        Canceling since a higher priority waiting request for 'ci-refs/heads/{branch}' exists
        """, frames=_GHA),
    _T(_ALL, """
        ##[group]Run {tc_cmd_test}
        ##[endgroup]
        {tc_running_tests}{bigjump}
        ##[error]The runner has received a shutdown signal. This can happen when the runner service is stopped, or a manually started runner is canceled.
        ##[error]The operation was canceled.
        """, frames=_GHA),
    _T(_ALL, """
        Job is about to start running on the runner: {runner_self} (repository)
        ##[group]Run {tc_cmd_build}
        ##[endgroup]
        {tc_progress}{bigjump}
        ##[error]The self-hosted runner: {runner_self} lost communication with the server. Verify the machine is running and has a healthy network connection. Anything in your workflow that terminates the runner process, starves it for CPU/Memory, or blocks its network access can cause this error.
        """, frames=("gha_bare",)),
    _T(_ALL, """
        $ {tc_cmd_test}
        {tc_running_tests}{timeoutjump}
        WARNING: step_script could not run to completion because the timeout was exceeded. For more control over job and script timeouts see: https://docs.gitlab.com/ee/ci/runners/configure_runners.html#set-script-and-after_script-timeouts
        Cleaning up project directory and file based variables
        ERROR: Job failed: execution took longer than {gl_dur} seconds
        """, frames=_GITLAB),
    _T(_ALL, """
        $ {tc_cmd_build}
        {tc_progress}{jump}
        Terminated
        WARNING: script canceled externally (UI, API)
        Cleaning up project directory and file based variables
        ERROR: Job failed: canceled
        """, frames=_GITLAB),
    _T(_ALL, """
        [Pipeline] timeout
        Timeout set to expire in {maxmin} min
        [Pipeline] sh
        + {tc_cmd_test}
        {tc_running_tests}{timeoutjump}
        Cancelling nested steps due to timeout
        Sending interrupt signal to process
        Terminated
        script returned exit code 143
        [Pipeline] // timeout
        Timeout has been exceeded
        Finished: ABORTED
        """, frames=_JENKINS),
    _T(_ALL, """
        [Pipeline] sh
        + {tc_cmd_build}
        {tc_progress}{jump}
        Aborted by {org}-release-bot
        Sending interrupt signal to process
        Terminated
        [Pipeline] End of Pipeline
        Finished: ABORTED
        """, frames=_JENKINS),
    _T(_ALL, """
        #!/bin/bash -eo pipefail
        {tc_cmd_test}
        {tc_running_tests}{bigjump}

        Too long with no output (exceeded 10m0s): context deadline exceeded
        """, frames=("plain", "clock")),
    _T(_ALL, """
        Starting: {tc_cmd_test}
        {tc_running_tests}{timeoutjump}
        ##[error]The job running on agent Azure Pipelines {small} ran longer than the maximum time of {maxmin} minutes. For more information, see https://go.microsoft.com/fwlink/?linkid=2077134
        ##[error]The operation was canceled.
        Finishing: {tc_cmd_test}
        """, frames=("gha_bare", "plain")),
    _T(_G, """
        ##[group]Run ./gradlew check
        ./gradlew check
        ##[endgroup]
        > Task :{gmod}:compileKotlin
        > Task :{gmod}:test{timeoutjump}
        ##[error]The job running on runner {runner_gha} has exceeded the maximum execution time of {maxmin} minutes.
        > Task :{gmod}:test FAILED

        FAILURE: Build cancelled while executing task ':{gmod}:test'

        BUILD FAILED in {gdur}
        ##[error]The operation was canceled.
        """, frames=_GHA),
    _T(_N, """
        ##[group]Run npm run test:e2e
        npm run test:e2e
        ##[endgroup]
        > {repo}@{semver} test:e2e
        > playwright test

        Running {npass} tests using {small} workers{timeoutjump}
        Received SIGTERM, shutting down gracefully...
        {npmerr} signal SIGTERM
        {npmerr} command sh -c playwright test
        ##[error]The job running on runner {runner_gha} has exceeded the maximum execution time of {maxmin} minutes.
        ##[error]The operation was canceled.
        """, frames=_GHA),
    _T(_P, """
        ##[group]Run python -m pytest -q
        python -m pytest -q
        ##[endgroup]
        ============================= test session starts ==============================
        platform linux -- Python {pyver}, pytest-{pytest_ver}, pluggy-1.5.0
        collected {ntotal} items

        tests/test_{pymod}.py ..................................... [ {pct}%]{timeoutjump}
        !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!! KeyboardInterrupt !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
        /usr/lib/python{pymm}/selectors.py:468: KeyboardInterrupt
        (to show a full traceback on KeyboardInterrupt use --full-trace)
        ##[error]The operation was canceled.
        """, frames=_GHA),
)

# --- compilation_error -------------------------------------------------------------------------

_add(
    "compilation_error",
    _T(_G, """
        > Task :{gmod}:compileKotlin FAILED
        e: file://{wd}/{gmod}/src/main/kotlin/{jpkg_path}/{jclass}.kt:{line}:{col} Unresolved reference: {ktprop}
        e: file://{wd}/{gmod}/src/main/kotlin/{jpkg_path}/{jclass}.kt:{line2}:{col2} Type mismatch: inferred type is String? but String was expected

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileKotlin'.
        > A failure occurred while executing org.jetbrains.kotlin.compilerRunner.GradleCompilerRunnerWithWorkers$GradleKotlinCompilerWorkAction
           > Compilation error. See log for more details
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew build"),
    _T(_G, """
        > Task :{gmod}:compileJava
        {wd}/{gmod}/src/main/java/{jpkg_path}/{jclass}.java:{line}: error: cannot find symbol
                return {jfield}.{jimpl}(request);
                               ^
          symbol:   method {jsym}
          location: variable {jfield} of type {jclass2}
        1 error

        > Task :{gmod}:compileJava FAILED

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileJava'.
        > Compilation failed; see the compiler error output for details.

        BUILD FAILED in {gdur}
        """, cmd="./gradlew :{gmod}:build"),
    _T(_G, """
        > Task :{gmod}:compileJava
        {wd}/{gmod}/src/main/java/{jpkg_path}/{jclass}.java:{line}: error: incompatible types: String cannot be converted to long
                    long retries = config.get("retries");
                                             ^
        {wd}/{gmod}/src/main/java/{jpkg_path}/{jclass}.java:{line2}: error: unreported exception IOException; must be caught or declared to be thrown
                    Files.writeString(target, payload);
                                     ^
        2 errors

        > Task :{gmod}:compileJava FAILED

        * What went wrong:
        Execution failed for task ':{gmod}:compileJava'.
        > Compilation failed; see the compiler error output for details.
        """, cmd="./gradlew assemble"),
    _T(_G, """
        > Task :{gmod}:compileKotlin FAILED
        e: file://{wd}/{gmod}/src/main/kotlin/{jpkg_path}/{jclass}.kt:{line}:{col} 'when' expression must be exhaustive, add necessary 'PENDING_REVIEW' branch or 'else' branch instead
        e: file://{wd}/{gmod}/src/main/kotlin/{jpkg_path}/{jclass2}.kt:{line2}:{col2} None of the following functions can be called with the arguments supplied:
        public fun {jimpl}(id: Long): Unit defined in {jpkg}.{jclass2}
        public fun {jimpl}(id: String, force: Boolean = ...): Unit defined in {jpkg}.{jclass2}

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileKotlin'.
        > Compilation error. See log for more details
        """ + _GRADLE_FAIL_TAIL, cmd="./gradlew check"),
    _T(_G, """
        > Task :{gmod}:compileTestKotlin FAILED
        e: file://{wd}/{gmod}/src/test/kotlin/{jpkg_path}/{jclass}Test.kt:{line}:{col} Unresolved reference '{ktprop}'.
        e: file://{wd}/{gmod}/src/test/kotlin/{jpkg_path}/{jclass}Test.kt:{line2}:{col2} Cannot access 'val {ktprop2}: Int': it is private in '{jpkg}.{jclass}'.
        e: file://{wd}/{gmod}/src/test/kotlin/{jpkg_path}/{jclass}Test.kt:{line3}:{col3} No value passed for parameter 'clock'.

        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':{gmod}:compileTestKotlin'.
        > Compilation error. See log for more details
        """, cmd="./gradlew test"),
    _T(_N, """
        > {repo}@{semver} build
        > tsc -p tsconfig.build.json && vite build

        {ts_loc}: {ts_err}
        {ts_loc}: {ts_err}
        {ts_loc}: {ts_err}
        """, cmd="npm run build", code="2"),
    _T(_N, """
        > {repo}@{semver} typecheck
        > tsc --noEmit --pretty false

        src/components/{comp}.tsx({line},{col}): error TS2339: Property '{ts_prop}' does not exist on type '{ts_type}'.
        src/components/{comp}.tsx({line2},{col2}): error TS2322: Type 'string | undefined' is not assignable to type 'string'.
          Type 'undefined' is not assignable to type 'string'.
        """, cmd="npm run typecheck", code="2"),
    _T(_N, """
        > {repo}@{semver} build
        > webpack --mode production

        assets by status {mb} KiB [cached] {small} assets
        ERROR in ./src/components/{comp}.tsx {line}:{col}-{col2}
        Module not found: Error: Can't resolve './{comp2}' in '{wd}/src/components'

        ERROR in {ts_file}:{line2}:{col3}
        TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.

        webpack {webpack_ver} compiled with 2 errors in {ms} ms
        """, cmd="npm run build"),
    _T(_N, """
        > {repo}@{semver} build
        > next build

           ▲ Next.js {next_ver}
           Creating an optimized production build ...
         ✓ Compiled successfully
           Linting and checking validity of types  .Failed to compile.

        ./src/pages/checkout.tsx:{line}:{col}
        Type error: Property '{ts_prop}' does not exist on type '{ts_type}'.

        """, cmd="npm run build"),
    _T(_N, """
        > {repo}@{semver} build
        > vite build

        vite v{vite_ver} building for production...
        ✓ {nupd} modules transformed.
        x Build failed in {ms}ms
        error during build:
        [vite:esbuild] Transform failed with 1 error:
        {wd}/src/components/{comp}.tsx:{line}:{col}: ERROR: Expected ")" but found ";"
        """, cmd="npm run build"),
    _T(_P, """
        building '{lib}._speedups' extension
        gcc -pthread -Wsign-compare -DNDEBUG -g -fwrapv -O2 -Wall -fPIC -I/usr/local/include/python3.12 -c src/{lib}/_speedups.c -o build/temp.linux-x86_64-cpython-312/src/{lib}/_speedups.o
        src/{lib}/_speedups.c: In function '{pymod}_hash':
        src/{lib}/_speedups.c:{line}:{col}: error: 'PyLongObject' has no member named 'ob_digit'
        src/{lib}/_speedups.c:{line2}:{col2}: warning: implicit declaration of function '_PyUnicode_Ready' [-Wimplicit-function-declaration]
        error: command '/usr/bin/gcc' failed with exit code 1
        error: subprocess-exited-with-error
        ERROR: Failed building wheel for {lib}
        """, cmd="pip install ."),
    _T(_P, """
        Compiling src/{lib}/_fast.pyx because it changed.
        [1/1] Cythonizing src/{lib}/_fast.pyx

        Error compiling Cython file:
        ------------------------------------------------------------
        ...
            cdef double total = 0
            for i in range(n):
                total += weights[i] * values
                                      ^
        ------------------------------------------------------------

        src/{lib}/_fast.pyx:{line}:{col}: Cannot convert Python object to 'double'
        """, cmd="python setup.py build_ext --inplace"),
    _T(_P, """
        Listing 'src/{lib}'...
        Compiling 'src/{lib}/{pymod}.py'...
        *** Error compiling 'src/{lib}/{pymod}.py'...
          File "src/{lib}/{pymod}.py", line {line}
            match command.kind:
                  ^^^^^^^
        SyntaxError: invalid syntax
        """, cmd="python -m compileall -q src"),
    _T(_P, """
        src/{lib}/{pymod}.py:{line}: error: Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]
        src/{lib}/{pymod}.py:{line2}: error: Item "None" of "Optional[Session]" has no attribute "close"  [union-attr]
        src/{lib}/{pymod2}.py:{line3}: error: Argument 1 to "parse" has incompatible type "bytes"; expected "str"  [arg-type]
        Found 3 errors in 2 files (checked {nsuites} source files)
        """, cmd="mypy src"),
    _T(_P, """
        ==================================== ERRORS ====================================
        _____________________ ERROR collecting tests/test_{pymod}.py _____________________
        {wd}/.venv/lib/python{pymm}/site-packages/_pytest/python.py:{line}: in importtestmodule
            mod = import_path(path, mode=importmode, root=rootpath, consider_namespace_packages=False)
        E     File "{wd}/src/{lib}/{pymod}.py", line {line2}
        E       return f"{{self.name!r}}}}"
        E                               ^
        E   SyntaxError: f-string: single '}}' is not allowed
        =========================== short test summary info ============================
        ERROR tests/test_{pymod}.py
        !!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
        """, cmd="python -m pytest"),
)


# ---------------------------------------------------------------------------------------------
# Compilation: each (template, toolchain, frame) becomes its literal pieces, the values to draw
# for it, and which value follows each piece, so that rendering costs one Python call per
# distinct value and the assembly happens in C (a join, which measured faster than %-formatting).
# ---------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_TC_PLACEHOLDER = re.compile(r"\{tc_(\w+)\}")

Slot = tuple[str, Gen]
Variant = tuple[tuple[str, ...], tuple[Slot, ...], tuple[str, ...]]


def _parse(text: str) -> Variant:
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
            raise ValueError("stray brace in template text: %r" % lit)
        lits.append(lit.replace("\x00", "{").replace("\x01", "}"))
        if i + 1 < len(pieces):
            key = pieces[i + 1]
            gen = _lookup(key)
            if _base(key) in _NOCACHE:
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
            out.append((run[0], _line_stamps(tuple(run), kind == "gts")))
            run.clear()

    for key, gen in slots:
        base = _base(key.split("#", 1)[0])
        if base in ("gts", "clk"):
            if base != kind:
                flush()
            kind = base
            run.append(key)
        else:
            if base in _CLOCKED:
                flush()
            out.append((key, gen))
    flush()
    return tuple(out)


def _expand(template: _T, toolchain: str, frame: str) -> str:
    prefix, head, tail, wd, home = _FRAMES[frame]
    text = "\n".join((*head, template.body, *tail))
    text = text.replace("{cmd}", template.cmd or "").replace("{code}", template.code)
    for _ in range(3):  # snippets may themselves contain snippets
        text = _TC_PLACEHOLDER.sub(lambda m: _TC[m.group(1)][toolchain], text)
    text = text.replace("{wd}", wd).replace("{home}", home)
    return "\n".join(prefix + ln if ln else prefix.rstrip() for ln in text.split("\n"))


def _compile() -> dict[str, dict[str, tuple[tuple[Variant, ...], ...]]]:
    """category -> toolchain -> one tuple of frame variants per template."""
    table: dict[str, dict[str, tuple[tuple[Variant, ...], ...]]] = {}
    for category, templates in _TEMPLATES.items():
        table[category] = {}
        for toolchain in TOOLCHAINS:
            table[category][toolchain] = tuple(
                tuple(_parse(_expand(t, toolchain, f)) for f in t.frames)
                for t in templates
                if toolchain in t.toolchains
            )
    return table


_COMPILED = _compile()


def render_log(category: str, toolchain: str, rng: random.Random) -> str:
    """A multi-line log excerpt, as a CI job would print it, for a build that failed with `category`."""
    by_toolchain = _COMPILED.get(category)
    if by_toolchain is None:
        raise ValueError("unknown failure category %r; expected one of %s" % (category, ", ".join(CATEGORIES)))
    templates = by_toolchain.get(toolchain)
    if templates is None:
        raise ValueError("unknown toolchain %r; expected one of %s" % (toolchain, ", ".join(TOOLCHAINS)))
    r = rng.random
    variants = templates[int(r() * len(templates))]
    lits, slots, fills = variants[int(r() * len(variants))]
    c = _Ctx(rng)
    vals = c.vals
    for key, gen in slots:
        if key not in vals:  # a derived value may have drawn it already
            vals[key] = gen(c)
    return "".join(chain.from_iterable(zip(lits, map(vals.__getitem__, fills))))
