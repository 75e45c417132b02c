"""Where AutoOps reads and writes, and a package that works outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autoops import paths
from autoops.settings import Settings, SettingsError

ROOT = paths.project_root()


def test_paths_are_absolute_and_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    here = {f: getattr(paths, f)() for f in ("config_dir", "scenario_dir", "knowledge_base_dir", "taxonomy_file",
                                             "results_dir", "runs_dir", "cache_dir", "monitoring_dir")}
    monkeypatch.chdir(tmp_path)
    for name, path in here.items():
        assert path.is_absolute() and getattr(paths, name)() == path, name
    assert paths.taxonomy_file().is_file() and (paths.knowledge_base_dir() / "incidents").is_dir()


def test_a_user_config_folder_replaces_only_the_files_it_has(tmp_path, monkeypatch):
    (tmp_path / "notify.yaml").write_text("urls: []\n")
    monkeypatch.setenv("AUTOOPS_CONFIG_DIR", str(tmp_path))
    assert paths.config_file("notify.yaml") == tmp_path / "notify.yaml"
    assert paths.config_file("responder.yaml") == paths.default_config_dir() / "responder.yaml"
    assert paths.scenario_dir() == paths.default_config_dir() / "scenarios"


def test_results_runs_and_caches_move_with_their_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOOPS_RESULTS_DIR", str(tmp_path / "r"))
    assert paths.runs_dir() == tmp_path / "r" / "runs" and paths.cache_dir() == tmp_path / "r" / "cache"
    monkeypatch.setenv("AUTOOPS_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert paths.runs_dir() == tmp_path / "elsewhere"


def test_a_bad_setting_names_the_variable():
    with pytest.raises(SettingsError, match="AUTOOPS_SEED='x': expected an integer"):
        Settings.from_env({"AUTOOPS_SEED": "x"})
    with pytest.raises(SettingsError, match="AUTOOPS_DIAGNOSE='maybe'"):
        Settings.from_env({"AUTOOPS_DIAGNOSE": "maybe"})
    s = Settings.from_env({"AUTOOPS_NOTIFY_URLS": "json://a, json://b", "AUTOOPS_MONITOR_URL": "http://m:1"})
    assert s.notify_urls == ("json://a", "json://b") and s.agent_urls() == {"monitor": "http://m:1"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from this checkout, installed (without dependencies) into a folder of its own."""
    if ROOT is None:
        pytest.skip("not a source checkout")
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy, as from a fresh clone: setuptools leaves build/ in the folder it builds
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "results", "build", "*.egg-info", "__pycache__"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out / "dist"), str(source)],
                           capture_output=True, text=True, cwd=out)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((out / "dist").glob("autoops-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("autoops/_defaults/configs/scenarios/default.yaml", "autoops/_defaults/configs/responder.yaml",
                    "autoops/_defaults/knowledge_base/taxonomy.yaml", "autoops/_defaults/monitoring/prometheus.yml"):
        assert shipped in names, shipped
    target = out / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    return target


def run_installed(site: Path, cwd: Path, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOOPS_")}
    env.update(PYTHONPATH=str(site), HOME=str(cwd), XDG_DATA_HOME=str(cwd / "data"))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_the_installed_package_works_from_any_directory(installed, tmp_path):
    code = ("import autoops, gymnasium as gym; from autoops import paths\n"
            "assert autoops.__file__.startswith(%r), autoops.__file__\n"
            "env = gym.make('AutoOps/NodeWebapp-v0'); env.reset(seed=0); env.step(1)\n"
            "print(paths.defaults_dir()); print(paths.results_dir())" % str(installed))
    result = run_installed(installed, tmp_path, code)
    assert result.returncode == 0, result.stderr[-3000:]
    defaults, results = result.stdout.split()
    assert defaults == str(installed / "autoops" / "_defaults") and results == str(tmp_path / "data" / "autoops")


def test_the_installed_responder_answers_with_the_shipped_taxonomy_and_knowledge_base(installed, tmp_path):
    """No ../shared and no checkout: the taxonomy and incidents come from the package alone."""
    code = ("from autoops.responder import Responder\n"
            "s = Responder.from_config(generator='extractive').suggest(\"ERROR: toomanyrequests: You have reached your pull rate limit.\")\n"
            "print(s.category)")
    result = run_installed(installed, tmp_path, code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "docker_pull_rate_limit"
