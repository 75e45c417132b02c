"""``autoops env ...``: scenarios, the exact optimum against the baselines, and replays."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from autoops.cli_support import console, fail, say
from autoops.envs import N_ACTIONS, BuildModel, ScenarioError, describe_action, get_scenario, load_valid
from autoops.envs.replay import EpisodeRecord, replay, run_episode
from autoops.paths import scenario_dir
from autoops.planning import named_policy, phase_models, solution

app = typer.Typer(help="The CI build simulator: scenarios, exact optimum, baselines, replays.", no_args_is_help=True)

ScenarioOption = typer.Option("BuildPipeline", "--scenario", "-s", help="Scenario name or Gymnasium id (see `autoops env list`).")


def model_of(name: str) -> BuildModel:
    try:
        return BuildModel(get_scenario(name))
    except ScenarioError as err:
        fail(str(err))


@app.command("list")
def env_list() -> None:
    """Show every scenario, its Gymnasium id, and the build configurations (actions). A scenario
    file that cannot be read is named with its error; the others are still listed."""
    scenarios, errors = load_valid()
    table = Table(title=f"Scenarios ({scenario_dir()})")
    table.add_column("name", no_wrap=True)
    table.add_column("gymnasium id", no_wrap=True)
    table.add_column("toolchain", no_wrap=True)
    table.add_column("description")
    for sc in scenarios.values():
        table.add_row(sc.name, sc.env_id, sc.toolchain, sc.description)
    console.print(table)
    actions = Table(title="Actions: one build configuration each")
    actions.add_column("id", justify="right")
    actions.add_column("description")
    for a in range(N_ACTIONS):
        actions.add_row(str(a), describe_action(a))
    console.print(actions)
    for err in errors:
        say(f"not loaded: {err}")
    if errors:
        raise typer.Exit(1)


def solution_table(solution, all_static: bool = False) -> Table:
    table = Table(title=f"{solution.scenario}: exact long-run figures per build")
    for column in ("policy", "mean reward", "duration min", "cost $", "failure rate", "regret"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    rows = solution.table() if all_static else solution.table()[:4]
    for s in rows:
        table.add_row(s.policy, f"{s.mean_reward:.3f}", f"{s.mean_duration_minutes:.2f}", f"{s.mean_cost_usd:.3f}", f"{s.failure_rate:.3f}", f"{s.regret:.2%}")
    return table


@app.command("solve")
def env_solve(
    scenario: str = ScenarioOption,
    all_static: bool = typer.Option(False, "--all-static", help="Also list every static configuration."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Solve a scenario exactly (relative value iteration, mean reward per build) and compare
    the optimum with the baselines: uniform random, the tuned heuristic, every static configuration.

    Regret is relative: (optimal mean reward - policy's) / |optimal mean reward|. A drifting
    scenario is solved phase by phase (its world changes at each phase's first build).
    """
    try:
        phases = phase_models(get_scenario(scenario))
    except ScenarioError as err:
        fail(str(err))
    solved = [(start, model, solution(model)) for start, model in phases]
    if as_json:
        tables = [[s.as_dict() for s in sol.table()] for _, _, sol in solved]
        print(json.dumps(tables[0] if len(tables) == 1 else
                         [{"from_build": start, "description": model.scenario.description, "policies": table}
                          for (start, model, _), table in zip(solved, tables)], indent=1))
        return
    for start, model, sol in solved:
        table = solution_table(sol, all_static)
        if len(solved) > 1:
            table.title = f"{table.title}, from build {start:,}: {model.scenario.description}"
        console.print(table)


@app.command("run")
def env_run(
    scenario: str = ScenarioOption,
    policy: str = typer.Option("optimal", help="optimal, heuristic, best-static, random or static:N."),
    builds: int = typer.Option(200, min=1, help="How many builds to simulate."),
    seed: int = typer.Option(0, help="Seed of the simulator (and of a random policy)."),
    record: Path = typer.Option(None, help="Write the episode record (JSON) here, for `autoops env replay`."),
) -> None:
    """Simulate builds with a policy and print the outcome; optionally save a replayable record."""
    model = model_of(scenario)
    try:
        actions = named_policy(model, policy)
    except ValueError as err:
        fail(str(err))
    episode = run_episode(model.scenario, actions, builds, seed, policy)
    failures = sum(b.status == "failure" for b in episode.builds)
    say(f"{model.scenario.name}, policy {policy}, seed {seed}: {builds} builds, {failures} failed "
        f"({failures / builds:.1%}), mean reward {episode.mean_reward:.3f}")
    if record:
        episode.save(record)
        say(f"record written to {record}; check it with `autoops env replay {record}`")


@app.command("replay")
def env_replay(file: Path = typer.Argument(..., help="An episode record written by `autoops env run --record`.")) -> None:
    """Re-run a recorded episode from its seed and actions; report every build that differs."""
    try:
        record = EpisodeRecord.load(file)
        mismatches = replay(record)
    except (ValueError, ScenarioError) as err:
        fail(str(err))
    if mismatches:
        for line in mismatches[:20]:
            say(f"mismatch {line}")
        say(f"{len(mismatches)} mismatches in {len(record.builds)} builds")
        raise typer.Exit(1)
    say(f"replayed {len(record.builds)} builds of {record.scenario} (seed {record.seed}): identical")
