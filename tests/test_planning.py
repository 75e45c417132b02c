import numpy as np
import pytest

from autoops.envs import N_ACTIONS, N_STATES, BuildModel, BuildPipelineEnv, get_scenario, load_all
from autoops.envs.model import action_from_knobs
from autoops.planning import evaluate, named_policy, q_values, solve, solve_scenario, stationary_distribution

SCENARIOS = list(load_all())


@pytest.fixture(scope="module")
def solutions():
    return {name: solve_scenario(BuildModel(get_scenario(name))) for name in SCENARIOS}


def _rollout_means(scenario, policy, steps, seed):
    """Mean reward, failure rate and duration of a long run, with batch-means standard errors
    (the builds of one run are correlated through the state, so plain standard errors lie)."""
    env = BuildPipelineEnv(scenario)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    rewards, failures, minutes = np.empty(steps), np.empty(steps), np.empty(steps)
    for t in range(steps):
        s = env.state_index
        a = policy[s] if policy.ndim == 1 else rng.choice(N_ACTIONS, p=policy[s])
        _, rewards[t], _, _, info = env.step(a)
        failures[t] = info["status"] == "failure"
        minutes[t] = info["duration_minutes"]
    burn = 1000  # the run starts cold; the exact figures are long-run ones
    out = []
    for series in (rewards[burn:], failures[burn:], minutes[burn:]):
        batches = series[: len(series) // 100 * 100].reshape(100, -1).mean(axis=1)
        out.append((series.mean(), batches.std(ddof=1) / np.sqrt(len(batches))))
    return out


@pytest.mark.parametrize("scenario,policy_name", [
    ("JvmMonorepo", "optimal"), ("NodeWebapp", "heuristic"), ("PythonLibrary", "static:9"), ("BuildPipeline", "random"),
])
def test_exact_evaluation_agrees_with_long_monte_carlo_rollouts(scenario, policy_name):
    model = BuildModel(get_scenario(scenario))
    policy = named_policy(model, policy_name)
    exact = evaluate(model, policy)
    (reward, se_r), (fail, se_f), (dur, se_d) = _rollout_means(scenario, policy, steps=101_000, seed=2024)
    # 4.5 standard errors: a false alarm about once in 150,000 runs of this test
    assert abs(reward - exact.mean_reward) < 4.5 * se_r, (reward, exact.mean_reward, se_r)
    assert abs(fail - exact.failure_rate) < 4.5 * se_f, (fail, exact.failure_rate, se_f)
    assert abs(dur - exact.mean_duration_minutes) < 4.5 * se_d, (dur, exact.mean_duration_minutes, se_d)


@pytest.mark.parametrize("name", SCENARIOS)
def test_optimal_is_at_least_as_good_as_every_baseline(solutions, name):
    solution = solutions[name]
    for baseline in solution.baselines:
        assert solution.optimal.mean_reward >= baseline.mean_reward - 1e-9, baseline.policy
        assert baseline.regret >= -1e-9


@pytest.mark.parametrize("name", SCENARIOS)
def test_state_dependent_policy_pays_at_least_five_percent_over_best_static(solutions, name):
    solution = solutions[name]
    best_static = solution.baselines[2]
    assert best_static.policy.startswith("best static")
    assert best_static.regret >= 0.05, f"{name}: optimal beats the best static configuration by only {best_static.regret:.1%}"


def test_scenarios_have_distinct_optimal_behaviour(solutions):
    usage = {name: np.bincount(s.optimal_policy, minlength=N_ACTIONS) / N_STATES for name, s in solutions.items()}
    names = list(usage)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(usage[a] - usage[b]).sum() > 0.3, (a, b)


def test_optimal_policy_is_greedy_in_its_own_q_values():
    model = BuildModel(get_scenario("NodeWebapp"))
    policy, gain = solve(model)
    q = q_values(model)
    chosen = q[np.arange(N_STATES), policy]
    assert np.all(chosen >= q.max(axis=1) - 1e-6)


def test_stationary_distribution_is_stationary():
    model = BuildModel(get_scenario("BuildPipeline"))
    policy = named_policy(model, "heuristic")
    dist = stationary_distribution(model, policy)
    chain = model.transitions[np.arange(N_STATES), policy]
    np.testing.assert_allclose(dist @ chain, dist, atol=1e-12)
    assert dist.min() >= 0 and abs(dist.sum() - 1) < 1e-12


def test_default_scenario_is_calibrated_to_the_published_figures():
    """The typical configuration (cache on, small runner, no sharding, no retry, incremental)
    fails about 20% of builds (Beller et al. 2017) and takes about 10 minutes (Ghaleb et al. 2019)."""
    model = BuildModel(get_scenario("BuildPipeline"))
    typical = evaluate(model, np.full(N_STATES, action_from_knobs(cache=True)))
    assert 0.15 <= typical.failure_rate <= 0.25
    assert 8 <= typical.mean_duration_minutes <= 12
    without_cache = evaluate(model, np.full(N_STATES, action_from_knobs()))
    assert without_cache.mean_duration_minutes > typical.mean_duration_minutes  # caching shortens builds


def test_unknown_policy_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown policy"):
        named_policy(BuildModel(get_scenario("BuildPipeline")), "static:99")


def test_the_optimum_and_the_baselines_are_solved_once_per_scenario(monkeypatch, solutions):
    import autoops.planning as planning

    calls = []
    real_solve = planning.solve
    monkeypatch.setattr(planning, "_CACHE", {})
    monkeypatch.setattr(planning, "solve", lambda model, *a, **k: calls.append(model.scenario.name) or real_solve(model, *a, **k))
    first = planning.solution(BuildModel(get_scenario("NodeWebapp")))
    again = BuildModel(get_scenario("AutoOps/NodeWebapp-v0"))  # another model of the same scenario
    assert planning.solution(again) is first and planning.optimum(again).policy is first.optimal_policy
    assert np.array_equal(named_policy(again, "optimal"), first.optimal_policy)
    q_values(again)
    assert calls == ["NodeWebapp"]  # solution, optimum, named_policy and q_values shared one solve
    assert first.optimal == solutions["NodeWebapp"].optimal and first.baselines == solutions["NodeWebapp"].baselines
    with pytest.raises(ValueError, match="read-only"):
        first.optimal_policy[0] = 0  # shared by every caller
