"""The optimizer agent on a run trained here (a few thousand steps), and learning online in its service."""

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from autoops.agents import AgentUnavailable
from autoops.agents.monitor import MonitorAgent
from autoops.agents.optimizer import OptimizerAgent, latest_run
from autoops.api.optimizer import create_optimizer_app
from autoops.envs import get_scenario
from autoops.envs.model import observation


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from autoops.optimizer.train import train

    root = tmp_path_factory.mktemp("runs")
    train("NodeWebapp", seed=0, overrides=["total_timesteps=1500", "learning_starts=500", "eval_freq=1500"],
          run_root=root, progress=False)
    return root


def test_best_action_is_the_greedy_action_of_the_latest_run(runs):
    from autoops.optimizer.evaluate import greedy_policy

    agent = OptimizerAgent(runs)
    run = latest_run("NodeWebapp", runs)
    policy = greedy_policy(run)
    for state in (0, 17, 200, 351):
        by_state = agent.best_action("NodeWebapp", state_index=state)
        by_obs = agent.best_action("AutoOps/NodeWebapp-v0", observation=observation(state).tolist())
        assert by_state["action_id"] == by_obs["action_id"] == policy[state]
        assert len(by_state["q_values"]) == 32 and np.argmax(by_state["q_values"]) == by_state["action_id"]


def test_no_trained_run_says_how_to_train_one(runs):
    with pytest.raises(AgentUnavailable, match="autoops train --scenario JvmMonorepo"):
        OptimizerAgent(runs).best_action("JvmMonorepo", state_index=0)


def test_bad_observation_is_a_clear_error(runs):
    agent = OptimizerAgent(runs)
    with pytest.raises(ValueError, match="16 numbers"):
        agent.best_action("NodeWebapp", observation=[0.5] * 3)
    with pytest.raises(ValueError, match="exactly one"):
        agent.best_action("NodeWebapp")


# -- online learning in the service --------------------------------------------------------------
def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def drive(client: TestClient, builds: int, scenario: str = "NodeWebapp", seed: int = 0) -> list[dict]:
    """``builds`` builds of the monitor, each configuration chosen by the service and reported back to it."""
    monitor = MonitorAgent(default_seed=seed)
    state = monitor.state(scenario)["state_index"]
    answers = []
    for _ in range(builds):
        action = client.post("/get_best_action", json={"scenario": scenario, "state_index": state}).json()["action_id"]
        build = monitor.simulate(scenario, action)
        body = {"scenario": scenario, "state_index": state, "action_id": action, "reward": build["reward"],
                "next_state_index": build["next_state"]["state_index"]}
        answer = client.post("/observe", json=body)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
        state = body["next_state_index"]
    return answers


def test_the_service_learns_online_saves_itself_and_continues(tmp_path):
    before = sample("autoops_optimizer_builds_observed_total", scenario="NodeWebapp", agent="factored")
    agent = OptimizerAgent(tmp_path / "runs", agent="factored", learn=True, save_root=tmp_path / "online", save_every=200,
                           regret_every=100)
    client = TestClient(create_optimizer_app(agent))
    answers = drive(client, 400)
    assert all(a["learned"] and a["error"] is None for a in answers) and [a["builds"] for a in answers] == list(range(1, 401))
    regrets = [a["regret"] for a in answers]
    assert len(set(regrets[:99])) == 1 and regrets[99] != regrets[0] != regrets[-1]  # refreshed every 100 builds, not per request
    last = answers[-1]
    assert last["cumulative_regret"] > 0 and last["best_static_cumulative_regret"] > 0
    metrics = client.get("/metrics").text
    assert f'autoops_optimizer_cumulative_regret{{agent="factored",scenario="NodeWebapp"}} {last["cumulative_regret"]}' in metrics
    assert sample("autoops_optimizer_regret", scenario="NodeWebapp", agent="factored") == last["regret"]
    assert sample("autoops_optimizer_best_static_cumulative_regret", scenario="NodeWebapp", agent="factored") == last["best_static_cumulative_regret"]
    assert sample("autoops_optimizer_builds_observed_total", scenario="NodeWebapp", agent="factored") - before == 400
    saved = tmp_path / "online" / "NodeWebapp__factored" / "checkpoints"
    assert [p.name for p in saved.iterdir()] == ["400"]  # one save kept, the newest
    again = OptimizerAgent(tmp_path / "runs", agent="factored", learn=True, save_root=tmp_path / "online")
    assert again.best_action("NodeWebapp", state_index=0)["run_dir"] == str(saved.parent)
    assert again.observe("NodeWebapp", 0, 0, -1.0, 0)["builds"] == 401  # continues where it saved itself


