"""``autoops train``, ``evaluate``, ``tune`` and ``sweep`` (registered in ``autoops.cli``).

torch and stable-baselines3 are imported when a command runs, not when the command line starts:
the settings list of ``autoops train --help`` comes from ``DQNSettings``, which lives in the
torch-free ``autoops.optimizer.settings``.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from autoops.cli_support import console, fail, help_text, say
from autoops.envs import ScenarioError
from autoops.envs.model import N_STATES
from autoops.optimizer.agents.base import SETTINGS, settings_class
from autoops.optimizer.runs import RunError, read_metrics
from autoops.optimizer.settings import (
    RunSettings,
    SettingsError,
    agent_defaults,
    settings_help,
)

AGENT_NAMES = tuple(SETTINGS)


def _agent_help(ctx: typer.Context, param, agent: str) -> str:
    """Eager, so that `--agent NAME --help` shows NAME's settings (click runs eager options in
    command-line order, before --help prints the text)."""
    if agent not in AGENT_NAMES:
        raise typer.BadParameter(f"unknown agent {agent!r}; expected one of {', '.join(AGENT_NAMES)}")
    ctx.command.help = train_help(agent)
    return agent


def train_cmd(
    agent: str = typer.Option("dqn", "--agent", "-a", is_eager=True, callback=_agent_help,
                              help=f"The learning agent: {', '.join(AGENT_NAMES)}. `--agent NAME --help` lists its settings."),
    scenario: str = typer.Option(None, "--scenario", "-s", help="Scenario name or Gymnasium id (default BuildPipeline; with --resume, the run's)."),
    seed: int = typer.Option(None, "--seed", help="Seed of every random draw: Python, NumPy, torch, the env, the agent (default 0; with --resume, the run's)."),
    set_: list[str] = typer.Option(None, "--set", help="KEY=VALUE on top of the agent's configuration file, repeatable (values are YAML: 3e-4, [128, 128]); keys below."),
    config_name: str = typer.Option(None, "--config-name", help="Short name of this configuration, part of the run folder's name (default: 'default' for dqn, else the agent's name)."),
    timesteps: int = typer.Option(None, "--timesteps", min=1, help="Shorthand for --set total_timesteps=N; with --resume, the builds to add."),
    resume: Path = typer.Option(None, "--resume", help="A run folder (finished, stopped or killed): continue it in a new folder from its newest valid checkpoint, or from what it saved if newer."),
    run_root: Path = typer.Option(None, "--run-root", help="Where run folders are created (default: the runs folder, AUTOOPS_RUNS_DIR or results/runs).",
                                  show_default=False),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train an agent on a scenario, measuring what its learning costs.

    Writes a run folder <scenario>__<config>__<seed>__<time>/ with config.yaml, the agent (DQN:
    model.zip and replay_buffer.pkl; the others: agent/), TensorBoard events and metrics.json:
    every eval_freq builds the exact regret of the greedy policy and the exact cumulative regret
    of the builds run so far beside the best static configuration's, and the break-even build.
    `make tensorboard` shows the runs.

    Every checkpoint_freq builds it writes a checkpoint (checkpoints/<step>/); after a kill,
    --resume continues from it exactly. SIGTERM and Ctrl-C write one and stop (exit 128 + the
    signal number); a second signal stops at once."""
    from autoops.optimizer.online import train

    overrides = list(set_ or [])
    if timesteps is not None and resume is None:
        overrides.append(f"total_timesteps={timesteps}")
    try:
        run_dir = train(
            agent, scenario, seed, overrides, run_root=run_root, progress=progress, config_name=config_name,
            resume_from=resume, extra_timesteps=timesteps if resume is not None else None,
        )
    except (SettingsError, RunError, ScenarioError) as err:
        fail(str(err))
    except KeyboardInterrupt as interrupt:  # train's Interrupted: SIGTERM or Ctrl-C, the run saved
        run_dir = getattr(interrupt, "run_dir", None) or "RUN_DIR"
        signum = getattr(interrupt, "signum", signal.SIGINT)
        say(f"interrupted by {signal.Signals(signum).name}: the run was saved (status 'interrupted', with a checkpoint "
            f"unless a second signal came first); continue it with `autoops train --resume {run_dir}`")
        raise typer.Exit(128 + signum) from None
    metrics = read_metrics(run_dir)
    final = metrics["final"]
    break_even = metrics.get("break_even_build")
    say(f"{metrics['scenario']}, seed {metrics['seed']}: {metrics['num_timesteps']} steps "
        f"({metrics['timing']['steps_per_second']:.0f} steps/s), greedy policy: mean reward {final['mean_reward']:.3f}, "
        f"regret {final['regret']:.2%}")
    say(f"cost of learning: cumulative regret {metrics['cumulative_regret']:,.0f} builds' worth against "
        f"{metrics['best_static_cumulative_regret']:,.0f} for the best static configuration; "
        + (f"break-even at build {break_even:,}" if break_even else "no break-even yet"))
    say(f"run folder: {run_dir}")
    say(f"compare with the baselines: autoops evaluate {run_dir}")



