"""The ``autoops`` command line."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="AutoOps: a research environment for autonomous DevOps agents.\n\n"
    "Start with `autoops env list` (scenarios and build configurations), `autoops env solve -s JvmMonorepo` "
    "(the exact optimum against the baselines) and `autoops demo`.",
    no_args_is_help=True,
)
env_app = typer.Typer(help="The CI build simulator: scenarios, exact optimum, baselines, replays.", no_args_is_help=True)
app.add_typer(env_app, name="env")
console = Console()

ScenarioOption = typer.Option("BuildPipeline", "--scenario", "-s", help="Scenario name, Gymnasium id or YAML file (see `autoops env list`).")


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def _model(name: str):
    from autoops.envs import BuildModel, ScenarioError, get_scenario

    try:
        return BuildModel(get_scenario(name))
    except ScenarioError as err:
        _fail(str(err))


@env_app.command("list")
def env_list() -> None:
    """Show every scenario, its Gymnasium id, and the build configurations (actions)."""
    from autoops.envs import N_ACTIONS, describe_action, load_all

    table = Table(title="Scenarios (configs/scenarios/)")
    for column in ("name", "gymnasium id", "toolchain", "description"):
        table.add_column(column)
    for sc in load_all().values():
        table.add_row(sc.name, sc.env_id, sc.toolchain, sc.description)
    console.print(table)
    actions = Table(title="Actions: one build configuration each")
    actions.add_column("id", justify="right")
    actions.add_column("description")
    for a in range(N_ACTIONS):
        actions.add_row(str(a), describe_action(a))
    console.print(actions)


def solution_table(solution, all_static: bool = False) -> Table:
    table = Table(title=f"{solution.scenario}: exact long-run figures per build")
    for column in ("policy", "mean reward", "duration min", "cost $", "failure rate", "regret"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    rows = solution.table() if all_static else solution.table()[:4]
    for s in rows:
        table.add_row(s.policy, f"{s.mean_reward:.3f}", f"{s.mean_duration_minutes:.2f}", f"{s.mean_cost_usd:.3f}", f"{s.failure_rate:.3f}", f"{s.regret:.2%}")
    return table


@env_app.command("solve")
def env_solve(
    scenario: str = ScenarioOption,
    all_static: bool = typer.Option(False, "--all-static", help="Also list every static configuration."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Solve a scenario exactly (relative value iteration, mean reward per build) and compare
    the optimum with the baselines: uniform random, the tuned heuristic, every static configuration.

    Regret is relative: (optimal mean reward - policy's) / |optimal mean reward|.
    """
    from autoops.planning import solve_scenario

    solution = solve_scenario(_model(scenario))
    if as_json:
        print(json.dumps([s.as_dict() for s in solution.table()], indent=1))
    else:
        console.print(solution_table(solution, all_static))


@env_app.command("run")
def env_run(
    scenario: str = ScenarioOption,
    policy: str = typer.Option("optimal", help="optimal, heuristic, best-static, random or static:N."),
    builds: int = typer.Option(200, min=1, help="How many builds to simulate."),
    seed: int = typer.Option(0, help="Seed of the simulator (and of a random policy)."),
    record: Path = typer.Option(None, help="Write the episode record (JSON) here, for `autoops env replay`."),
) -> None:
    """Simulate builds with a policy and print the outcome; optionally save a replayable record."""
    from autoops.envs.replay import run_episode
    from autoops.planning import named_policy

    model = _model(scenario)
    try:
        actions = named_policy(model, policy)
    except ValueError as err:
        _fail(str(err))
    episode = run_episode(model.scenario, actions, builds, seed, policy)
    failures = sum(b.status == "failure" for b in episode.builds)
    console.print(
        f"{model.scenario.name}, policy {policy}, seed {seed}: {builds} builds, {failures} failed "
        f"({failures / builds:.1%}), mean reward {episode.mean_reward:.3f}"
    )
    if record:
        episode.save(record)
        console.print(f"record written to {record}; check it with `autoops env replay {record}`")


