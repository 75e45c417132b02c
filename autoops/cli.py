"""The ``autoops`` command line."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from autoops.api.commands import serve_cmd
from autoops.cli_support import console, fail
from autoops.demo import demo_cmd
from autoops.envs.commands import app as env_app
from autoops.optimizer.commands import evaluate_cmd, train_cmd
from autoops.responder.commands import eval_rag_cmd, suggest_cmd

app = typer.Typer(
    help="AutoOps: a research environment for autonomous DevOps agents.\n\n"
    "Start with `autoops env list` (scenarios and build configurations), `autoops env solve -s JvmMonorepo` "
    "(the exact optimum against the baselines) and `autoops demo`.",
    no_args_is_help=True,
)
app.add_typer(env_app, name="env")
app.command("demo")(demo_cmd)
app.command("train")(train_cmd)
app.command("evaluate")(evaluate_cmd)
app.command("suggest")(suggest_cmd)
app.command("eval-rag")(eval_rag_cmd)
app.command("serve")(serve_cmd)


@app.command()
def sweep(
    file: Path = typer.Argument(..., help="A sweep description, e.g. experiments/dqn_configs.yaml."),
    backend: str = typer.Option("local", help="local (worker threads, one kernel each) or ray (one Ray task per run)."),
    workers: int = typer.Option(1, min=1, help="Runs at once (local), or CPUs of a local Ray."),
    ray_address: str = typer.Option(None, help="A Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)."),
) -> None:
    """Run every combination of a sweep's grid and seeds through papermill, skipping those already
    done, recording failures and carrying on, then run the sweep's comparison notebook."""
    from autoops.sweep import Sweep, SweepError, run_sweep

    try:
        summary = run_sweep(Sweep.load(file), backend=backend, workers=workers, ray_address=ray_address)
    except SweepError as err:
        fail(str(err))
    console.print(summary)
    if summary["failed"] or summary.get("compare", "ok") != "ok":
        raise typer.Exit(1)



@app.command()
def tune(
    scenario: str = typer.Option("BuildPipeline", "--scenario", "-s", help="Scenario name or Gymnasium id (see `autoops env list`)."),
    trials: int = typer.Option(20, min=1, help="Trials to add to the study."),
    seeds: list[int] = typer.Option([0, 1], "--seed", help="Seeds each trial trains on (repeat the option); the objective averages their regret."),
    timesteps: int = typer.Option(None, min=1, help="Training steps per run (default: configs/dqn.yaml)."),
    study: str = typer.Option(None, help="Study name (default dqn-<scenario>); an existing study is continued."),
    storage: str = typer.Option(None, help="Optuna storage URL (default sqlite:///results/tune/optuna.db, shareable)."),
    sampler_seed: int = typer.Option(0, help="Seed of the TPE sampler."),
) -> None:
    """Search DQN hyperparameters with Optuna (TPE sampler, median pruner on the exact regret at
    evaluation checkpoints); the objective is the exact final regret averaged over the seeds."""
    from autoops.envs import ScenarioError
    from autoops.optimizer.tune import tune as run_tune

    try:
        result = run_tune(scenario, trials, tuple(seeds), timesteps, study, storage, sampler_seed)
    except ScenarioError as err:
        fail(str(err))
    best = result.best_trial
    console.print(f"study {result.study_name}: {len(result.trials)} trials; best #{best.number}: "
                  f"regret {best.value:.4f} with {best.params}")


stack_app = typer.Typer(help="Prometheus, Alertmanager and the controller on loopback (Debian's binaries).", no_args_is_help=True)
app.add_typer(stack_app, name="stack")


def _stack(folder: Path | None, prometheus_port: int, alertmanager_port: int, controller_port: int):
    from autoops.system.stack import Stack

    base = Stack()
    return Stack(folder or base.folder, prometheus_port=prometheus_port, alertmanager_port=alertmanager_port, controller_port=controller_port)


StackFolder = typer.Option(None, "--folder", help="Where configuration, data, logs and PID files go (default results/stack).")


@stack_app.command("up")
def stack_up(folder: Path = StackFolder, prometheus_port: int = 9090, alertmanager_port: int = 9093, controller_port: int = 9000,
             timeout: float = typer.Option(90, help="Seconds to wait for every target to be up.")) -> None:
    """Start whatever is not running and wait until Prometheus scrapes every target; print the URLs."""
    from autoops.system.stack import StackError

    stack = _stack(folder, prometheus_port, alertmanager_port, controller_port)
    start = time.perf_counter()
    try:
        urls = stack.up(timeout_s=timeout)
    except StackError as err:
        fail(str(err))
    console.print(f"stack up in {time.perf_counter() - start:.1f} s; every target is up")
    for name, url in urls.items():
        console.print(f"  {name:13s} {url}")


@stack_app.command("down")
def stack_down(folder: Path = StackFolder) -> None:
    """Stop the controller, Alertmanager and Prometheus of this stack folder."""
    stopped = _stack(folder, 9090, 9093, 9000).down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack_app.command("status")
def stack_status(folder: Path = StackFolder, prometheus_port: int = 9090, alertmanager_port: int = 9093, controller_port: int = 9000) -> None:
    """Which services of the stack run, with their PIDs and URLs."""
    for name, info in _stack(folder, prometheus_port, alertmanager_port, controller_port).status().items():
        console.print(f"  {name:13s} {'running' if info['running'] else 'stopped':8s} pid {info['pid'] or '-':>7}  {info['url']}")


if __name__ == "__main__":
    app()