def train_help(agent: str = "dqn") -> str:
    """The text of `autoops train --help`: the command, then the agent's settings."""
    doc = _TRAIN_DOC
    if agent == "dqn":
        return doc + "\n\nDQN settings (--set KEY=VALUE; per-scenario values in configs/dqn.yaml; `--agent NAME --help` for the others):\n\n" + help_text(escape(settings_help()))
    defaults = agent_defaults(agent)
    return (doc + f"\n\nRun settings (--set KEY=VALUE; per-scenario values under {agent}: in configs/agents.yaml):\n\n"
            + help_text(escape(settings_help(RunSettings, defaults))) + f"\n\n{agent} settings:\n\n"
            + help_text(escape(settings_help(settings_class(agent), defaults))))


_TRAIN_DOC = help_text(train_cmd.__doc__)
train_cmd.__doc__ = train_help()


def evaluate_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder written by `autoops train`."),
    show_policy_table: bool = typer.Option(False, "--policy-table", help="Also print the learned policy state by state."),
    rows: int = typer.Option(25, "--rows", min=1, help="States shown by --policy-table, by long-run share of builds."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Evaluate a run's greedy policy exactly.

    Mean reward, duration, cost, failure rate and regret beside the optimum and the baselines;
    the figures are also written into the run's metrics.json."""
    from autoops.optimizer.evaluate import evaluate_run, load_run, policy_table

    try:
        run = load_run(run_dir)  # the model and its greedy policy, once for both questions
        result = evaluate_run(run)
        table = policy_table(run) if show_policy_table else None
    except (RunError, ScenarioError) as err:
        fail(str(err))
    if as_json:
        if table is not None:
            result["policy_table"] = table.reset_index().to_dict(orient="records")
        print(json.dumps(result, indent=1))
        return
    out = Table(title=f"{result['scenario']}: run {Path(result['run_dir']).name}, exact long-run figures per build")
    for column in ("policy", "mean reward", "duration min", "cost $", "failure rate", "regret"):
        out.add_column(column, justify="left" if column == "policy" else "right")
    for stats in (result["optimal"], result["dqn"], *result["baselines"][:3]):
        out.add_row(escape(stats["policy"]), f"{stats['mean_reward']:.3f}", f"{stats['mean_duration_minutes']:.2f}",
                    f"{stats['mean_cost_usd']:.3f}", f"{stats['failure_rate']:.3f}", f"{stats['regret']:.2%}",
                    style="bold" if stats is result["dqn"] else None)
    console.print(out)
    verdict = lambda beats: "[green]beats[/green]" if beats else "[red]does not beat[/red]"
    console.print(f"the {escape(result['agent'])} greedy policy {verdict(result['beats_heuristic'])} the heuristic and "
                  f"{verdict(result['beats_best_static'])} the best static configuration; it differs from the "
                  f"optimum in {result['states_differing_from_optimal']} of {N_STATES} states", soft_wrap=True)
    try:
        metrics = read_metrics(run_dir)
    except RunError:  # a model saved by hand has no metrics.json
        metrics = {}
    if metrics.get("cumulative_regret") is not None:  # nor have runs from before the cost of learning was recorded
        break_even = metrics.get("break_even_build")
        say(f"cost of learning over its {metrics['num_timesteps']:,} builds: cumulative regret {metrics['cumulative_regret']:,.0f} "
            f"builds' worth against {metrics['best_static_cumulative_regret']:,.0f} for the best static configuration; "
            + (f"break-even at build {break_even:,}" if break_even else "no break-even yet"))
    if table is not None:
        shown = table.sort_values("stationary_prob", ascending=False).head(rows)
        pt = Table(title=f"learned policy, the {len(shown)} most frequent states (regret_share sums to the regret)")
        for column in ("state", "description", "learned action", "optimal action", "share of builds", "regret share"):
            pt.add_column(column, justify="right" if column in ("state", "share of builds", "regret share") else "left")
        for state, row in shown.iterrows():
            learned = escape(f"{row.action}: {row.action_description}")
            pt.add_row(str(state), escape(row.description), f"[red]{learned}[/red]" if row.differs else learned,
                       escape(f"{row.optimal_action}: {row.optimal_description}"), f"{row.stationary_prob:.3f}", f"{row.regret_share:.2%}")
        console.print(pt)




def tune_cmd(
    agent: str = typer.Option("dqn", "--agent", "-a", help=f"The agent to tune: {', '.join(AGENT_NAMES)}; its search space is its entry in configs/tune_spaces.yaml."),
    scenario: str = typer.Option("BuildPipeline", "--scenario", "-s", help="Scenario name or Gymnasium id (see `autoops env list`)."),
    trials: int = typer.Option(20, min=1, help="Trials to add to the study."),
    seeds: list[int] = typer.Option([0, 1], "--seed", help="Seeds each trial trains on (repeat the option); the objective averages them."),
    timesteps: int = typer.Option(None, min=1, help="Builds per run (default: the agent's configuration file, dqn.yaml or agents.yaml)."),
    objective: str = typer.Option("regret", help="What to minimise: regret (the greedy policy's exact regret at the end) or "
                                  "cumulative_regret (the exact regret of every build run while learning: what a team pays)."),
    study: str = typer.Option(None, help="Study name (default <agent>-<scenario>); an existing study is continued."),
    storage: str = typer.Option(None, help="Optuna storage URL (default: optuna.db, SQLite, in the tune folder, results/tune; shareable).",
                                show_default=False),
    sampler_seed: int = typer.Option(0, help="Seed of the TPE sampler."),
) -> None:
    """Search an agent's hyperparameters with Optuna: TPE sampler, median pruner on the exact
    objective at evaluation checkpoints of the first seed, the objective averaged over the seeds.
    Prints the best trial's settings as YAML to paste into the agent's configuration file."""
    from autoops.optimizer.tune import best_settings, load_space, settings_snippet, tune

    try:
        result = tune(scenario, trials, tuple(seeds), timesteps, study, storage, sampler_seed, agent=agent, objective=objective)
        space = load_space(agent)
    except (ScenarioError, SettingsError, RunError) as err:
        fail(str(err))
    done = [t for t in result.trials if t.value is not None]
    say(f"study {result.study_name}: {len(result.trials)} trials, {len(done)} finished")
    if not done:
        return
    best = result.best_trial
    runs_of = f", {best.user_attrs['timesteps']} builds each" if best.user_attrs.get("timesteps") else ""
    comment = (f"best trial #{best.number} of study {result.study_name}: {objective} {best.value:.4g}, "
               f"the mean over seeds {best.user_attrs.get('seeds', '?')}{runs_of}")
    say(settings_snippet(agent, result.user_attrs["scenario"], best_settings(result, space), comment).rstrip())




def sweep_cmd(
    file: Path = typer.Argument(..., help="A sweep description, e.g. experiments/dqn_configs.yaml."),
    backend: str = typer.Option("local", help="local (worker threads, one kernel each) or ray (one Ray task per run)."),
    workers: int = typer.Option(1, min=1, help="Runs at once (local), or CPUs of a local Ray."),
    ray_address: str = typer.Option(None, help="A Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)."),
) -> None:
    """Run every combination of a sweep's grid and seeds through papermill, skipping those already
    done, recording failures and carrying on, then run the sweep's comparison notebook."""
    from autoops.sweep import (  # papermill and ray: when a sweep runs
        Sweep,
        SweepError,
        run_sweep,
    )

    try:
        summary = run_sweep(Sweep.load(file), backend=backend, workers=workers, ray_address=ray_address)
    except SweepError as err:
        fail(str(err))
    console.print(summary)
    if summary["failed"] or summary.get("compare", "ok") != "ok":
        raise typer.Exit(1)

