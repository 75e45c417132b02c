"""Compare runs across seeds: the runs of a sweep, aggregated with rliable.

Every run folder (``metrics.json`` + ``config.yaml``) below a folder is one row, whatever its
agent; runs are aggregated over seeds with the interquartile mean and a stratified bootstrap
confidence interval (Agarwal et al., "Deep RL at the edge of the statistical precipice",
NeurIPS 2021). Regret is the exact relative regret of the greedy policy (lower is better);
``score = 1 - regret`` is what the performance profiles plot.

Two comparisons:

- DQN configurations (notebook 02): ``load_runs``, ``aggregate`` per (scenario, config) of the
  final regret, ``regret_curves``, ``performance_profile``.
- The agent leaderboard (notebook 05): per (agent, scenario), the greedy regret and the
  cumulative regret of the builds run (``autoops.optimizer.regret``) at given build counts
  (``aggregate_curves``), beside the best static configuration's line; ``break_even`` builds,
  ``wall_time`` per 10k builds, and ``targets_table``: the issue's targets, met or not.

A run's ``label`` names its group in the leaderboard: the agent, or ``agent/config`` for a
configuration other than the agent's default, so that a sweep over one agent's configurations
is not pooled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from autoops.optimizer import runs


def run_folders(folder: str | Path) -> list[Path]:
    """Every finished run folder below ``folder``: metrics.json beside a saved DQN (model.zip) or
    a saved agent of the online loop (agent/)."""
    return sorted(p.parent for p in Path(folder).rglob(runs.METRICS)
                  if (p.parent / runs.MODEL).exists() or (p.parent / runs.AGENT).is_dir())


def _label(agent: str, config: str) -> str:
    return agent if config in ("default", agent) else f"{agent}/{config}"


def steps_to_settle(steps: np.ndarray, regret: np.ndarray, level: float) -> float:
    """The first checkpoint from which the regret stays at or below ``level``; NaN if it ends above."""
    above = np.nonzero(regret > level)[0]
    if len(regret) == 0 or (len(above) and above[-1] == len(regret) - 1):
        return float("nan")
    return float(steps[above[-1] + 1] if len(above) else steps[0])


def load_runs(folder: str | Path) -> pd.DataFrame:
    """One row per run: agent, label, scenario, config, seed, final regret, steps, the steps it took
    to get within 1% regret of the optimum and stay there (NaN if it never did), the cost of
    learning at the end (cumulative regret, the best static line, the break-even build: NaN if
    none) and the wall time."""
    rows = []
    for run in run_folders(folder):
        metrics = runs.read_metrics(run)
        curve = metrics.get("curve") or {}
        steps, regret = np.asarray(curve.get("steps", []), float), np.asarray(curve.get("regret", []), float)
        final = metrics.get("final") or {}
        timing = metrics.get("timing") or {}
        agent = metrics.get("agent", "dqn")  # runs from before there were other agents
        break_even = metrics.get("break_even_build")
        rows.append({
            "run": run.name,
            "path": str(run),
            "agent": agent,
            "label": _label(agent, metrics["config_name"]),
            "scenario": metrics["scenario"],
            "config": metrics["config_name"],
            "seed": metrics["seed"],
            "status": metrics["status"],
            "steps": metrics["num_timesteps"],
            "regret": final.get("regret", np.nan),
            "mean_reward": final.get("mean_reward", np.nan),
            "failure_rate": final.get("failure_rate", np.nan),
            "steps_to_1pct": steps_to_settle(steps, regret, 0.01),
            "steps_per_second": timing.get("steps_per_second", np.nan),
            "cumulative_regret": _number(metrics.get("cumulative_regret")),
            "best_static_cumulative_regret": _number(metrics.get("best_static_cumulative_regret")),
            "break_even_build": np.nan if break_even is None else float(break_even),
            "seconds": timing.get("seconds", np.nan),
            "timed_steps": timing.get("steps", np.nan),
        })
    return pd.DataFrame(rows)


def _number(value) -> float:
    return np.nan if value is None else float(value)


CURVE_COLUMNS = ["run", "agent", "label", "scenario", "config", "seed", "steps", "regret", "cumulative_regret",
                 "best_static_cumulative_regret"]


def regret_curves(folder: str | Path) -> pd.DataFrame:
    """Long form, one row per evaluation checkpoint of each run: agent, label, scenario, config,
    seed, steps, the greedy regret, and the cumulative regret of the builds run with the best
    static line at that build (NaN in runs from before the cost of learning was recorded)."""
    frames = []
    for run in run_folders(folder):
        metrics = runs.read_metrics(run)
        curve = metrics.get("curve") or {}
        steps = curve.get("steps", [])
        agent = metrics.get("agent", "dqn")
        frames.append(pd.DataFrame({
            "run": str(run), "agent": agent, "label": _label(agent, metrics["config_name"]),
            "scenario": metrics["scenario"], "config": metrics["config_name"], "seed": metrics["seed"],
            "steps": steps, "regret": curve.get("regret", []),
            **{key: [_number(v) for v in curve.get(key) or [None] * len(steps)]
               for key in ("cumulative_regret", "best_static_cumulative_regret")},
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CURVE_COLUMNS)


def aggregate(runs: pd.DataFrame, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per (scenario, config): IQM of the final regret over seeds with a 95% bootstrap CI,
    the median, the share of seeds within 1%, and the median steps to get there."""
    from rliable import library as rly
    from rliable import metrics as rly_metrics

    rows = []
    for (scenario, config), group in runs.groupby(["scenario", "config"], sort=True):
        regret = group["regret"].to_numpy(float)[:, None]  # [seeds, tasks=1]
        np.random.seed(seed)  # rliable's bootstrap draws from NumPy's global generator
        point, interval = rly.get_interval_estimates({config: regret}, lambda x: np.array([rly_metrics.aggregate_iqm(x)]), reps=reps)
        rows.append({
            "scenario": scenario,
            "config": config,
            "seeds": len(group),
            "regret_iqm": float(point[config][0]),
            "regret_ci_low": float(interval[config][0, 0]),
            "regret_ci_high": float(interval[config][1, 0]),
            "regret_median": float(np.median(regret)),
            "within_1pct": float(np.mean(regret <= 0.01)),
            "steps_to_1pct_median": float(settled.median()) if len(settled := group["steps_to_1pct"].dropna()) else float("nan"),
            "steps": int(group["steps"].max()),
        })
    return pd.DataFrame(rows)