def test_a_dqn_run_keeps_learning_in_the_service(runs, tmp_path):
    agent = OptimizerAgent(runs, learn=True, save_root=tmp_path, save_every=10_000)
    first = agent.best_action("NodeWebapp", state_index=3)
    assert first["agent"] == "dqn" and first["learning"] and first["run_dir"] == str(latest_run("NodeWebapp", runs))
    q = np.array(agent.best_action("NodeWebapp", state_index=3)["q_values"])
    drive(TestClient(create_optimizer_app(agent)), 300)
    assert not np.allclose(agent.best_action("NodeWebapp", state_index=3)["q_values"], q)  # its network trained on them


def test_a_learning_failure_is_counted_and_the_builds_go_on(tmp_path):
    agent = OptimizerAgent(tmp_path, agent="factored", learn=True, save_root=tmp_path, regret_every=2)
    stream = agent._stream(get_scenario("NodeWebapp"))

    def broken(*args):
        raise RuntimeError("a bug in the agent")

    stream.agent.observe = broken
    stream.agent.policy = broken
    before = {stage: sample("autoops_optimizer_learning_errors_total", scenario="NodeWebapp", agent="factored", stage=stage)
              for stage in ("observe", "evaluate")}
    answers = [agent.observe("NodeWebapp", 5, 3, -2.0, 7) for _ in range(4)]
    assert [a["builds"] for a in answers] == [1, 2, 3, 4] and not any(a["learned"] for a in answers)
    assert answers[1]["error"] == "observe: RuntimeError: a bug in the agent; evaluate: RuntimeError: a bug in the agent"
    assert sample("autoops_optimizer_learning_errors_total", scenario="NodeWebapp", agent="factored", stage="observe") - before["observe"] == 4
    assert sample("autoops_optimizer_learning_errors_total", scenario="NodeWebapp", agent="factored", stage="evaluate") - before["evaluate"] == 2


def test_a_served_dqn_counts_the_cost_of_its_builds(runs):
    agent = OptimizerAgent(runs)
    assert not agent.learn and agent.cost("NodeWebapp") is None
    answer = agent.observe("NodeWebapp", 10, agent.best_action("NodeWebapp", state_index=10)["action_id"], -3.0, 11)
    assert answer["builds"] == 1 and not answer["learned"] and answer["agent"] == "dqn" and 0 <= answer["regret"] < 1
    assert agent.cost("NodeWebapp")["builds"] == 1


def test_without_a_run_an_agent_that_does_not_learn_says_how_to_get_one(tmp_path):
    with pytest.raises(AgentUnavailable, match="autoops train --agent factored --scenario NodeWebapp.*AUTOOPS_OPTIMIZER_LEARN=1"):
        OptimizerAgent(tmp_path, agent="factored", learn=False, save_root=tmp_path).best_action("NodeWebapp", state_index=0)


BAD_OBSERVATIONS = [
    ({"state_index": 352}, "state_index"), ({"state_index": -1}, "state_index"), ({"state_index": "3"}, "state_index"),
    ({"state_index": True}, "state_index"), ({"state_index": 2.5}, "state_index"), ({"action_id": 32}, "action_id"),
    ({"next_state_index": 400}, "next_state_index"), ({"reward": "bad"}, "reward"), ({"reward": 1e7}, "reward"),
    ({"reward": None}, "reward"), ({"surprise": 1}, "surprise"),
]


@pytest.mark.parametrize("change,field", BAD_OBSERVATIONS)
def test_observe_refuses_bad_input_with_a_4xx_naming_the_field(change, field, tmp_path):
    client = TestClient(create_optimizer_app(OptimizerAgent(tmp_path)))
    body = {"scenario": "NodeWebapp", "state_index": 0, "action_id": 0, "reward": -1.0, "next_state_index": 1} | change
    answer = client.post("/observe", json=body)
    assert answer.status_code == 422 and field in [str(part) for error in answer.json()["detail"] for part in error["loc"]], answer.text


def test_observe_refuses_nan_an_unknown_scenario_and_a_missing_token(tmp_path, monkeypatch):
    client = TestClient(create_optimizer_app(OptimizerAgent(tmp_path)))
    nan = client.post("/observe", content=b'{"state_index": 0, "action_id": 0, "reward": NaN, "next_state_index": 1}',
                      headers={"Content-Type": "application/json"})
    assert nan.status_code == 422 and "NaN" in nan.text
    body = {"scenario": "Nowhere", "state_index": 0, "action_id": 0, "reward": -1.0, "next_state_index": 1}
    assert client.post("/observe", json=body).status_code == 404
    monkeypatch.setenv("AUTOOPS_API_TOKEN", "t0ken")
    body["scenario"] = "NodeWebapp"
    assert client.post("/observe", json=body).status_code == 401
    answer = client.post("/observe", json=body, headers={"Authorization": "Bearer t0ken"})
    assert answer.status_code == 200 and answer.json()["builds"] == 1 and answer.json()["regret"] is None  # no run: counted, no greedy regret
