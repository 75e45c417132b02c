"""The ``autoops`` command line."""

from __future__ import annotations

import typer

from autoops.api.commands import serve_cmd
from autoops.cli_support import tidy_help
from autoops.demo import demo_cmd
from autoops.envs.commands import app as env_app
from autoops.optimizer.commands import evaluate_cmd, sweep_cmd, train_cmd, tune_cmd
from autoops.responder.commands import eval_rag_cmd, suggest_cmd
from autoops.system.commands import app as stack_app

app = typer.Typer(
    help="AutoOps: a research environment for autonomous DevOps agents.\n\n"
    "Start with `autoops env list` (scenarios and build configurations), `autoops env solve -s JvmMonorepo` "
    "(the exact optimum against the baselines) and `autoops demo`.",
    no_args_is_help=True,
)
app.add_typer(env_app, name="env")
app.add_typer(stack_app, name="stack")
for name, command in (("demo", demo_cmd), ("train", train_cmd), ("evaluate", evaluate_cmd), ("tune", tune_cmd),
                      ("sweep", sweep_cmd), ("suggest", suggest_cmd), ("eval-rag", eval_rag_cmd), ("serve", serve_cmd)):
    app.command(name)(command)


tidy_help(app)

if __name__ == "__main__":
    app()
