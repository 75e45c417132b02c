"""Compare DQN configurations across seeds: the runs of a sweep, aggregated with rliable.

Every run folder (``metrics.json`` + ``config.yaml``) below a folder is one row; runs are grouped
by (scenario, configuration) and aggregated over seeds with the interquartile mean and a
stratified bootstrap confidence interval (Agarwal et al., "Deep RL at the edge of the
statistical precipice", NeurIPS 2021). Regret is the exact relative regret of the greedy policy
(lower is better); ``score = 1 - regret`` is what the performance profiles plot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from autoops.optimizer import runs


def run_folders(folder: str | Path) -> list[Path]:
    """Every finished run folder below ``folder`` (it holds metrics.json and model.zip)."""
    return sorted(p.parent for p in Path(folder).rglob(runs.METRICS) if (p.parent / runs.MODEL).exists())


def steps_to_settle(steps: np.ndarray, regret: np.ndarray, level: float) -> float:
    """The first checkpoint from which the regret stays at or below ``level``; NaN if it ends above."""
    above = np.nonzero(regret > level)[0]
    if len(regret) == 0 or (len(above) and above[-1] == len(regret) - 1):
        return float("nan")
    return float(steps[above[-1] + 1] if len(above) else steps[0])


def load_runs(folder: str | Path) -> pd.DataFrame:
    """One row per run: scenario, config, seed, final regret, steps, and the steps it took to get
    within 1% regret of the optimum and stay there (NaN if it never did)."""
    rows = []
    for run in run_folders(folder):
        metrics = runs.read_metrics(run)
        curve = metrics.get("curve") or {}
        steps, regret = np.asarray(curve.get("steps", []), float), np.asarray(curve.get("regret", []), float)
        final = metrics.get("final") or {}
        rows.append({
            "run": run.name,
            "path": str(run),
            "scenario": metrics["scenario"],
            "config": metrics["config_name"],
            "seed": metrics["seed"],
            "status": metrics["status"],
            "steps": metrics["num_timesteps"],
            "regret": final.get("regret", np.nan),
            "mean_reward": final.get("mean_reward", np.nan),
            "failure_rate": final.get("failure_rate", np.nan),
            "steps_to_1pct": steps_to_settle(steps, regret, 0.01),
            "steps_per_second": (metrics.get("timing") or {}).get("steps_per_second", np.nan),
        })
    return pd.DataFrame(rows)


def regret_curves(folder: str | Path) -> pd.DataFrame:
    """Long form: scenario, config, seed, steps, regret (one row per evaluation checkpoint)."""
    frames = []
    for run in run_folders(folder):
        metrics = runs.read_metrics(run)
        curve = metrics.get("curve") or {}
        frames.append(pd.DataFrame({
            "scenario": metrics["scenario"], "config": metrics["config_name"], "seed": metrics["seed"],
            "steps": curve.get("steps", []), "regret": curve.get("regret", []),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["scenario", "config", "seed", "steps", "regret"])


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


def read_scalars(run_dir: str | Path) -> pd.DataFrame:
    """Every TensorBoard scalar of a run folder, long form: tag, step, value."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    rows = [(tag, e.step, e.value) for tag in events.Tags()["scalars"] for e in events.Scalars(tag)]
    return pd.DataFrame(rows, columns=["tag", "step", "value"])