@env_app.command("replay")
def env_replay(file: Path = typer.Argument(..., help="An episode record written by `autoops env run --record`.")) -> None:
    """Re-run a recorded episode from its seed and actions; report every build that differs."""
    from autoops.envs import ScenarioError
    from autoops.envs.replay import EpisodeRecord, replay

    try:
        record = EpisodeRecord.load(file)
        mismatches = replay(record)
    except (ValueError, ScenarioError) as err:
        _fail(str(err))
    if mismatches:
        for line in mismatches[:20]:
            console.print(f"[red]mismatch[/red] {line}")
        console.print(f"{len(mismatches)} mismatches in {len(record.builds)} builds")
        raise typer.Exit(1)
    console.print(f"replayed {len(record.builds)} builds of {record.scenario} (seed {record.seed}): identical")


@app.command()
def demo(
    scenario: str = ScenarioOption,
    builds: int = typer.Option(30, min=1, help="Builds to run through the controller."),
    seed: int = typer.Option(0, help="Seed of the simulator."),
    generator: str = typer.Option(None, "--generator", "-g", help="The responder's generator (default from configs/responder.yaml: smollm2)."),
    diagnose: bool = typer.Option(False, help="Diagnosis in the loop: the optimizer sees the responder's predicted failure "
                                  "category instead of the simulator's truth; the run is repeated with the truth to show the cost."),
    train_steps: int = typer.Option(20_000, min=1000, help="Steps of the quick training run made when no trained optimizer exists."),
    runs_dir: Path = typer.Option(None, help="Where trained optimizer runs are (default results/runs)."),
) -> None:
    """The AutoOps workflow end to end: for each build the optimizer picks the configuration, the
    monitor runs it, and on a failure the responder suggests a fix; then a summary against the
    best static configuration. Trains a quick optimizer first if none exists."""
    from autoops.agents import AgentUnavailable
    from autoops.agents.controller import Controller, ControllerSettings
    from autoops.agents.optimizer import OptimizerAgent
    from autoops.agents.responder import ResponderAgent
    from autoops.planning import solve_scenario

    model = _model(scenario)
    name = model.scenario.name
    optimizer = OptimizerAgent(runs_dir) if runs_dir else OptimizerAgent()
    try:
        run_dir = optimizer.run_for(name)
    except AgentUnavailable:
        from autoops.optimizer.train import train

        console.print(f"No trained optimizer for {name}: training a quick one ({train_steps} steps) ...")
        run_dir = train(name, seed=seed, overrides={"total_timesteps": train_steps}, run_root=optimizer.runs_root, config_name="demo")
    console.print(f"optimizer: {run_dir}")
    responder = ResponderAgent()
    if generator is not None and generator not in ("extractive", "smollm2", "hf", "openai"):
        _fail(f"unknown generator {generator!r}; expected extractive, smollm2, hf or openai")

    def run(diagnosed: bool, show: bool) -> list[dict]:
        settings = ControllerSettings(scenario=name, seed=seed, generator=generator, diagnose=diagnosed)
        controller = Controller(settings, optimizer=optimizer, responder=responder)
        records = []
        for _ in range(builds):
            record = controller.run_once()
            records.append(record)
            build = record["monitor"]
            if show and build and build["status"] == "failure":
                console.print(f"[Monitor]  -> {_monitor_line(build)}", markup=False, soft_wrap=True)
                nxt = controller.best_action(controller.observation) if controller.observation else None
                console.print(f"[Optimizer] -> {{'action_id': {nxt['action_id']}, 'action_description': '{nxt['action_description']}'}}"
                              if nxt else f"[Optimizer] -> {record['errors'].get('optimizer')}", markup=False, soft_wrap=True)
                console.print(f"[Responder] -> {_responder_line(record.get('responder'), record['errors'].get('responder'))}",
                              markup=False, soft_wrap=True)
        return records

    records = run(diagnose, show=True)
    solution = solve_scenario(model)
    _demo_summary(records, solution, diagnose)
    if diagnose:
        truth = run(False, show=False)
        reward = lambda rs: sum(r["monitor"]["reward"] for r in rs) / len(rs)  # noqa: E731
        console.print(f"Misdiagnosis cost in this sample: mean reward per build {reward(records):.3f} with the responder's diagnosis "
                      f"against {reward(truth):.3f} with the true category (same seed, {builds} builds).")
        _exact_misdiagnosis_cost(model, solution, run_dir, responder.responder, seed)


