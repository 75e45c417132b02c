"""Every notebook executes through papermill with small parameters, so a notebook that breaks fails CI."""

import os
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module", autouse=True)
def kernel():
    from jupyter_client.kernelspec import find_kernel_specs

    if "autoops" not in find_kernel_specs():  # `make setup` registers it; a bare pytest may not have
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "autoops"], check=True)


def run(name: str, out: Path, **parameters) -> Path:
    output = out / name
    papermill.execute_notebook(str(NOTEBOOKS / name), str(output), parameters=parameters, kernel_name="autoops",
                               cwd=str(NOTEBOOKS), progress_bar=False)
    return output


def test_train_and_compare_notebooks(tmp_path):
    sweep = tmp_path / "sweep"
    for seed in (0, 1):
        run("01_train_dqn.ipynb", tmp_path, scenario="NodeWebapp", seed=seed, timesteps=2000,
            configs={"default": {"learning_starts": 500, "eval_freq": 500}}, run_dir=str(sweep / f"seed={seed}"))
    run("02_compare_dqn_configs.ipynb", tmp_path, sweep_dir=str(sweep), reps=200)
    summary = (sweep / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("scenario,config,seeds,regret_iqm") and summary[1].startswith("NodeWebapp,default,2,")


def test_rag_evaluation_notebook(tmp_path, shared_dir):
    out = run("03_rag_evaluation.ipynb", tmp_path, generator="extractive", generation_cases=5,
              case_files={"our queries": "../knowledge_base/eval/queries.jsonl", "dev cases": str(shared_dir / "responder_dev_cases.jsonl")})
    assert out.exists()


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
