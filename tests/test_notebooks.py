"""Every notebook executes through papermill with small parameters, so a notebook that breaks fails CI.

They run from a working directory of their own, never ``notebooks/``: a notebook finds its files
and writes its results through ``autoops.paths``, wherever papermill is started.
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from autoops import paths
from tests.conftest import SHARED

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module", autouse=True)
def kernel():
    from jupyter_client.kernelspec import find_kernel_specs

    if "autoops" not in find_kernel_specs():  # `make setup` registers it; a bare pytest may not have
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "autoops"], check=True)


@pytest.fixture
def results(tmp_path, monkeypatch) -> Path:
    """AutoOps's results folder moved into the test's folder (the kernel inherits the variable)."""
    monkeypatch.setenv("AUTOOPS_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("AUTOOPS_RUNS_DIR", raising=False)
    return paths.results_dir()


class _Logged(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def run(name: str, out: Path, **parameters) -> Path:
    """Execute a notebook from ``out/elsewhere/deeper`` (so a path relative to the working directory
    would land in ``out/elsewhere``): nothing may be written there, and papermill may warn about
    nothing (a parameters line it cannot parse, a parameter the notebook does not declare)."""
    output = out / name
    workdir = out / "elsewhere" / "deeper"
    workdir.mkdir(parents=True, exist_ok=True)
    logged = _Logged()
    logging.getLogger("papermill").addHandler(logged)
    try:
        papermill.execute_notebook(str(NOTEBOOKS / name), str(output), parameters=parameters, kernel_name="autoops",
                                   cwd=str(workdir), progress_bar=False)
    finally:
        logging.getLogger("papermill").removeHandler(logged)
    assert logged.messages == []
    assert list((out / "elsewhere").rglob("*")) == [workdir]
    return output


def stderr(notebook: Path) -> list[str]:
    """What the executed notebook printed in red."""
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(o["text"]) for c in cells for o in c.get("outputs", []) if o.get("name") == "stderr"]


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_parameters_cell_parses(name, caplog):
    """papermill skips a parameters line with two '=' (a comment counts), and warns."""
    with caplog.at_level(logging.WARNING, logger="papermill"):
        assert papermill.inspect_notebook(str(NOTEBOOKS / name))
    assert [r.getMessage() for r in caplog.records] == []


def test_train_and_compare_notebooks(tmp_path, results):
    """Training runs as a sweep gives them (a run_dir each), then the comparison of the default sweep folder."""
    sweep = paths.sweeps_dir() / "dqn_configs"
    for seed in (0, 1):
        out = run("01_train_dqn.ipynb", tmp_path, scenario="NodeWebapp", seed=seed, timesteps=2000,
                  configs={"default": {"learning_starts": 500, "eval_freq": 500}}, run_dir=str(sweep / f"seed={seed}"))
    assert stderr(out) == []
    out = run("02_compare_dqn_configs.ipynb", tmp_path, reps=200)
    summary = (sweep / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("scenario,config,seeds,regret_iqm") and summary[1].startswith("NodeWebapp,default,2,")
    assert stderr(out) == []


def test_train_notebook_writes_under_results(tmp_path, results):
    """Without run_dir the run goes to paths.runs_dir(), where TensorBoard looks, wherever papermill runs."""
    run("01_train_dqn.ipynb", tmp_path, scenario="NodeWebapp", timesteps=1000,
        configs={"default": {"learning_starts": 500, "eval_freq": 500}})
    runs = list(paths.runs_dir().iterdir())
    assert len(runs) == 1 and runs[0].is_relative_to(results) and (runs[0] / "model.zip").is_file()


def test_agent_leaderboard_notebooks(tmp_path, results):
    """Notebook 01 trains any agent into a sweep's layout; notebook 05 aggregates the runs of every
    agent there and writes the targets of each (agent, scenario)."""
    import pandas as pd

    from autoops.optimizer.online import train

    sweep = tmp_path / "agents"
    out = run("01_train_dqn.ipynb", tmp_path, agent="factored", scenario="NodeWebapp", seed=0, timesteps=1000,
              configs={"default": {"eval_freq": 500}}, run_dir=str(sweep / "agent=factored__seed=0"))
    assert stderr(out) == []
    for agent, seed in [("factored", 1), ("ppo", 0)]:  # directly: a kernel each would double the test's time
        train(agent, "NodeWebapp", seed, {"total_timesteps": 1000, "eval_freq": 500}, run_root=sweep / f"agent={agent}__seed={seed}",
              progress=False)
    out = run("05_compare_agents.ipynb", tmp_path, sweep_dir=str(sweep), reps=100)
    assert stderr(out) == []
    targets = pd.read_csv(sweep / "targets.csv")
    assert sorted(set(targets.label)) == ["factored", "ppo"] and set(targets.scenario) == {"NodeWebapp"}
    assert targets.loc[targets.target == "median break-even build", "seeds"].tolist() == [2, 1]
    figures = sum("image/png" in o.get("data", {}) for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", []))
    assert figures == 3  # greedy regret, cumulative regret, wall time


def test_rag_evaluation_notebook(tmp_path, monkeypatch):
    """With its default case files (our queries, and the team's dev cases beside the checkout), and
    no red warnings even when ranx's Numba kernels compile afresh, as on a new install."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    out = run("03_rag_evaluation.ipynb", tmp_path, generator="extractive", generation_cases=5)
    generation = json.loads(out.read_text())["cells"][-1]["outputs"][0]["data"]["text/plain"]
    assert "our queries" in "".join(generation)
    assert ("dev cases" in "".join(generation)) == SHARED.is_dir()  # the dev cases are evaluated where the checkout has them
    assert stderr(out) == []


def test_end_to_end_demo_notebook(tmp_path):
    """The stack when its binaries are installed (always in CI), else the embedded controller: the
    figure is drawn and the responder answered the incident's alert."""
    import json

    from autoops.system.stack import binaries_available
    from tests.test_monitoring import binary

    if os.environ.get("CI"):
        for name in ("prometheus", "promtool", "prometheus-alertmanager"):
            binary(name)
    out = run("04_end_to_end_demo.ipynb", tmp_path, generator="extractive", iterations=20, interval_s=1.0,
              incident_builds=60, train_steps=1500, runs_dir=str(tmp_path / "runs"), mode="auto", alert_wait_s=150)
    cells = {tag: cell for cell in json.loads(out.read_text())["cells"] for tag in cell["metadata"].get("tags", [])}

    def text(tag: str) -> str:
        return "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")) for o in cells[tag]["outputs"])

    assert ("stack: " if binaries_available() else "embedded: ") in text("session")
    assert any("image/png" in o.get("data", {}) for o in cells["figure"]["outputs"])
    assert "AutoOpsHighBuildFailureRate" in text("alerts")
    assert "AutoOpsHighBuildFailureRate" in text("answers") and "extractive" in text("answers")
