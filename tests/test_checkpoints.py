"""Training that survives a kill: checkpoints, SIGKILL and SIGTERM of a real `autoops train`,
``--resume``, and readers that never use a damaged model (evaluate, the optimizer agent and its
service). Runs of 3,000 steps with a checkpoint every 1,000."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from autoops.agents import AgentUnavailable
from autoops.agents.optimizer import OptimizerAgent
from autoops.api.optimizer import create_optimizer_app
from autoops.cli import app
from autoops.optimizer import online, runs
from autoops.optimizer.train import train

runner = CliRunner()
SCENARIO, SEED = "NodeWebapp", 1
SETTINGS = ["total_timesteps=3000", "checkpoint_freq=1000", "eval_freq=500", "learning_starts=200"]


def metrics(run):
    return json.loads((run / runs.METRICS).read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run (trained in the main thread: its signal handlers must be put back)."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    run = train(SCENARIO, SEED, SETTINGS, run_root=tmp_path_factory.mktemp("reference"), progress=False)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    return run


def start_training(root, agent="dqn", settings=SETTINGS):
    command = [sys.executable, "-m", "autoops.cli", "train", "--agent", agent, "-s", SCENARIO, "--seed", str(SEED),
               *[arg for s in settings for arg in ("--set", s)], "--run-root", str(root), "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root.parent)


def first_checkpoint(process, root, timeout=180):
    """The run folder once its first checkpoint is in place (renamed whole, so it is complete)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(root.glob(f"{SCENARIO}__*/{runs.CHECKPOINTS}/[0-9]*"))
        if found:
            return found[0].parent.parent
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    process.kill()
    pytest.fail("no checkpoint appeared")


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A run of `autoops train` killed with SIGKILL right after its first checkpoint."""
    root = tmp_path_factory.mktemp("killed") / "runs"
    root.mkdir()
    process = start_training(root)
    run = first_checkpoint(process, root)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return run


def test_a_finished_run_records_its_files_and_keeps_no_checkpoint(reference):
    data = metrics(reference)
    assert data["status"] == "complete" and data["num_timesteps"] == 3000
    for name in (runs.MODEL, runs.REPLAY_BUFFER):
        assert data["files"][name] == runs.file_record(reference / name)
    assert not (reference / runs.CHECKPOINTS).exists()
    assert [p.name for p in reference.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_sigkill_then_resume_reaches_the_budget_with_the_uninterrupted_metrics(killed, reference, tmp_path):
    assert not (killed / runs.MODEL).exists() and not (killed / runs.METRICS).exists()
    assert runs.latest_run(SCENARIO, killed.parent) is None  # nothing to serve yet
    checkpoint, passed_over = runs.latest_checkpoint(killed)
    assert checkpoint is not None and passed_over == [] and 1000 <= checkpoint.step < 2000
    assert "autoops train --resume" in runner.invoke(app, ["evaluate", str(killed)]).output

    result = runner.invoke(app, ["train", "--resume", str(killed), "--run-root", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    (resumed,) = tmp_path.iterdir()
    config = yaml.safe_load((resumed / runs.CONFIG).read_text())
    assert config["resumed_from"] == str(killed) and config["resumed_at_step"] == checkpoint.step
    assert config["resumed_from_checkpoint"] == str(checkpoint.path)
    got, want = metrics(resumed), metrics(reference)
    assert got["status"] == "complete" and got["num_timesteps"] == 3000
    # RNG, environment and exploration states restored at a training-phase boundary: bit-identical
    assert got["curve"] == want["curve"] and got["final"] == want["final"]
    assert runs.latest_run(SCENARIO, tmp_path) == resumed


def test_sigterm_writes_a_checkpoint_and_says_how_to_resume(reference, tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    process = start_training(root)
    run = first_checkpoint(process, root)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, (out, err)
    assert "interrupted by SIGTERM" in out and f"autoops train --resume {run}" in out and "Traceback" not in err
    data = metrics(run)
    assert data["status"] == "interrupted" and data["num_timesteps"] < 3000
    checkpoint, _ = runs.latest_checkpoint(run)
    assert checkpoint.step == data["num_timesteps"]  # written where it stopped; the older one deleted
    assert [c.name for c in (run / runs.CHECKPOINTS).iterdir()] == [str(checkpoint.step)]

    resumed = train(resume_from=run, run_root=tmp_path / "resumed", progress=False)
    assert metrics(resumed)["curve"] == metrics(reference)["curve"]


@pytest.mark.parametrize("agent, total", [("factored", 3000), ("ppo", 2000)])
def test_an_agent_run_killed_with_sigkill_resumes_from_the_command_line(agent, total, tmp_path):
    """The online loop's runs (agent/ and state.pkl in each checkpoint) as DQN's above."""
    settings = [f"total_timesteps={total}", "checkpoint_freq=500", "eval_freq=500"]
    reference = online.train(agent, SCENARIO, SEED, settings, run_root=tmp_path / "reference", progress=False)
    root = tmp_path / "killed"
    root.mkdir()
    process = start_training(root, agent, settings)
    run = first_checkpoint(process, root)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL and not (run / runs.METRICS).exists()
    checkpoint, passed_over = runs.latest_checkpoint(run)
    assert checkpoint is not None and passed_over == [] and checkpoint.step < total
    evaluated = runner.invoke(app, ["evaluate", str(run)])
    assert evaluated.exit_code == 2 and f"autoops train --resume {run}" in evaluated.output

    result = runner.invoke(app, ["train", "--resume", str(run), "--run-root", str(tmp_path / "resumed"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (resumed,) = (tmp_path / "resumed").iterdir()
    config = yaml.safe_load((resumed / runs.CONFIG).read_text())
    assert config["agent"] == agent and config["resumed_from"] == str(run) and config["resumed_at_step"] == checkpoint.step
    got, want = metrics(resumed), metrics(reference)
    assert got["status"] == "complete" and got["num_timesteps"] == total
    # the agent, the env's position and random stream and the cost counters restored: the same numbers
    for key in ("curve", "final", "cumulative_regret", "break_even_build"):
        assert got[key] == want[key], key
    evaluated = runner.invoke(app, ["evaluate", str(resumed)], env={"COLUMNS": "200"})
    assert evaluated.exit_code == 0 and f"{agent} greedy" in evaluated.output and "cost of learning over its" in evaluated.output


def test_torn_checkpoints_are_passed_over(killed, tmp_path):
    run = tmp_path / killed.name
    shutil.copytree(killed, run)
    (valid,) = (run / runs.CHECKPOINTS).iterdir()
    no_manifest = run / runs.CHECKPOINTS / str(int(valid.name) + 100)
    shutil.copytree(valid, no_manifest)
    (no_manifest / runs.MANIFEST).unlink()  # killed before its manifest
    short = run / runs.CHECKPOINTS / str(int(valid.name) + 200)
    shutil.copytree(valid, short)
    manifest = json.loads((short / runs.MANIFEST).read_text())
    runs.write_json(short / runs.MANIFEST, {**manifest, "step": int(short.name)})
    truncate(short / runs.REPLAY_BUFFER, 1000)  # a file cut short
    checkpoint, passed_over = runs.latest_checkpoint(run)
    assert checkpoint.path == valid
    assert "1000 bytes where" in passed_over[0] and "no manifest.json" in passed_over[1]

    out = tmp_path / "out"
    result = runner.invoke(app, ["train", "--resume", str(run), "--timesteps", "32", "--run-root", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    (resumed,) = out.iterdir()
    assert yaml.safe_load((resumed / runs.CONFIG).read_text())["resumed_at_step"] == int(valid.name)
    assert metrics(resumed)["num_timesteps"] == int(valid.name) + 32

    truncate(valid / runs.MODEL, 100)  # now no checkpoint is whole
    result = runner.invoke(app, ["train", "--resume", str(run), "--run-root", str(out), "--no-progress"])
    assert result.exit_code == 2 and "no valid checkpoint" in result.output and "model.zip: 100 bytes" in result.output


def copy_run(reference, root, stamp):
    run = root / f"{SCENARIO}__default__{SEED}__{stamp}"
    shutil.copytree(reference, run)
    return run


def truncate(path, size=None):
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size // 2 if size is None else size)


def test_a_truncated_model_is_never_served(reference, tmp_path):
    older = copy_run(reference, tmp_path, "20250101-000000")
    newer = copy_run(reference, tmp_path, "20260101-000000")
    truncate(newer / runs.MODEL)
    assert runs.latest_run(SCENARIO, tmp_path) == older

    result = runner.invoke(app, ["evaluate", str(newer)])
    assert result.exit_code == 2 and f"{newer / runs.MODEL}:" in result.output and "truncated" in result.output
    assert "Traceback" not in result.output

    agent = OptimizerAgent(tmp_path)
    assert agent.best_action(SCENARIO, state_index=0)["run_dir"] == str(older)
    with pytest.raises(AgentUnavailable, match="truncated"):
        OptimizerAgent(run_dirs={SCENARIO: newer}).best_action(SCENARIO, state_index=0)

    truncate(older / runs.MODEL)
    client = TestClient(create_optimizer_app(OptimizerAgent(tmp_path)))
    answer = client.post("/get_best_action", json={"scenario": SCENARIO, "state_index": 0})
    assert answer.status_code == 503 and "no trained optimizer" in answer.text


def test_a_damaged_model_without_a_record_fails_to_load_and_is_skipped(reference, tmp_path, monkeypatch):
    older = copy_run(reference, tmp_path, "20250101-000000")
    newer = copy_run(reference, tmp_path, "20260101-000000")
    data = metrics(newer)
    del data["files"]  # as in runs written before records were kept
    runs.write_json(newer / runs.METRICS, data)
    truncate(newer / runs.MODEL)
    assert runs.latest_run(SCENARIO, tmp_path) == newer  # complete, and no record to compare with

    result = runner.invoke(app, ["evaluate", str(newer)])
    assert result.exit_code == 2 and f"{newer / runs.MODEL}: not a loadable model" in result.output
    loads = []
    monkeypatch.setattr(runs, "load_model", lambda run, load=runs.load_model: loads.append(run) or load(run))
    agent = OptimizerAgent(tmp_path)
    assert agent.best_action(SCENARIO, state_index=5)["run_dir"] == str(older)
    assert agent.best_action(SCENARIO, state_index=6)["run_dir"] == str(older)
    assert loads == [newer, older]  # neither the damaged model nor the good one is loaded twice
    monkeypatch.undo()

    # same size, other bytes: only the sha256 tells
    with open(older / runs.MODEL, "r+b") as file:
        file.seek(1000)
        file.write(b"\0" * 64)
    with pytest.raises(AgentUnavailable, match="sha256 differs"):
        OptimizerAgent(tmp_path).best_action(SCENARIO, state_index=0)


def test_training_in_a_thread_leaves_signals_alone(tmp_path):
    done = []
    worker = threading.Thread(target=lambda: done.append(train(
        SCENARIO, 0, ["total_timesteps=200", "learning_starts=50", "eval_freq=200", "checkpoint_freq=100"],
        run_root=tmp_path, progress=False)))
    worker.start()
    worker.join(120)
    assert done and metrics(done[0])["status"] == "complete"
    assert os.listdir(done[0]).count(runs.CHECKPOINTS) == 0
