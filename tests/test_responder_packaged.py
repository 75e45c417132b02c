"""The responder finds its knowledge base, taxonomy and settings from the package alone: from any
working directory, with no ../shared beside the project, and a user's config folder overrides
the shipped responder.yaml. (CI keeps ../shared beside the project, so the first test copies the
package to a folder that has none.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autoops import paths
from autoops.responder import Responder, ResponderConfig
from autoops.responder.kb import TAXONOMY_ENV, default_kb_dir

NPM_LOG = "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\n"
# The responder picks the caches (AUTOOPS_CACHE_DIR) up; the rest would point it elsewhere.
CONFIG_VARIABLES = ("AUTOOPS_TAXONOMY", "AUTOOPS_CONFIG_DIR", "AUTOOPS_RESULTS_DIR")


def _clone(root: Path, into: Path) -> Path:
    """What `git clone` gives a newcomer: the package and its data files, nothing beside them."""
    clone = into / "autoops-clone"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("autoops", "configs", "knowledge_base"):
        shutil.copytree(root / folder, clone / folder, ignore=ignore)
    shutil.copy(root / "pyproject.toml", clone / "pyproject.toml")
    return clone


def test_suggest_runs_from_another_directory_without_shared(tmp_path):
    root = paths.project_root()
    if root is None:
        pytest.skip("an installed package: there is no checkout to clone")
    clone = _clone(root, tmp_path)
    assert not (clone.parent / "shared").exists()
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env["PYTHONPATH"] = str(clone)  # ahead of the editable install of the checkout
    env["AUTOOPS_CACHE_DIR"] = str(paths.cache_dir())  # reuse the embedding index and ONNX export
    script = "import sys, autoops; print('package:', autoops.__file__, file=sys.stderr); from autoops.cli import app; app()"
    result = subprocess.run(
        [sys.executable, "-c", script, "suggest", "--json", "-g", "extractive"],
        input=NPM_LOG, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"package: {clone / 'autoops'}" in result.stderr  # the copy ran, not the checkout
    answer = json.loads(result.stdout)
    assert answer["category"] == "dependency_version_conflict" and not answer["declined"]
    assert answer["generator"] == "extractive" and answer["fix_steps"]
    assert not (elsewhere / "results").exists() and not list(elsewhere.iterdir())  # nothing written to the cwd


def test_a_config_folder_with_its_own_responder_yaml_is_honoured(tmp_path, monkeypatch):
    config_dir = tmp_path / "my-configs"
    (config_dir / "incidents").mkdir(parents=True)
    for name in ("build_oom-gradle-daemon-heap", "disk_full-ci-runner-no-space", "flaky_test-race-in-async-test"):
        shutil.copy(default_kb_dir() / f"{name}.md", config_dir / "incidents" / f"{name}.md")
    # relative paths: relative to the config file's folder, whatever the working directory
    (config_dir / "responder.yaml").write_text("kb_path: incidents\ncache_dir: cache\nk: 2\ngenerator: extractive\n")
    monkeypatch.delenv(TAXONOMY_ENV, raising=False)
    monkeypatch.setenv("AUTOOPS_CONFIG_DIR", str(config_dir))
    monkeypatch.chdir(tmp_path)

    config = ResponderConfig.load()
    assert (config.k, config.generator) == (2, "extractive")
    assert config.kb_path == str(config_dir / "incidents") and config.cache_dir == str(config_dir / "cache")
    responder = Responder.from_config()
    assert len(responder.kb) == 3 and responder.retriever.cache_dir == config_dir / "cache"
    hits = responder.retrieve("write /var/lib/docker/tmp/x: no space left on device")
    assert len(hits) == 2 and hits[0].category == "disk_full"
    assert list((config_dir / "cache").glob("*.faiss"))


def test_the_shipped_taxonomy_is_the_teams(shared_dir):
    shipped = yaml.safe_load((paths.knowledge_base_dir() / "taxonomy.yaml").read_text(encoding="utf-8"))
    team = yaml.safe_load((shared_dir / "incident_taxonomy.yaml").read_text(encoding="utf-8"))
    assert shipped == team
