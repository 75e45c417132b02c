"""``autoops demo``: the AutoOps workflow end to end, printed as the agents speak.

For each build the optimizer picks the configuration, the monitor runs it, and on a failure the
responder suggests a fix (``[Monitor] -> {...}``, ``[Optimizer] -> {...}``, ``[Responder] -> {...}``);
then the run against the best static configuration and the exact optimum, and what learning cost
the DQN and the factored agent, side by side: each one's exact final greedy regret and the exact
regret of the builds it ran while learning against the best static configuration's over as many
builds. A quick DQN (the controller's optimizer) and a quick factored run are trained first if
none exists, with the same number of builds. With ``--diagnose`` the optimizer sees the responder's diagnosis
instead of the simulator's truth, and the exact cost of that is reported.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from autoops.agents.controller import Controller, ControllerSettings
from autoops.agents.optimizer import OptimizerAgent
from autoops.agents.responder import ResponderAgent
from autoops.cli_support import console, fail, say
from autoops.envs import BuildModel, ScenarioError, get_scenario
from autoops.optimizer import online
from autoops.optimizer.runs import latest_run, read_metrics
from autoops.planning import solution as solve
from autoops.responder.generators import GENERATORS
from autoops.responder.logtext import first_error_line


def demo_cmd(
    scenario: str = typer.Option("BuildPipeline", "--scenario", "-s", help="Scenario name or Gymnasium id (see `autoops env list`)."),
    builds: int = typer.Option(30, min=1, help="Builds to run through the controller."),
    seed: int = typer.Option(0, help="Seed of the simulator."),
    generator: str = typer.Option(None, "--generator", "-g", help="The responder's generator (default: the one set in responder.yaml)."),
    diagnose: bool = typer.Option(False, help="Diagnosis in the loop: the optimizer sees the responder's predicted failure "
                                  "category instead of the simulator's truth; the run is repeated with the truth to show the cost."),
    train_steps: int = typer.Option(20_000, min=1000, help="Builds of each quick training run (DQN, factored) made when the runs "
                                    "folder has none of that agent for the scenario."),
    runs_dir: Path = typer.Option(None, help="Where trained optimizer runs are (default: AUTOOPS_RUNS_DIR or results/runs)."),
) -> None:
    """The AutoOps workflow end to end: for each build the optimizer picks the configuration, the
    monitor runs it, and on a failure the responder suggests a fix; then a summary against the
    best static configuration, and the cost of learning of the DQN and the factored agent. Trains
    a quick run of each first if none exists."""
    from autoops.optimizer.train import ensure_trained  # torch: imported when the demo runs, not for --help

    try:
        model = BuildModel(get_scenario(scenario))
    except ScenarioError as err:
        fail(str(err))
    if generator is not None and generator not in GENERATORS:
        fail(f"unknown generator {generator!r}; expected one of {', '.join(GENERATORS)}")
    name = model.scenario.name
    optimizer = OptimizerAgent(runs_dir, agent="dqn", learn=False)  # the trained DQN as it is, whatever the service's settings
    if latest_run(name, optimizer.runs_root) is None:
        say(f"No trained optimizer for {name}: training a quick one ({train_steps} steps) ...")
    run_dir = ensure_trained(name, seed=seed, timesteps=train_steps, runs_root=optimizer.runs_root, config_name="demo")
    say(f"optimizer: {run_dir}")
    factored_dir = ensure_factored(name, seed, train_steps, optimizer.runs_root)
    say(f"factored agent: {factored_dir}")
    responder = ResponderAgent()

    def run(diagnosed: bool, show: bool) -> list[dict]:
        settings = ControllerSettings(scenario=name, seed=seed, generator=generator, diagnose=diagnosed)
        controller = Controller(settings, optimizer=optimizer, responder=responder)
        records = []
        for _ in range(builds):
            record = controller.run_once()
            records.append(record)
            build = record["monitor"]
            if show and build and build["status"] == "failure":
                say(f"[Monitor]  -> {monitor_line(build)}")
                nxt = controller.best_action(controller.observation) if controller.observation else None
                say(f"[Optimizer] -> {{'action_id': {nxt['action_id']}, 'action_description': '{nxt['action_description']}'}}"
                    if nxt else f"[Optimizer] -> {record['errors'].get('optimizer')}")
                say(f"[Responder] -> {responder_line(record.get('responder'), record['errors'].get('responder'))}")
        return records

    records = run(diagnose, show=True)
    solution = solve(model)
    console.print(summary_table(records, solution, diagnose))
    console.print(learning_cost_table(name, {"dqn": run_dir, "factored": factored_dir}))
    failures = [(r["monitor"], r.get("responder")) for r in records if r.get("monitor") and r["monitor"]["status"] == "failure"]
    if failures:
        answered = [(b, s) for b, s in failures if s and not s["declined"]]
        matched = sum(s["category"] == b["failure_category"] for b, s in answered)
        say(f"Responder: {len(answered)} of {len(failures)} failures answered ({len(failures) - len(answered)} declined or unavailable); "
            f"category matched the simulator's true category in {matched} of {len(answered)}.")
    if diagnose:
        truth = run(False, show=False)
        reward = lambda rs: sum(r["monitor"]["reward"] for r in rs) / len(rs)  # noqa: E731
        say(f"Misdiagnosis cost in this sample: mean reward per build {reward(records):.3f} with the responder's diagnosis "
            f"against {reward(truth):.3f} with the true category (same seed, {builds} builds).")
        exact_misdiagnosis_cost(model, solution, run_dir, responder.responder, seed)


def exact_misdiagnosis_cost(model: BuildModel, solution, run_dir: Path, responder, seed: int, samples: int = 30) -> None:
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
    say(f"Mean reward per build, exact; the responder named the true category of {cost.accuracy:.1%} of failure logs "
        "(macro average over categories).")


def ensure_factored(scenario: str, seed: int, builds: int, runs_root: Path) -> Path:
    """The newest complete factored run of ``scenario``, else a new one of ``builds`` builds (the
    online loop: ~2,000 builds/s, so 20,000 take about ten seconds)."""
    existing = latest_run(scenario, runs_root, agent="factored")
    if existing is not None:
        return existing
    say(f"No factored run for {scenario}: learning one online ({builds} builds) ...")
    overrides = {"total_timesteps": builds, "eval_freq": max(builds // 4, 1)}
    return online.train("factored", scenario, seed, overrides, run_root=runs_root, config_name="demo")


def learning_cost_table(scenario: str, run_dirs: dict[str, Path]) -> Table:
    """Each agent's run: its exact final greedy regret and its cumulative regret while learning,
    against the best static configuration's over as many builds (from the run's metrics.json)."""
    table = Table(title=f"{scenario}: what learning cost, exact (cumulative regret in builds' worth of the optimal mean reward)")
    # short headers: the table fits 80 columns without cutting a word
    for column in ("agent", "builds", "greedy regret", "cumulative", "best static", "share", "break-even"):
        table.add_column(column, justify="left" if column == "agent" else "right", no_wrap=column == "break-even")
    for agent, run in run_dirs.items():
        metrics = read_metrics(run)
        builds, regret = metrics.get("num_timesteps"), metrics.get("regret")
        cumulative, static = metrics.get("cumulative_regret"), metrics.get("best_static_cumulative_regret")
        if cumulative is None:  # a run from before runs recorded the cost of learning
            table.add_row(agent, f"{builds:,}", f"{regret:.2%}" if regret is not None else "—", "—", "—", "—", "—")
            continue
        even = metrics.get("break_even_build")
        table.add_row(agent, f"{builds:,}", f"{regret:.2%}" if regret is not None else "—", f"{cumulative:,.0f}", f"{static:,.0f}",
                      f"{cumulative / static:.0%}" if static else "—", f"{even:,}" if even is not None else "never")
    return table


def monitor_line(build: dict) -> dict:
    return {"build": build["build"], "status": build["status"], "failure_category": build["failure_category"],
            "duration_minutes": round(build["duration_minutes"], 1), "cost_usd": round(build["cost_usd"], 3),
            "action": build["action_description"], "log": first_error_line(build.get("error_log") or "")[:120]}


def responder_line(suggestion: dict | None, error: str | None) -> dict | str:
    """The responder's answer as the seed printed it: one sentence and the first action (whole
    words only), with the category and the incident it came from."""
    if suggestion is None:
        return f"unavailable: {error}"
    if suggestion["declined"] or not suggestion["fix_steps"]:
        text = suggestion["summary"]
    else:
        text = f"{suggestion['summary'].rstrip('.…')}. First: {suggestion['fix_steps'][0]}"
    line = {"suggestion": text, "category": suggestion["category"],
            "incident": (suggestion["incident_ids"] or [None])[0], "confidence": round(suggestion["confidence"], 2)}
    if suggestion.get("fallback_reason"):
        line["fallback"] = suggestion["fallback_reason"]
    return line


def summary_table(records: list[dict], solution, diagnose: bool) -> Table:
    builds = [r["monitor"] for r in records if r.get("monitor")]
    failures = [b for b in builds if b["status"] == "failure"]
    static = solution.baselines[2]
    table = Table(title=f"{solution.scenario}: {len(builds)} builds through the controller" + (" (diagnosis in the loop)" if diagnose else ""))
    for column in ("", "failure rate", "mean duration min", "mean cost $"):
        table.add_column(column, justify="left" if not column else "right")
    table.add_row("this run", f"{len(failures) / len(builds):.1%}", f"{sum(b['duration_minutes'] for b in builds) / len(builds):.2f}",
                  f"{sum(b['cost_usd'] for b in builds) / len(builds):.3f}")
    table.add_row(f"{static.policy} (exact)", f"{static.failure_rate:.1%}", f"{static.mean_duration_minutes:.2f}", f"{static.mean_cost_usd:.3f}")
    table.add_row("optimal policy (exact)", f"{solution.optimal.failure_rate:.1%}", f"{solution.optimal.mean_duration_minutes:.2f}",
                  f"{solution.optimal.mean_cost_usd:.3f}")
    return table
