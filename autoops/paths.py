"""Where AutoOps finds its files and writes its results: the one module that knows the layout.

Two kinds of folder:

- **Shipped defaults** (read-only): the scenarios, ``dqn.yaml``, ``responder.yaml``,
  ``notify.yaml``, the knowledge base with its incident taxonomy, and the monitoring
  configuration. In a source checkout they are the repository's ``configs/``,
  ``knowledge_base/`` and ``monitoring/``; an installed wheel carries copies of them in
  ``autoops/_defaults/`` (``setup.py`` puts them there). ``AUTOOPS_CONFIG_DIR`` names a user's
  ``configs/`` folder whose files replace the shipped ones of the same name.
- **Results** (written): ``results/`` of the source checkout, or ``$XDG_DATA_HOME/autoops``
  (``~/.local/share/autoops``) for an installed package; ``AUTOOPS_RESULTS_DIR`` moves it, and
  ``AUTOOPS_RUNS_DIR`` / ``AUTOOPS_CACHE_DIR`` move the runs and the caches alone.

Every function returns an absolute path that does not depend on the current directory, and
reads the environment when called (so a test or a service can set a variable at run time).
"""

from __future__ import annotations

import os
from pathlib import Path

from autoops.settings import settings

PACKAGE_DIR = Path(__file__).resolve().parent
_BUNDLED = PACKAGE_DIR / "_defaults"


def project_root() -> Path | None:
    """The source checkout this package was imported from, or None for an installed package."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() and (root / "configs").is_dir() else None


def defaults_dir() -> Path:
    """The folder holding the shipped ``configs/``, ``knowledge_base/`` and ``monitoring/``."""
    if _BUNDLED.is_dir():
        return _BUNDLED
    root = project_root()
    if root is None:
        raise FileNotFoundError(f"AutoOps's default files are missing: neither {_BUNDLED} nor a source checkout "
                                f"beside {PACKAGE_DIR}; reinstall the package")
    return root


# -- configuration (read) ----------------------------------------------------------------------
def default_config_dir() -> Path:
    return defaults_dir() / "configs"


def config_dir() -> Path:
    """The user's ``configs/`` folder (``AUTOOPS_CONFIG_DIR``), else the shipped one."""
    return settings().config_dir or default_config_dir()


def config_file(name: str) -> Path:
    """``name`` (e.g. ``responder.yaml``) from the user's config folder if it has one, else the shipped default."""
    user = settings().config_dir
    if user is not None and (user / name).exists():
        return user / name
    return default_config_dir() / name


def scenario_dir() -> Path:
    """The scenario files: ``scenarios/`` of the user's config folder if it has one (it replaces
    the shipped set and needs its own ``default.yaml``), else the shipped scenarios."""
    return config_file("scenarios")


def knowledge_base_dir() -> Path:
    """The incident knowledge base (``incidents/``, ``taxonomy.yaml``, ``eval/``)."""
    return defaults_dir() / "knowledge_base"


def taxonomy_file() -> Path:
    """The incident taxonomy: ``AUTOOPS_TAXONOMY`` if set, else the one shipped with the knowledge base."""
    return settings().taxonomy or knowledge_base_dir() / "taxonomy.yaml"


def monitoring_dir() -> Path:
    """Prometheus, Alertmanager and Grafana configuration."""
    return defaults_dir() / "monitoring"


# -- results (written) -------------------------------------------------------------------------
def results_dir() -> Path:
    """Everything AutoOps writes: ``AUTOOPS_RESULTS_DIR``, else ``results/`` of the checkout, else the user data folder."""
    explicit = settings().results_dir
    if explicit is not None:
        return explicit
    root = project_root()
    if root is not None:
        return root / "results"
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home.resolve() / "autoops"


def runs_dir() -> Path:
    """Training runs (one folder each; TensorBoard's ``--logdir``): ``AUTOOPS_RUNS_DIR`` or ``results/runs``."""
    return settings().runs_dir or results_dir() / "runs"


def cache_dir() -> Path:
    """Rebuildable caches (embedding index, dequantized LLM weights): ``AUTOOPS_CACHE_DIR`` or ``results/cache``."""
    return settings().cache_dir or results_dir() / "cache"


def bench_dir() -> Path:
    return results_dir() / "bench"


def sweeps_dir() -> Path:
    return results_dir() / "sweeps"


def tune_dir() -> Path:
    return results_dir() / "tune"


def stack_dir() -> Path:
    return results_dir() / "stack"


def resolve(path: str | os.PathLike, base: Path) -> Path:
    """``path`` as given if absolute, else relative to ``base`` (a config file's own folder, say)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (base / path).resolve()
