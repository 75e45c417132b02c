"""The leaderboard's aggregation (autoops.optimizer.compare) on run folders with known curves."""

import math

import numpy as np
import pytest

from autoops.optimizer import compare, runs

LINE_PER_BUILD = 0.1  # the best static configuration's regret per build, the same in every run


def _run(root, name, agent="factored", config=None, seed=0, regret=(0.5, 0.2, 0.05), cumulative=(300.0, 400.0, 450.0),
         steps=(1000, 5000, 20000), break_even=None, seconds=10.0):
    folder = root / name
    (folder / (runs.MODEL if agent == "dqn" else runs.AGENT)).mkdir(parents=True)
    runs.write_json(folder / runs.METRICS, {
        "agent": agent, "scenario": "NodeWebapp", "seed": seed, "config_name": config or agent, "status": "complete",
        "num_timesteps": steps[-1], "final": {"regret": regret[-1]}, "regret": regret[-1],
        "cumulative_regret": cumulative[-1], "best_static_cumulative_regret": LINE_PER_BUILD * steps[-1],
        "break_even_build": break_even,
        "curve": {"steps": list(steps), "regret": list(regret), "cumulative_regret": list(cumulative),
                  "best_static_cumulative_regret": [LINE_PER_BUILD * s for s in steps]},
        "timing": {"seconds": seconds, "steps": steps[-1], "steps_per_second": steps[-1] / seconds},
    })
    return folder


@pytest.fixture
def sweep(tmp_path):
    """Four factored seeds (one an outlier), two DQN seeds of another configuration, one PPO run
    that stopped at 5,000 builds, and a folder whose run saved nothing."""
    for seed, (r5k, even) in enumerate([(0.004, 1000), (0.006, 3000), (0.008, None), (0.9, None)]):
        _run(tmp_path, f"factored-{seed}", seed=seed, regret=(0.5, r5k, 0.002), cumulative=(100.0, 300.0, 700.0 + seed),
             break_even=even, seconds=10.0 * (seed + 1))
    for seed in (0, 1):
        _run(tmp_path, f"dqn-{seed}", agent="dqn", config="wide", seed=seed, break_even=4000)
    _run(tmp_path, "ppo-0", agent="ppo", regret=(0.5, 0.3), cumulative=(200.0, 900.0), steps=(1000, 5000))
    (tmp_path / "unsaved").mkdir()
    runs.write_json(tmp_path / "unsaved" / runs.METRICS, {"scenario": "NodeWebapp"})
    return tmp_path


def test_every_agents_run_is_read_with_its_label(sweep):
    table = compare.load_runs(sweep)
    assert sorted(table.label) == ["dqn/wide"] * 2 + ["factored"] * 4 + ["ppo"]
    assert table.break_even_build.isna().sum() == 3
    assert len(compare.aggregate(table, reps=50)) == 3  # the DQN comparison still reads them all


def test_values_at_take_the_last_checkpoint_and_skip_runs_that_stopped_short(sweep):
    at = compare.values_at(compare.regret_curves(sweep), [4999, 5000, 20000])
    ppo = at[at.label == "ppo"]
    assert list(ppo.builds) == [4999, 5000] and list(ppo.step) == [1000, 5000]
    assert ppo.relative_cumulative_regret.iloc[1] == pytest.approx(900.0 / 500.0)


def test_curves_aggregate_by_iqm_with_a_bootstrap_interval(sweep):
    table = compare.aggregate_curves(compare.regret_curves(sweep), [5000], reps=300)
    factored = table[table.label == "factored"].iloc[0]
    assert factored.seeds == 4
    assert factored.regret_iqm == pytest.approx(0.007)  # the middle two of four: the outlier is trimmed
    assert factored.regret_ci_low <= factored.regret_iqm <= factored.regret_ci_high
    assert factored.best_static_cumulative_regret == pytest.approx(500.0)
    assert set(table.label) == {"factored", "dqn/wide", "ppo"}
    every = compare.aggregate_curves(compare.regret_curves(sweep), reps=50)
    assert list(every[every.label == "ppo"].builds) == [1000, 5000]


def test_break_even_median_counts_a_seed_that_never_broke_even_as_later_than_any(sweep):
    table = compare.break_even(compare.load_runs(sweep)).set_index("label")
    assert math.isinf(table.loc["factored", "break_even_median"]) and table.loc["factored", "text"] == "never by 20k"
    assert table.loc["factored", "share_break_even"] == 0.5
    assert table.loc["dqn/wide", "text"] == "4,000" and table.loc["dqn/wide", "share_break_even"] == 1.0


def test_wall_time_per_10k_builds(sweep):
    table = compare.wall_time(compare.load_runs(sweep)).set_index("label")
    assert table.loc["factored", "seconds_per_10k"] == pytest.approx(12.5)  # 10, 20, 30, 40 s for 20k builds
    assert table.loc["factored", "seconds_per_10k_max"] == pytest.approx(20.0)


def test_targets_are_judged_on_the_iqm_and_left_open_where_the_runs_stopped_short(sweep):
    targets = compare.targets_table(compare.load_runs(sweep), compare.regret_curves(sweep), reps=100)
    cell = targets.set_index(["label", "target"])
    assert cell.loc[("factored", "greedy regret at 5k"), "met"] is True
    assert cell.loc[("ppo", "greedy regret at 5k"), "met"] is False
    assert cell.loc[("factored", "greedy regret at 50k"), "met"] is None
    assert np.isnan(cell.loc[("factored", "greedy regret at 50k"), "value"])
    # 700-703 against the best static's 2,000 at 20k builds
    assert cell.loc[("factored", "cumulative regret at 20k / best static"), "value"] == pytest.approx(0.3508, abs=1e-3)
    assert cell.loc[("factored", "median break-even build"), "met"] is False
    text = compare.targets_text(targets).loc[("factored", "NodeWebapp")]
    assert text["greedy regret at 5k"].startswith("0.70% [") and text["greedy regret at 5k"].endswith("✓")
    assert text["greedy regret at 50k"] == "-" and text["median break-even build"] == "never by 20k ✗"
    assert text["greedy regret at 10k"] == text["greedy regret at 5k"][:-2]  # its last checkpoint by 10k is at 5k; no goal
