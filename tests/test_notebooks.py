"""Every notebook executes through papermill with small parameters, so a notebook that breaks fails CI."""

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
