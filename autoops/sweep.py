"""Sweeps of parameterized notebooks: every combination of a grid, each seed, run by papermill.

A sweep file (``experiments/*.yaml``) names a notebook, fixed parameters, a grid and seeds;
paths in it are relative to the folder the sweep is run from (the project root)::

    notebook: notebooks/01_train_dqn.ipynb
    output_dir: results/sweeps/dqn_configs
    parameters: {timesteps: 50000}
    grid: {scenario: [JvmMonorepo, NodeWebapp], config: [default, wide_net]}
    seeds: [0, 1, 2]
    compare: notebooks/02_compare_dqn_configs.ipynb   # optional, run last with sweep_dir

Every combination runs in its own folder ``<output_dir>/<key>/`` (the executed notebook and
``status.json``), with the parameters plus ``seed`` and ``run_dir`` injected into the cell
tagged ``parameters``. A combination whose ``status.json`` says ``ok`` is skipped on the next
call (resume); a failed one is recorded and the sweep carries on. Backends: ``local`` (a pool
of worker threads, each driving its own kernel process) and ``ray`` (one Ray task per
combination, one CPU each, so the same sweep runs on a cluster).
"""

from __future__ import annotations

import itertools
import json
import os
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from autoops import paths
from autoops.yamlfile import read_mapping

KERNEL = "autoops"


class SweepError(ValueError):
    """A sweep file is missing or malformed."""


@dataclass(frozen=True)
class Run:
    key: str
    parameters: dict
    run_dir: Path


@dataclass
class Sweep:
    path: Path
    notebook: Path
    output_dir: Path
    parameters: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    seeds: list = field(default_factory=lambda: [0])
    compare: Path | None = None

    @classmethod
    def load(cls, path: str | Path, root: str | Path | None = None) -> "Sweep":
        """Read a sweep file; relative paths inside it are relative to ``root``: by default the
        project checkout (so ``autoops sweep`` works from any directory), else the current one."""
        path = Path(path).resolve()
        root = Path(root) if root else (paths.project_root() or Path.cwd())
        data = read_mapping(path, SweepError, "sweep file")
        known = {"notebook", "output_dir", "parameters", "grid", "seeds", "compare"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SweepError(f"{path}: field '{unknown[0]}': unknown; expected one of {', '.join(sorted(known))}")
        if "notebook" not in data:
            raise SweepError(f"{path}: field 'notebook': missing")
        grid = data.get("grid") or {}
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
            raise SweepError(f"{path}: field 'grid': expected a mapping of parameter to a non-empty list of values")
        seeds = data.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
            raise SweepError(f"{path}: field 'seeds': expected a non-empty list of whole numbers")
        if not isinstance(data.get("parameters") or {}, dict):
            raise SweepError(f"{path}: field 'parameters': expected a mapping")
        notebook = root / data["notebook"]
        if not notebook.exists():
            raise SweepError(f"{path}: field 'notebook': {notebook} does not exist")
        compare = root / data["compare"] if data.get("compare") else None
        if compare and not compare.exists():
            raise SweepError(f"{path}: field 'compare': {compare} does not exist")
        output_dir = root / data.get("output_dir", f"results/sweeps/{path.stem}")
        return cls(path, notebook, output_dir, data.get("parameters") or {}, grid, seeds, compare)

    def runs(self) -> list[Run]:
        names = list(self.grid)
        runs = []
        for values in itertools.product(*(self.grid[n] for n in names)):
            for seed in self.seeds:
                combo = dict(zip(names, values))
                key = "__".join([*(f"{n}={v}" for n, v in combo.items()), f"seed={seed}"])
                run_dir = self.output_dir / key
                runs.append(Run(key, {**self.parameters, **combo, "seed": seed, "run_dir": str(run_dir)}, run_dir))
        return runs


def _status(run: Run) -> dict | None:
    try:
        return json.loads((run.run_dir / "status.json").read_text())
    except (OSError, ValueError):
        return None


def execute(notebook: Path, output: Path, parameters: dict, kernel: str = KERNEL) -> dict:
    """Execute one notebook with papermill; never raises: the outcome is in the returned status."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=parameters, kernel_name=kernel,
                                   progress_bar=False, cwd=str(output.parent))
        status = {"status": "ok"}
    except Exception as err:  # a failed run is recorded and the sweep carries on
        status = {"status": "failed", "error": f"{type(err).__name__}: {err}"[:2000], "traceback": traceback.format_exc()[-4000:]}
    status.update(seconds=round(time.perf_counter() - start, 3), parameters=parameters)
    (output.parent / "status.json").write_text(json.dumps(status, indent=1, default=str) + "\n")
    return status


def _execute_run(notebook: str, run_dir: str, parameters: dict, kernel: str) -> dict:
    return execute(Path(notebook), Path(run_dir) / "notebook.ipynb", parameters, kernel)


def run_sweep(sweep: Sweep, backend: str = "local", workers: int = 1, ray_address: str | None = None,
              kernel: str = KERNEL, progress: bool = True, object_store_mb: int | None = None) -> dict:
    """Run every combination not already done; then the comparison notebook. Returns a summary.

    With ``backend="ray"``, ``ray_address`` (or ``$RAY_ADDRESS``) joins a cluster; without one a
    local Ray starts with ``workers`` CPUs (and ``object_store_mb`` of object store, if given)."""
    todo = [run for run in sweep.runs() if (_status(run) or {}).get("status") != "ok"]
    skipped = len(sweep.runs()) - len(todo)
    start = time.perf_counter()
    results: dict[str, dict] = {}
    bar = tqdm(total=len(todo), desc=f"sweep {sweep.path.stem} ({backend})", disable=not progress)
    if backend == "local":
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(_execute_run, str(sweep.notebook), str(r.run_dir), r.parameters, kernel): r for r in todo}
            for future in as_completed(futures):
                results[futures[future].key] = future.result()
                bar.update()
    elif backend == "ray":
        import ray

        address = ray_address or os.environ.get("RAY_ADDRESS")
        started_here = not ray.is_initialized()
        if started_here:
            local = {} if address else {"num_cpus": max(1, workers)}
            if object_store_mb and not address:
                local["object_store_memory"] = object_store_mb * 1024 * 1024
            ray.init(address=address, include_dashboard=False, log_to_driver=False, **local)
        remote = ray.remote(num_cpus=1)(_execute_run)
        refs = {remote.remote(str(sweep.notebook), str(r.run_dir), r.parameters, kernel): r for r in todo}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            results[refs[done[0]].key] = ray.get(done[0])
            bar.update()
        if started_here:
            ray.shutdown()
    else:
        raise SweepError(f"unknown backend {backend!r}; expected local or ray")
    bar.close()
    summary = {
        "sweep": str(sweep.path),
        "backend": backend,
        "runs": len(sweep.runs()),
        "skipped_done": skipped,
        "ok": sum(r["status"] == "ok" for r in results.values()),
        "failed": sorted(k for k, r in results.items() if r["status"] != "ok"),
        "seconds": round(time.perf_counter() - start, 3),
    }
    if sweep.compare:
        compare = execute(sweep.compare, sweep.output_dir / "compare.ipynb", {"sweep_dir": str(sweep.output_dir)}, kernel)
        summary["compare"] = compare["status"]
    sweep.output_dir.mkdir(parents=True, exist_ok=True)
    (sweep.output_dir / "sweep.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
