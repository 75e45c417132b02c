"""``autoops train`` and ``autoops evaluate`` (registered in ``autoops.cli``).

torch and stable-baselines3 are imported when a command runs, not when the command line starts;
the settings list of ``autoops train --help`` is read from the source of ``DQNSettings`` (its
attribute docstrings) and the defaults from ``configs/dqn.yaml``, without importing them.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

console = Console()


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def settings_help() -> str:
    """One paragraph per field of ``DQNSettings``: name, type, the ``default`` of configs/dqn.yaml, docstring."""
    source = Path(__file__).with_name("train.py").read_text()
    cls = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "DQNSettings")
    try:
        from autoops.envs.scenario import config_dir

        defaults = (yaml.safe_load((config_dir() / "dqn.yaml").read_text()) or {}).get("default", {})
    except (OSError, yaml.YAMLError, AttributeError):
        defaults = {}
    lines = []
    body = cls.body
    for node, after in zip(body, body[1:] + [None]):
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name = node.target.id
        doc = after.value.value if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) else ""
        kind = ast.unparse(node.annotation).replace("tuple[int, ...]", "list of int")
        value = defaults.get(name)
        if value is None and node.value is not None:
            default = node.value
            if isinstance(default, ast.Call):
                default = next((k.value for k in default.keywords if k.arg == "default"), default)
            value = ast.unparse(default)
        lines.append(f"{name} ({kind}, default {value}): {' '.join(doc.split())}")
    return "\n\n".join(lines)


def train_cmd(
    scenario: str = typer.Option(None, "--scenario", "-s", help="Scenario name or Gymnasium id (default BuildPipeline; with --resume, the run's)."),
    seed: int = typer.Option(None, "--seed", help="Seed of Python, NumPy, torch, the env and SB3 (default 0; with --resume, the run's)."),
    set_: list[str] = typer.Option(None, "--set", help="KEY=VALUE on top of configs/dqn.yaml, repeatable (values are YAML: 3e-4, [128, 128]); keys below."),
    config_name: str = typer.Option("default", "--config-name", help="Short name of this configuration, part of the run folder's name."),
    timesteps: int = typer.Option(None, "--timesteps", min=1, help="Shorthand for --set total_timesteps=N; with --resume, the steps to add."),
    resume: Path = typer.Option(None, "--resume", help="A run folder: load its model and replay buffer and continue in a new folder."),
    run_root: Path = typer.Option(Path("results/runs"), "--run-root", help="Where run folders are created."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train DQN (stable-baselines3) on a scenario: writes results/runs/<scenario>__<config>__<seed>__<time>/
    with config.yaml, model.zip, replay_buffer.pkl, TensorBoard events and metrics.json (the exact
    regret of the greedy policy every eval_freq steps). `make tensorboard` shows the runs."""
    from autoops.envs import ScenarioError
    from autoops.optimizer.train import RunError, SettingsError, train

    overrides = list(set_ or [])
    if timesteps is not None and resume is None:
        overrides.append(f"total_timesteps={timesteps}")
    try:
        run_dir = train(
            scenario, seed, overrides, run_root=run_root, progress=progress, config_name=config_name,
            resume_from=resume, extra_timesteps=timesteps if resume is not None else None,
        )
    except (SettingsError, RunError, ScenarioError) as err:
        _fail(str(err))
    except KeyboardInterrupt as interrupt:
        run_dir = getattr(interrupt, "run_dir", "RUN_DIR")
        console.print(f"interrupted: the run was saved (status 'interrupted'); continue it with `autoops train --resume {run_dir}`",
                      soft_wrap=True, highlight=False)
        raise typer.Exit(130) from None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    final = metrics["final"]
    console.print(
        f"{metrics['scenario']}, seed {metrics['seed']}: {metrics['num_timesteps']} steps "
        f"({metrics['timing']['steps_per_second']:.0f} steps/s), greedy policy: mean reward {final['mean_reward']:.3f}, "
        f"regret {final['regret']:.2%}", soft_wrap=True, highlight=False,
    )
    console.print(f"run folder: {run_dir}", soft_wrap=True, highlight=False)
    console.print(f"compare with the baselines: autoops evaluate {run_dir}", soft_wrap=True, highlight=False)


train_cmd.__doc__ = inspect.cleandoc(train_cmd.__doc__) + "\n\nSettings (--set KEY=VALUE; per-scenario values in configs/dqn.yaml):\n\n" + settings_help()


def evaluate_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder written by `autoops train`."),
    show_policy_table: bool = typer.Option(False, "--policy-table", help="Also print the learned policy state by state."),
    rows: int = typer.Option(25, "--rows", min=1, help="States shown by --policy-table, by long-run share of builds."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Evaluate a run's greedy policy exactly (mean reward, duration, cost, failure rate, regret)
    beside the optimum and the baselines; the figures are also written into its metrics.json."""
    from autoops.envs import ScenarioError
    from autoops.optimizer.evaluate import evaluate_run, policy_table
    from autoops.optimizer.train import RunError

    try:
        result = evaluate_run(run_dir)
        table = policy_table(run_dir) if show_policy_table else None
    except (RunError, ScenarioError) as err:
        _fail(str(err))
    if as_json:
        if table is not None:
            result["policy_table"] = table.reset_index().to_dict(orient="records")
        print(json.dumps(result, indent=1))
        return
    out = Table(title=f"{result['scenario']}: run {Path(result['run_dir']).name}, exact long-run figures per build")
    for column in ("policy", "mean reward", "duration min", "cost $", "failure rate", "regret"):
        out.add_column(column, justify="left" if column == "policy" else "right")
    for stats in (result["optimal"], result["dqn"], *result["baselines"][:3]):
        out.add_row(stats["policy"], f"{stats['mean_reward']:.3f}", f"{stats['mean_duration_minutes']:.2f}",
                    f"{stats['mean_cost_usd']:.3f}", f"{stats['failure_rate']:.3f}", f"{stats['regret']:.2%}",
                    style="bold" if stats is result["dqn"] else None)
    console.print(out)
    verdict = lambda beats: "[green]beats[/green]" if beats else "[red]does not beat[/red]"  # noqa: E731
    console.print(f"the greedy policy {verdict(result['beats_heuristic'])} the heuristic and "
                  f"{verdict(result['beats_best_static'])} the best static configuration; it differs from the "
                  f"optimum in {result['states_differing_from_optimal']} of 352 states", soft_wrap=True)
    if table is not None:
        shown = table.sort_values("stationary_prob", ascending=False).head(rows)
        pt = Table(title=f"learned policy, the {len(shown)} most frequent states (regret_share sums to the regret)")
        for column in ("state", "description", "learned action", "optimal action", "share of builds", "regret share"):
            pt.add_column(column, justify="right" if column in ("state", "share of builds", "regret share") else "left")
        for state, row in shown.iterrows():
            learned = f"{row.action}: {row.action_description}"
            pt.add_row(str(state), row.description, f"[red]{learned}[/red]" if row.differs else learned,
                       f"{row.optimal_action}: {row.optimal_description}", f"{row.stationary_prob:.3f}", f"{row.regret_share:.2%}")
        console.print(pt)


evaluate_cmd.__doc__ = inspect.cleandoc(evaluate_cmd.__doc__)
