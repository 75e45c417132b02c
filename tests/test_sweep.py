"""Sweeps through real papermill kernels, on the local backend and on a local Ray."""

import json
import subprocess
import sys

import nbformat
import pytest
from typer.testing import CliRunner

from autoops.cli import app
from autoops.sweep import KERNEL, Sweep, SweepError, run_sweep


@pytest.fixture(scope="module", autouse=True)
def kernel():
    from jupyter_client.kernelspec import find_kernel_specs

    if KERNEL not in find_kernel_specs():  # `make setup` registers it; a bare pytest may not have
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL], check=True)


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cells[0], metadata={"tags": ["parameters"]}), *(nbformat.v4.new_code_cell(c) for c in cells[1:])]
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path):
    _notebook(tmp_path / "square.ipynb",
              "x = 0\nseed = 0\nrun_dir = '.'",
              "import json, pathlib\nif x == 3 and seed == 1:\n    raise RuntimeError('x=3 breaks on seed 1')\n"
              "pathlib.Path(run_dir, 'result.json').write_text(json.dumps({'x': x, 'seed': seed, 'y': x * x}))")
    _notebook(tmp_path / "compare.ipynb",
              "sweep_dir = '.'",
              "import json, pathlib\nrows = [json.loads(p.read_text()) for p in pathlib.Path(sweep_dir).glob('*/result.json')]\n"
              "pathlib.Path(sweep_dir, 'summary.json').write_text(json.dumps(sorted(r['y'] for r in rows)))")
    (tmp_path / "sweep.yaml").write_text(
        "notebook: square.ipynb\noutput_dir: out\ngrid:\n  x: [2, 3]\nseeds: [0, 1]\ncompare: compare.ipynb\n")
    return tmp_path


def test_local_sweep_runs_records_failures_resumes_and_compares(project):
    sweep = Sweep.load(project / "sweep.yaml", root=project)
    summary = run_sweep(sweep, backend="local", workers=2, progress=False)
    assert summary["runs"] == 4 and summary["ok"] == 3 and summary["failed"] == ["x=3__seed=1"]
    failed = json.loads((project / "out" / "x=3__seed=1" / "status.json").read_text())
    assert failed["status"] == "failed" and "x=3 breaks on seed 1" in failed["error"]
    assert json.loads((project / "out" / "summary.json").read_text()) == [4, 4, 9]
    assert summary["compare"] == "ok"
    again = run_sweep(sweep, backend="local", workers=1, progress=False)
    assert again["skipped_done"] == 3 and again["failed"] == ["x=3__seed=1"]  # only the failed one ran again


def test_ray_backend_runs_each_combination_as_a_task(project):
    sweep = Sweep.load(project / "sweep.yaml", root=project)
    summary = run_sweep(sweep, backend="ray", workers=2, object_store_mb=80, progress=False)
    assert summary["ok"] == 3 and summary["failed"] == ["x=3__seed=1"] and summary["compare"] == "ok"
    assert json.loads((project / "out" / "x=2__seed=0" / "result.json").read_text())["y"] == 4


@pytest.mark.parametrize("body,message", [
    ("grid:\n  x: [1]\n", "field 'notebook': missing"),
    ("notebook: square.ipynb\ngrid:\n  x: 1\n", "field 'grid'"),
    ("notebook: square.ipynb\nseeds: [a]\n", "field 'seeds'"),
    ("notebook: absent.ipynb\n", "does not exist"),
    ("notebook: square.ipynb\nworkers: 3\n", "field 'workers': unknown"),
])
def test_bad_sweep_files_name_the_field(project, body, message):
    (project / "bad.yaml").write_text(body)
    with pytest.raises(SweepError, match=message):
        Sweep.load(project / "bad.yaml", root=project)


def test_cli_reports_a_bad_sweep_file_without_a_traceback(tmp_path):
    result = CliRunner().invoke(app, ["sweep", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such sweep file" in result.output
