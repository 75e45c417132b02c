import shutil

import pytest

from autoops.envs import ScenarioError, load_scenario
from autoops.envs.scenario import scenario_dir


@pytest.fixture
def folder(tmp_path):
    shutil.copy(scenario_dir() / "default.yaml", tmp_path / "default.yaml")
    return tmp_path


@pytest.mark.parametrize("body,field,expected", [
    ("name: Broken\nfailures:\n  flaky_test: 1.5\n", "failures.flaky_test", r"in \[0.0, 1.0\]"),
    ("name: Broken\nstages:\n  compile_minutes: 5\n", "stages.compile_minutes", "list of two numbers"),
    ("name: Broken\nrunners:\n  small: {cpus: two}\n", "runners.small.cpus", "expected a number"),
    ("name: Broken\ntoolchain: cargo\n", "toolchain", "one of gradle, npm, python"),
    ("name: Broken\nreward:\n  speed_weight: 1\n", "reward.speed_weight", "unknown field"),
    ("name: Broken\nrecurrence:\n  gremlins: 2\n", "recurrence.gremlins", "unknown failure category"),
    ("name: broken\n", "name", "CamelCase"),
    ("name: Broken\nepisode_length: 2.5\n", "episode_length", "whole number"),
])
def test_bad_scenario_names_file_field_and_expectation(folder, body, field, expected):
    path = folder / "broken.yaml"
    path.write_text(body)
    with pytest.raises(ScenarioError, match=expected) as err:
        load_scenario(path)
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def test_missing_field_in_default_is_named(folder):
    text = (folder / "default.yaml").read_text().replace("  eviction_prob:", "  evicted:")
    (folder / "default.yaml").write_text(text)
    with pytest.raises(ScenarioError, match="cache.evicted': unknown field"):
        load_scenario(folder / "default.yaml")


def test_invalid_yaml_and_missing_file(folder):
    (folder / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(folder / "bad.yaml")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(folder / "absent.yaml")


def test_scenario_overrides_merge_onto_the_default(folder):
    (folder / "tweak.yaml").write_text("name: Tweak\nfailures:\n  build_oom: {small: [0.5, 0.5]}\n")
    scenario = load_scenario(folder / "tweak.yaml")
    assert scenario.failures.build_oom.small == (0.5, 0.5)
    assert scenario.failures.build_oom.large == load_scenario(folder / "default.yaml").failures.build_oom.large
    assert scenario.env_id == "AutoOps/Tweak-v0"


def test_a_low_above_high_pair_is_an_error(folder):
    path = folder / "broken.yaml"
    path.write_text("name: Broken\nstages:\n  test_minutes: [9, 3]\n")
    with pytest.raises(ScenarioError, match=r"'stages.test_minutes': expected \[low, high\] with low <= high, got \[9, 3\]"):
        load_scenario(path)


def test_env_list_names_a_bad_file_and_lists_the_other_scenarios(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from autoops.cli import app

    folder = tmp_path / "configs" / "scenarios"
    folder.mkdir(parents=True)
    for name in ("default.yaml", "node_webapp.yaml"):
        shutil.copy(scenario_dir() / name, folder / name)
    (folder / "broken.yaml").write_text("name: Broken\nstages:\n  test_minutes: [9, 3]\n")
    monkeypatch.setenv("AUTOOPS_CONFIG_DIR", str(tmp_path / "configs"))
    result = CliRunner().invoke(app, ["env", "list"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "AutoOps/NodeWebapp-v0" in result.output and "AutoOps/BuildPipeline-v0" in result.output
    assert f"{folder / 'broken.yaml'}: field 'stages.test_minutes': expected [low, high]" in " ".join(result.output.split())
