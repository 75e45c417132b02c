"""Realistic CI error-log excerpts for the failed builds of AutoOps' build simulator: given the
failure category and the project's toolchain (a Gradle JVM monorepo, an npm web app or a Python
library), ``render_log`` prints what the CI job would have shown, in the style of GitHub Actions,
GitLab CI, Jenkins or TeamCity, with names, versions, digests, timings and paths drawn from the
caller's ``random.Random`` so that agents reading the logs see varied but category-faithful text.

The text is data: ``templates/<category>.yaml``, ``frames.yaml``, ``snippets.yaml`` and
``words.yaml`` beside this module (``catalog`` loads and checks them, once per process, on the
first call); ``values`` says how each placeholder's value is drawn.
"""

from __future__ import annotations

import random
from itertools import chain

from autoops.envs.categories import FAILURES, TOOLCHAINS
from autoops.envs.logs.catalog import TemplateError, package_catalog
from autoops.envs.logs.values import Ctx

__all__ = ["CATEGORIES", "TOOLCHAINS", "TemplateError", "render_log"]

CATEGORIES = FAILURES  # every failure the simulator produces has templates


def render_log(category: str, toolchain: str, rng: random.Random) -> str:
    """A multi-line log excerpt, as a CI job would print it, for a build that failed with `category`."""
    logs, gens = package_catalog()
    by_toolchain = logs.get(category)
    if by_toolchain is None:
        raise ValueError("unknown failure category %r; expected one of %s" % (category, ", ".join(CATEGORIES)))
    templates = by_toolchain.get(toolchain)
    if templates is None:
        raise ValueError("unknown toolchain %r; expected one of %s" % (toolchain, ", ".join(TOOLCHAINS)))
    r = rng.random
    variants = templates[int(r() * len(templates))]
    lits, slots, fills = variants[int(r() * len(variants))]
    c = Ctx(rng, gens)
    vals = c.vals
    for key, gen in slots:
        if key not in vals:  # a derived value may have drawn it already
            vals[key] = gen(c)
    return "".join(chain.from_iterable(zip(lits, map(vals.__getitem__, fills))))