def performance_profile(runs: pd.DataFrame, thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Share of runs (all scenarios) of each config whose score = 1 - regret exceeds each threshold."""
    thresholds = np.linspace(0.9, 1.0, 51) if thresholds is None else thresholds
    rows = []
    for config, group in runs.groupby("config"):
        scores = 1.0 - group["regret"].to_numpy(float)
        for t in thresholds:
            rows.append({"config": config, "threshold": float(t), "share_above": float(np.mean(scores > t))})
    return pd.DataFrame(rows)


# -- the agent leaderboard -------------------------------------------------------------------

COST_METRICS = ("regret", "cumulative_regret", "relative_cumulative_regret")


def values_at(curves: pd.DataFrame, builds: list[int]) -> pd.DataFrame:
    """Each run's figures after each of ``builds``: those of its last evaluation checkpoint at or
    before that many builds (exact when the evaluation interval divides it), with
    ``relative_cumulative_regret`` = cumulative regret / the best static line. A run shorter than
    ``builds`` has no row for it."""
    rows = []
    for run, group in curves.groupby("run", sort=True):
        group = group.sort_values("steps")
        steps = group["steps"].to_numpy()
        for n in builds:
            if len(steps) == 0 or steps[-1] < n or steps[0] > n:
                continue
            at = group.iloc[int(np.searchsorted(steps, n, side="right")) - 1]
            line = at["best_static_cumulative_regret"]
            rows.append({**{k: at[k] for k in ("run", "agent", "label", "scenario", "seed")}, "builds": int(n),
                         "step": int(at["steps"]), "regret": at["regret"], "cumulative_regret": at["cumulative_regret"],
                         "best_static_cumulative_regret": line,
                         "relative_cumulative_regret": at["cumulative_regret"] / line if line > 0 else np.nan})
    columns = ["run", "agent", "label", "scenario", "seed", "builds", "step", *COST_METRICS[:2],
               "best_static_cumulative_regret", COST_METRICS[2]]
    return pd.DataFrame(rows, columns=columns)


def _iqm_with_ci(values: np.ndarray, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM over runs of each column of ``values`` [runs, k], with 95% stratified bootstrap CIs."""
    from rliable import library as rly
    from scipy.stats import trim_mean

    scores = {"runs": values[:, None, :]}  # [runs, tasks=1, k]
    # rliable's aggregate_iqm, one column at a time but vectorised: a Python call per
    # (resample, column) made a 50-checkpoint curve take half a minute.
    def iqm(x: np.ndarray) -> np.ndarray:
        return trim_mean(x, 0.25, axis=0).reshape(-1)

    # rliable draws from NumPy's global generator (its random_state warns, and the notebook
    # counts a warning as a failure): seed it, and give the caller's stream back afterwards.
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        point, interval = rly.get_interval_estimates(scores, iqm, reps=reps)
    finally:
        np.random.set_state(saved)
    return point["runs"], interval["runs"][0], interval["runs"][1]


def aggregate_curves(curves: pd.DataFrame, builds: list[int] | None = None, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per (label, scenario) and build count: the IQM over seeds, with a 95% stratified
    bootstrap CI, of the greedy regret, the cumulative regret and the cumulative regret relative
    to the best static line (columns ``<metric>_iqm``, ``_ci_low``, ``_ci_high``), and the best
    static line itself (the same for every run of a scenario). ``builds``: the build counts;
    None: every checkpoint that all runs of the group reached."""
    rows = []
    for (label, scenario), group in curves.groupby(["label", "scenario"], sort=True):
        counts = builds
        if counts is None:
            per_run = [set(g["steps"]) for _, g in group.groupby("run")]
            counts = sorted(set.intersection(*per_run))
        at = values_at(group, counts)
        reached = at.groupby("builds")["run"].nunique().to_dict()
        counts = [n for n in counts if reached.get(n, 0) == group["run"].nunique()]  # every run, or none
        if not counts:
            continue
        table = at[at.builds.isin(counts)].pivot(index="run", columns="builds")
        values = np.concatenate([table[m][counts].to_numpy(float) for m in COST_METRICS], axis=1)
        point, low, high = _iqm_with_ci(values, reps, seed)
        k = len(counts)
        line = table["best_static_cumulative_regret"][counts].median().to_numpy(float)
        for i, n in enumerate(counts):
            row = {"label": label, "agent": group["agent"].iloc[0], "scenario": scenario, "builds": n, "seeds": len(table)}
            for j, metric in enumerate(COST_METRICS):
                row.update({f"{metric}_iqm": point[j * k + i], f"{metric}_ci_low": low[j * k + i],
                            f"{metric}_ci_high": high[j * k + i]})
            rows.append({**row, "best_static_cumulative_regret": line[i]})
    columns = ["label", "agent", "scenario", "builds", "seeds",
               *(f"{m}_{x}" for m in COST_METRICS for x in ("iqm", "ci_low", "ci_high")), "best_static_cumulative_regret"]
    return pd.DataFrame(rows, columns=columns)


def _builds_text(n: float) -> str:
    return f"{n / 1000:g}k" if n % 1000 == 0 else f"{n:,.0f}"


def break_even(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (label, scenario): the median break-even build over seeds (a seed that never broke
    even counts as later than any, so the median is ``inf`` when half or more never did), the
    share of seeds that broke even, and ``text``: the median, or "never by N" (N builds run)."""
    rows = []
    for (label, scenario), group in runs.groupby(["label", "scenario"], sort=True):
        builds = group["break_even_build"].to_numpy(float)
        median = float(np.median(np.where(np.isnan(builds), np.inf, builds)))
        horizon = int(group["steps"].min())
        rows.append({"label": label, "agent": group["agent"].iloc[0], "scenario": scenario, "seeds": len(group),
                     "builds": horizon, "break_even_median": median, "share_break_even": float(np.mean(~np.isnan(builds))),
                     "text": f"never by {_builds_text(horizon)}" if np.isinf(median) else f"{median:,.0f}"})
    return pd.DataFrame(rows)


def wall_time(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (label, scenario): wall-clock seconds per 10,000 builds (the run's timing: learning
    and its exact evaluations), median and range over seeds, and the median builds per second."""
    per_10k = runs.assign(seconds_per_10k=runs["seconds"] / runs["timed_steps"] * 10_000)
    return (per_10k.groupby(["label", "scenario"], sort=True)
            .agg(agent=("agent", "first"), seeds=("seed", "size"), seconds_per_10k=("seconds_per_10k", "median"),
                 seconds_per_10k_min=("seconds_per_10k", "min"), seconds_per_10k_max=("seconds_per_10k", "max"),
                 builds_per_second=("steps_per_second", "median"))
            .reset_index())


# The targets (for the factored agent; every agent is judged by them, honestly):
# (name, metric of aggregate_curves, after how many builds, at most).
TARGETS = [
    ("greedy regret at 5k", "regret", 5_000, 0.01),
    ("greedy regret at 10k", "regret", 10_000, None),
    ("greedy regret at 20k", "regret", 20_000, None),
    ("greedy regret at 50k", "regret", 50_000, 0.003),
    ("cumulative regret at 20k / best static", "relative_cumulative_regret", 20_000, 0.40),
]
BREAK_EVEN_TARGET = ("median break-even build", 5_000)


def targets_table(runs: pd.DataFrame, curves: pd.DataFrame, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The issue's targets per (label, scenario), long form: target, builds (when it is measured;
    for the break-even, the builds run), value (IQM over seeds; for the break-even, the median
    of ``break_even``), ci_low, ci_high (95% bootstrap), goal, met (judged on the value; None
    without a goal or when the runs did not reach that many builds)."""
    at = aggregate_curves(curves, sorted({n for _, _, n, _ in TARGETS}), reps, seed)
    rows = []
    for (label, scenario), group in runs.groupby(["label", "scenario"], sort=True):
        for target, metric, n, goal in TARGETS:
            found = at[(at.label == label) & (at.scenario == scenario) & (at.builds == n)]
            value, low, high = ((found[f"{metric}_{x}"].iloc[0] for x in ("iqm", "ci_low", "ci_high"))
                                if len(found) else (np.nan, np.nan, np.nan))
            met = None if goal is None or np.isnan(value) else bool(value <= goal)
            rows.append({"label": label, "scenario": scenario, "target": target, "builds": n, "value": value,
                         "ci_low": low, "ci_high": high, "goal": goal, "met": met, "seeds": len(group)})
    for _, row in break_even(runs).iterrows():
        target, goal = BREAK_EVEN_TARGET
        rows.append({"label": row["label"], "scenario": row["scenario"], "target": target, "builds": row["builds"],
                     "value": row["break_even_median"],
                     "ci_low": np.nan, "ci_high": np.nan, "goal": goal, "met": bool(row["break_even_median"] <= goal),
                     "seeds": row["seeds"]})
    return pd.DataFrame(rows)


def targets_text(table: pd.DataFrame) -> pd.DataFrame:
    """``targets_table`` to read: one row per (label, scenario), one column per target, each cell
    "value [CI] ✓/✗" (no mark without a goal; "-" where the runs stopped short)."""
    def cell(row) -> str:
        if row["target"] == BREAK_EVEN_TARGET[0]:
            text = f"never by {_builds_text(row['builds'])}" if np.isinf(row["value"]) else f"{row['value']:,.0f}"
        elif np.isnan(row["value"]):
            return "-"
        elif row["target"].startswith("greedy"):
            text = f"{row['value']:.2%} [{row['ci_low']:.2%}, {row['ci_high']:.2%}]"
        else:
            text = f"{row['value']:.0%} [{row['ci_low']:.0%}, {row['ci_high']:.0%}]"
        return text + (" ✓" if row["met"] is True else " ✗" if row["met"] is False else "")

    order = [t[0] for t in TARGETS] + [BREAK_EVEN_TARGET[0]]
    wide = table.assign(cell=table.apply(cell, axis=1)).pivot(index=["label", "scenario"], columns="target", values="cell")
    return wide[order].rename_axis(columns=None)


def read_scalars(run_dir: str | Path) -> pd.DataFrame:
    """Every TensorBoard scalar of a run folder, long form: tag, step, value."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    rows = [(tag, e.step, e.value) for tag in events.Tags()["scalars"] for e in events.Scalars(tag)]
    return pd.DataFrame(rows, columns=["tag", "step", "value"])
