"""Run folders (autoops.optimizer.runs): names, the newest complete run, atomic writes; and
``autoops train --help`` without torch. No training here: the folders are made by hand."""

import json
import os
import re
import subprocess
import sys

import pytest

from autoops.optimizer import runs
from autoops.optimizer.runs import RunError


def _run(root, name, status="complete", model=True):
    folder = root / name
    folder.mkdir(parents=True)
    if model:
        (folder / runs.MODEL).write_bytes(b"PK")
    if status is not None:
        runs.write_json(folder / runs.METRICS, {"status": status})
    return folder


def test_new_run_dir_names_scenario_config_seed_time(tmp_path):
    first = runs.new_run_dir("NodeWebapp", "wide_net", 3, tmp_path)
    assert re.fullmatch(r"NodeWebapp__wide_net__3__\d{8}-\d{6}", first.name) and first.is_dir()
    second = runs.new_run_dir("NodeWebapp", "wide_net", 3, tmp_path)  # same second: a suffix, not the same folder
    assert second != first and re.fullmatch(r"NodeWebapp__wide_net__3__\d{8}-\d{6}(-2)?", second.name)
    for bad in ("a b", "a__b", "", "_x"):
        with pytest.raises(RunError, match="config name"):
            runs.new_run_dir("NodeWebapp", bad, 0, tmp_path)


def test_the_default_runs_folder_is_read_when_called(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOOPS_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert runs.new_run_dir("JvmMonorepo", "default", 0).parent == (tmp_path / "elsewhere").resolve()


def test_latest_run_is_the_newest_complete_run_with_a_model(tmp_path):
    assert runs.latest_run("NodeWebapp", tmp_path / "missing") is None
    _run(tmp_path, "NodeWebapp__default__0__20260101-120000")
    newest = _run(tmp_path, "NodeWebapp__default__1__20260102-120000-10")  # the 10th run of that second
    _run(tmp_path, "NodeWebapp__default__1__20260102-120000-2")
    _run(tmp_path, "NodeWebapp__default__0__20260103-120000", model=False)  # no model
    _run(tmp_path, "NodeWebapp__default__0__20260104-120000", status=None)  # still training: no metrics.json
    _run(tmp_path, "NodeWebapp__default__0__20260105-120000", status="interrupted")
    _run(tmp_path, "NodeWebapp2__default__0__20260106-120000")  # another scenario with a longer name
    assert runs.latest_run("NodeWebapp", tmp_path) == newest
    assert runs.latest_run("JvmMonorepo", tmp_path) is None


def test_write_json_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    runs.write_json(path, {"status": "old"})
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((json.loads(open(src).read()), json.loads(path.read_text())))  # new file complete, old one intact
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="disk gone"):
        runs.write_json(path, {"status": "new", "curve": list(range(1000))})
    assert seen and seen[0][0]["status"] == "new" and seen[0][1] == {"status": "old"}
    assert json.loads(path.read_text()) == {"status": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no partial or temporary file left
    monkeypatch.setattr(os, "replace", real_replace)
    runs.write_json(path, {"status": "new"})
    assert json.loads(path.read_text()) == {"status": "new"} and len(list(tmp_path.iterdir())) == 1


def test_read_run_config_and_load_model_name_the_problem(tmp_path):
    with pytest.raises(RunError, match="no such run folder"):
        runs.read_run_config(tmp_path / "missing")
    with pytest.raises(RunError, match="not a training run"):
        runs.read_run_config(tmp_path)
    (tmp_path / runs.CONFIG).write_text("scenario: NodeWebapp\n")
    with pytest.raises(RunError, match="expected scenario, seed and settings"):
        runs.read_run_config(tmp_path)
    with pytest.raises(RunError, match="no model.zip"):
        runs.load_model(tmp_path)


def test_ensure_trained_returns_the_existing_run_without_training(tmp_path):
    from autoops.optimizer.train import ensure_trained

    run = _run(tmp_path, "PythonLibrary__demo__0__20260101-120000")
    assert ensure_trained("AutoOps/PythonLibrary-v0", runs_root=tmp_path, progress=False) == run


def test_train_help_does_not_import_torch(tmp_path):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from autoops.cli import app\n"
        "result = CliRunner().invoke(app, ['train', '--help'], env={'COLUMNS': '80'})\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'learning_rate (float, default' in result.output and 'Adam step size' in result.output\n"
        "print('torch' in sys.modules, 'stable_baselines3' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
