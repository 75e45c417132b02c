import json

from typer.testing import CliRunner

from autoops.cli import app
from autoops.envs.replay import EpisodeRecord

runner = CliRunner()


def test_env_list_shows_scenarios_and_actions():
    result = runner.invoke(app, ["env", "list"])
    assert result.exit_code == 0, result.output
    for text in ("AutoOps/JvmMonorepo-v0", "AutoOps/BuildPipeline-v0", "use cache"):
        assert text in result.output


def test_env_solve_prints_the_table_and_json():
    result = runner.invoke(app, ["env", "solve", "--scenario", "NodeWebapp"])
    assert result.exit_code == 0, result.output
    for text in ("optimal", "heuristic", "best static", "uniform random", "regret"):
        assert text in result.output
    rows = json.loads(runner.invoke(app, ["env", "solve", "-s", "NodeWebapp", "--json"]).output)
    assert rows[0]["policy"] == "optimal" and rows[0]["regret"] == 0
    assert len(rows) == 4 + 32


def test_unknown_scenario_is_a_clear_error_not_a_traceback():
    result = runner.invoke(app, ["env", "solve", "--scenario", "Nope"])
    assert result.exit_code == 2
    assert "unknown scenario 'Nope'" in result.output and "Traceback" not in result.output


def test_run_record_and_replay_round_trip(tmp_path):
    path = tmp_path / "episode.json"
    result = runner.invoke(app, ["env", "run", "-s", "PythonLibrary", "--policy", "random", "--builds", "300", "--seed", "5", "--record", str(path)])
    assert result.exit_code == 0, result.output
    record = EpisodeRecord.load(path)
    assert len(record.builds) == 300 and record.seed == 5 and len(set(record.actions)) > 10
    result = runner.invoke(app, ["env", "replay", str(path)])
    assert result.exit_code == 0 and "identical" in result.output, result.output


def test_replay_reports_a_tampered_record(tmp_path):
    path = tmp_path / "episode.json"
    runner.invoke(app, ["env", "run", "--builds", "50", "--record", str(path)])
    data = json.loads(path.read_text())
    data["builds"][7]["duration_minutes"] += 1.0
    data["builds"][9]["status"] = "success" if data["builds"][9]["status"] == "failure" else "failure"
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["env", "replay", str(path)])
    assert result.exit_code == 1
    assert "build 7: duration_minutes" in result.output and "build 9: status" in result.output


def test_replay_of_a_file_that_is_not_a_record(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    result = runner.invoke(app, ["env", "replay", str(path)])
    assert result.exit_code == 2 and "not an episode record" in result.output


def test_demo_trains_a_quick_optimizer_and_prints_the_seed_lines(tmp_path):
    args = ["demo", "-s", "PythonLibrary", "--builds", "25", "--seed", "1", "-g", "extractive", "--train-steps", "1000", "--runs-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "training a quick one" in result.output and list(tmp_path.glob("PythonLibrary__demo__1__*/model.zip"))
    for line in ("[Monitor]  -> {'build':", "[Optimizer] -> {'action_id':", "[Responder] -> {'suggestion':"):
        assert line in result.output
    assert "best static" in result.output and "category matched the simulator's true category in" in result.output
    assert list(tmp_path.glob("PythonLibrary__demo__1__*/agent/factored.json"))  # a quick factored run beside the DQN
    cost = result.output[result.output.index("what learning cost"):]
    assert all(f"│ {agent} " in cost for agent in ("dqn", "factored")) and "1,000" in cost
    again = runner.invoke(app, [*args, "--diagnose"])
    assert again.exit_code == 0 and "training a quick one" not in again.output and "Misdiagnosis cost" in again.output
    assert "Exact cost of diagnosis in the loop" in again.output and "trained optimizer" in again.output


def test_the_cli_reads_well_at_80_columns():
    """At 80 columns no Gymnasium id or default is cut off with an ellipsis, and errors go to stderr
    with their square brackets intact."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    cli = [sys.executable, "-m", "autoops.cli"]
    listing = subprocess.run([*cli, "env", "list"], capture_output=True, text=True, env=env)
    assert listing.returncode == 0, listing.stderr
    for env_id in ("AutoOps/BuildPipeline-v0", "AutoOps/JvmMonorepo-v0", "AutoOps/NodeWebapp-v0", "AutoOps/PythonLibrary-v0"):
        assert env_id in listing.stdout
    for command in (["--help"], ["env", "--help"], ["env", "solve", "--help"], ["env", "run", "--help"], ["demo", "--help"],
                    ["train", "--help"], ["evaluate", "--help"], ["tune", "--help"], ["sweep", "--help"], ["suggest", "--help"],
                    ["eval-rag", "--help"], ["serve", "--help"], ["stack", "up", "--help"]):
        shown = subprocess.run([*cli, *command], capture_output=True, text=True, env=env)
        assert shown.returncode == 0 and "…" not in shown.stdout, (command, shown.stdout)
    bad = subprocess.run([*cli, "env", "run", "--policy", "static:99"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "error:" in bad.stderr and not bad.stdout and "Traceback" not in bad.stderr
