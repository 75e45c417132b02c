"""Tests for the synthetic CI error logs of ``autoops.envs.logs``."""

from __future__ import annotations

import random
import re

import pytest

from autoops.envs.logs import CATEGORIES, TOOLCHAINS, render_log

PAIRS = [(c, t) for c in CATEGORIES for t in TOOLCHAINS]
SEEDS = range(50)

# Every log of a category must contain one of these (lower-cased) substrings.
MARKERS: dict[str, tuple[str, ...]] = {
    "build_oom": (
        "outofmemoryerror", "heap out of memory", "heap space", "exit code 137", "exit value 137",
        "killed", "sigkill", "memoryerror", "not enough memory",
    ),
    "docker_pull_rate_limit": ("toomanyrequests", "pull rate limit", "429 too many requests"),
    "network_timeout_flaky_download": ("timed out", "timeout", "etimedout", "econnreset", "connection reset"),
    "flaky_test": ("1 failed", "flaky"),
    "test_timeout": ("timeout", "timed out"),
    "dependency_version_conflict": (
        "eresolve", "resolutionimpossible", "conflict", "could not resolve", "incompatible",
        "version solving failed", "doesn't satisfy",
    ),
    "disk_full": ("no space left on device", "enospc", "insufficient space"),
    "cache_restore_failure": (
        "failed to restore", "failed to extract cache", "error untarring cache", "cache entry",
        "cache restored from key", "cache not found",
    ),
    "ci_runner_timeout_or_cancelled": (
        "exceeded the maximum execution time", "cancel", "aborted", "execution took longer than",
        "timeout has been exceeded", "lost communication", "too long with no output", "ran longer than",
        "shutdown signal",
    ),
    "compilation_error": (
        "error:", "error ts", "compilation failed", "compilation error", "syntaxerror", "error in",
        "error compiling",
    ),
}

PLACEHOLDER = re.compile(r"\{\w+\}")


def test_markers_cover_every_category():
    assert set(MARKERS) == set(CATEGORIES)


@pytest.mark.parametrize(("category", "toolchain"), PAIRS)
def test_renders_multiline_text_without_placeholders(category, toolchain):
    for seed in SEEDS:
        text = render_log(category, toolchain, random.Random(seed))
        assert isinstance(text, str) and text.strip()
        n_lines = len(text.split("\n"))
        assert 3 <= n_lines <= 25, (seed, n_lines, text)
        assert not PLACEHOLDER.search(text), (seed, text)
        assert "\x00" not in text and "\x01" not in text


@pytest.mark.parametrize(("category", "toolchain"), PAIRS)
def test_same_seed_same_text(category, toolchain):
    for seed in (0, 7, 12345):
        assert render_log(category, toolchain, random.Random(seed)) == render_log(
            category, toolchain, random.Random(seed)
        )


def test_does_not_touch_global_random_state():
    random.seed(99)
    expected = random.random()
    random.seed(99)
    for category, toolchain in PAIRS:
        render_log(category, toolchain, random.Random(1))
    assert random.random() == expected


@pytest.mark.parametrize(("category", "toolchain"), PAIRS)
def test_varied_across_seeds(category, toolchain):
    texts = {render_log(category, toolchain, random.Random(seed)) for seed in SEEDS}
    assert len(texts) >= 4
    # Not just the same template with different numbers: several distinct first error lines.
    shapes = {re.sub(r"[0-9a-f]{6,}|\d+", "#", t) for t in texts}
    assert len(shapes) >= 4


@pytest.mark.parametrize(("category", "toolchain"), PAIRS)
def test_contains_a_category_marker(category, toolchain):
    for seed in range(200):
        text = render_log(category, toolchain, random.Random(seed)).lower()
        assert any(m in text for m in MARKERS[category]), (seed, text)


@pytest.mark.parametrize("toolchain", TOOLCHAINS)
def test_toolchains_look_different(toolchain):
    hints = {
        "gradle": ("gradle", "task :", "java", "kotlin", ".kt"),
        "npm": ("npm", "node", "jest", ".ts", "webpack", "yarn"),
        "python": ("python", "pip", "pytest", ".py", "poetry"),
    }
    for category in ("build_oom", "flaky_test", "test_timeout", "compilation_error", "dependency_version_conflict"):
        for seed in range(30):
            text = render_log(category, toolchain, random.Random(seed)).lower()
            assert any(h in text for h in hints[toolchain]), (category, seed, text)


def test_bad_category_raises():
    with pytest.raises(ValueError, match="no_such_thing") as exc:
        render_log("no_such_thing", "gradle", random.Random(0))
    assert "build_oom" in str(exc.value)


def test_bad_toolchain_raises():
    with pytest.raises(ValueError, match="maven") as exc:
        render_log("build_oom", "maven", random.Random(0))
    assert "gradle" in str(exc.value) and "python" in str(exc.value)