def _exact_misdiagnosis_cost(model, solution, run_dir: Path, responder, seed: int, samples: int = 30) -> None:
    """The exact cost of diagnosis in the loop, from the responder's confusion matrix on simulated logs."""
    from autoops.diagnosis import confusion_matrix, misdiagnosis_cost
    from autoops.optimizer.evaluate import greedy_policy

    confusion = confusion_matrix(responder, model.scenario.toolchain, samples=samples, seed=seed, progress=True)
    table = Table(title=f"Exact cost of diagnosis in the loop ({samples} simulated {model.scenario.toolchain} logs per failure category)")
    for column in ("policy", "true category", "responder's diagnosis", "no diagnosis"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for name, policy in (("optimal", solution.optimal_policy), ("trained optimizer", greedy_policy(run_dir, model))):
        cost = misdiagnosis_cost(model, policy, confusion, solution.optimal.mean_reward)
        table.add_row(name, *(f"{stats.mean_reward:.3f} ({stats.regret:.2%} regret)" for stats in (cost.truth, cost.diagnosed, cost.blind)))
    console.print(table)
    console.print(f"Mean reward per build, exact; the responder named the true category of {cost.accuracy:.1%} of failure logs "
                  "(macro average over categories).")


ERROR_WORDS = re.compile(r"error|exception|fail|fatal|killed|timed? ?out|denied|no space|toomanyrequests|cancel", re.I)


def _monitor_line(build: dict) -> dict:
    lines = [line.strip() for line in (build.get("error_log") or "").splitlines() if line.strip()]
    last_error = next((line for line in lines if ERROR_WORDS.search(line)), lines[-1] if lines else "")
    return {"build": build["build"], "status": build["status"], "failure_category": build["failure_category"],
            "duration_minutes": round(build["duration_minutes"], 1), "cost_usd": round(build["cost_usd"], 3),
            "action": build["action_description"], "log": last_error[:120]}


def _responder_line(suggestion: dict | None, error: str | None) -> dict | str:
    if suggestion is None:
        return f"unavailable: {error}"
    return {"category": suggestion["category"], "summary": suggestion["summary"][:120],
            "fix": (suggestion["fix_steps"] or ["(declined)"])[0].splitlines()[0][:120],
            "incidents": suggestion["incident_ids"][:2], "generator": suggestion["generator"],
            "confidence": suggestion["confidence"], "fallback": suggestion["fallback_reason"]}


def _demo_summary(records: list[dict], solution, diagnose: bool) -> None:
    builds = [r["monitor"] for r in records if r.get("monitor")]
    failures = [(r["monitor"], r.get("responder")) for r in records if r.get("monitor") and r["monitor"]["status"] == "failure"]
    answered = [(b, s) for b, s in failures if s and not s["declined"]]
    matched = sum(s["category"] == b["failure_category"] for b, s in answered)
    static = solution.baselines[2]
    table = Table(title=f"{solution.scenario}: {len(builds)} builds through the controller" + (" (diagnosis in the loop)" if diagnose else ""))
    for column in ("", "failure rate", "mean duration min", "mean cost $"):
        table.add_column(column, justify="left" if not column else "right")
    table.add_row("this run", f"{len(failures) / len(builds):.1%}", f"{sum(b['duration_minutes'] for b in builds) / len(builds):.2f}",
                  f"{sum(b['cost_usd'] for b in builds) / len(builds):.3f}")
    table.add_row(f"{static.policy} (exact)", f"{static.failure_rate:.1%}", f"{static.mean_duration_minutes:.2f}", f"{static.mean_cost_usd:.3f}")
    table.add_row("optimal policy (exact)", f"{solution.optimal.failure_rate:.1%}", f"{solution.optimal.mean_duration_minutes:.2f}",
                  f"{solution.optimal.mean_cost_usd:.3f}")
    console.print(table)
    if failures:
        console.print(f"Responder: {len(answered)} of {len(failures)} failures answered ({len(failures) - len(answered)} declined or unavailable); "
                      f"category matched the simulator's true category in {matched} of {len(answered)}.")


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
        _fail(str(err))
    console.print(summary)
    if summary["failed"] or summary.get("compare", "ok") != "ok":
        raise typer.Exit(1)



@app.command()
def tune(
    scenario: str = ScenarioOption,
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
        _fail(str(err))
    best = result.best_trial
    console.print(f"study {result.study_name}: {len(result.trials)} trials; best #{best.number}: "
                  f"regret {best.value:.4f} with {best.params}")


AGENT_APPS = {
    "monitor": "autoops.api.monitor:create_monitor_app",
    "optimizer": "autoops.api.optimizer:create_optimizer_app",
    "responder": "autoops.api.responder:create_responder_app",
    "controller": "autoops.api.main:create_controller_app",
}


@app.command()
def serve(
    agent: str = typer.Argument(..., help="monitor, optimizer, responder or controller."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback unless you mean otherwise)."),
    port: int = typer.Option(9000, help="Port to listen on."),
) -> None:
    """Run one agent as its own HTTP service (the controller reaches it through AUTOOPS_<AGENT>_URL).
    Set AUTOOPS_API_TOKEN to require a bearer token on the endpoints that change state."""
    import uvicorn

    if agent not in AGENT_APPS:
        _fail(f"unknown agent {agent!r}; expected one of {', '.join(AGENT_APPS)}")
    uvicorn.run(AGENT_APPS[agent], factory=True, host=host, port=port, log_level="info")


stack_app = typer.Typer(help="Prometheus, Alertmanager and the controller on loopback (Debian's binaries).", no_args_is_help=True)
app.add_typer(stack_app, name="stack")


def _stack(folder: Path | None, prometheus_port: int, alertmanager_port: int, controller_port: int):
    from autoops.stack import Stack

    base = Stack()
    return Stack(folder or base.folder, prometheus_port=prometheus_port, alertmanager_port=alertmanager_port, controller_port=controller_port)


StackFolder = typer.Option(None, "--folder", help="Where configuration, data, logs and PID files go (default results/stack).")


@stack_app.command("up")
def stack_up(folder: Path = StackFolder, prometheus_port: int = 9090, alertmanager_port: int = 9093, controller_port: int = 9000,
             timeout: float = typer.Option(90, help="Seconds to wait for every target to be up.")) -> None:
    """Start whatever is not running and wait until Prometheus scrapes every target; print the URLs."""
    from autoops.stack import StackError

    stack = _stack(folder, prometheus_port, alertmanager_port, controller_port)
    start = time.perf_counter()
    try:
        urls = stack.up(timeout_s=timeout)
    except StackError as err:
        _fail(str(err))
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


# Commands that live beside their package.
from autoops.optimizer.commands import evaluate_cmd, train_cmd  # noqa: E402
from autoops.responder.commands import eval_rag_cmd, suggest_cmd  # noqa: E402

app.command("train")(train_cmd)
app.command("evaluate")(evaluate_cmd)
app.command("suggest")(suggest_cmd)
app.command("eval-rag")(eval_rag_cmd)

if __name__ == "__main__":
    app()
