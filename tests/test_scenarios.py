import os
import shutil
from pathlib import Path

import pytest

from autoops.envs import ScenarioError, get_scenario, load_scenario
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


# -- a scenario is a name from the registry, never a path ------------------------------------------

SECRET_LINE = "password: Hunter2-Correct-Horse"


@pytest.fixture
def planted(tmp_path):
    """Two YAML files anyone might try to read by name: a valid scenario of a new name (it would
    create metric series of its own) and a broken one whose bad line holds a secret."""
    shutil.copy(scenario_dir() / "default.yaml", tmp_path / "default.yaml")
    (tmp_path / "planted.yaml").write_text("name: PlantedScenario\n")
    (tmp_path / "leaky.yaml").write_text(f"name: Leaky\n{SECRET_LINE}\n  bad: [indent\n")
    return tmp_path


def path_forms(folder):
    """Absolute and relative paths to the planted files, and to one that does not exist."""
    relative = os.path.relpath(folder, os.getcwd())
    return [str(folder / "planted.yaml"), f"{relative}/planted.yaml", str(folder / "leaky.yaml"),
            str(folder / "absent.yaml"), f"../{relative}/../{folder.name}/planted.yaml"]


def test_get_scenario_takes_names_and_ids_never_paths(planted):
    assert get_scenario("NodeWebapp") is get_scenario("AutoOps/NodeWebapp-v0")
    messages = set()
    for path in [*path_forms(planted), Path(planted / "planted.yaml")]:
        with pytest.raises(ScenarioError) as err:
            get_scenario(path)
        messages.add(str(err.value))
    # one message for all: it says neither the path, nor whether the file exists, nor what is in it
    (message,) = messages
    assert "file path" in message and "known: BuildPipeline" in message
    assert str(planted) not in message and "Planted" not in message and "Hunter2" not in message
    assert load_scenario(planted / "planted.yaml").name == "PlantedScenario"  # the explicit way still reads a file


@pytest.mark.parametrize("asked,shown", [
    ("JvmMonorepoo", "'JvmMonorepoo'"), ("AutoOps/Nope-v0", "'AutoOps/Nope-v0'"),
    ("AKIAZ7Q3EXAMPLE4KEY9", "not shown"), ("ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "not shown"),
    ("password=Hunter2", "not shown"), ("x" * 10_000, "not shown"),
])
def test_an_unknown_name_is_echoed_only_when_it_looks_like_one(asked, shown):
    with pytest.raises(ScenarioError) as err:
        get_scenario(asked)
    assert shown in str(err.value) and len(str(err.value)) < 200
    assert shown == "not shown" or asked in str(err.value)


def test_gymnasium_ids_are_registered_with_the_scenario_name():
    import gymnasium as gym

    env = gym.make("AutoOps/JvmMonorepo-v0")
    assert env.spec.kwargs == {"scenario": "JvmMonorepo"} and env.unwrapped.scenario.name == "JvmMonorepo"
    env.close()


def test_a_file_is_simulated_only_when_loaded_explicitly(planted):
    from autoops.envs import BuildPipelineEnv

    with pytest.raises(ScenarioError, match="file path"):
        BuildPipelineEnv(str(planted / "planted.yaml"))
    env = BuildPipelineEnv(load_scenario(planted / "planted.yaml"))
    env.reset(seed=0)
    assert env.scenario.name == "PlantedScenario"


def test_the_services_read_no_file_by_name(planted):
    from fastapi.testclient import TestClient

    from autoops.api.main import create_controller_app

    client = TestClient(create_controller_app())
    before = client.get("/metrics").text
    answers = []
    for path in path_forms(planted):
        answers += [client.post("/simulate_build", json={"scenario": path}), client.post("/simulate_build", json={"scenario": path, "seed": 1}),
                    client.post("/get_best_action", json={"scenario": path, "state_index": 0})]
    assert all(a.status_code in (404, 422) for a in answers), [a.status_code for a in answers]
    for answer in answers:
        assert str(planted) not in answer.text and planted.name not in answer.text
        assert "Planted" not in answer.text and "Leaky" not in answer.text and "Hunter2" not in answer.text
    # the same answer for a file that exists, one that is broken and one that does not exist
    planted_file, leaky_file, absent_file = answers[0], answers[6], answers[9]
    assert planted_file.text == absent_file.text and leaky_file.status_code == absent_file.status_code
    after = client.get("/metrics").text
    assert "Planted" not in after and len(after.splitlines()) == len(before.splitlines())
