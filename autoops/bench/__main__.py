"""``make bench``: measured speed figures, written as JSON to ``autoops.paths.bench_dir()``
(``results/bench/<name>.json``).

Benchmarks measure; they never assert. Each figure is the best of a few repeats, which is
the least disturbed by whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os

from autoops import paths

# name -> (module of autoops.bench, function); a module is imported only when its benchmark runs,
# so `python -m autoops.bench env` does not load torch or the LLM
BENCHES = {
    "env": ("env", "bench_env"),
    "dqn": ("dqn", "bench_dqn"),
    "responder": ("responder", "bench"),
    "api": ("services", "bench_api"),
    "factored": ("factored", "bench_factored"),
}


def run(name: str) -> dict:
    module, function = BENCHES[name]
    return getattr(importlib.import_module(f"autoops.bench.{module}"), function)()


def write(name: str, result: dict):
    folder = paths.bench_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, path)  # an interrupted benchmark leaves the previous figures whole
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autoops.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run, of {', '.join(BENCHES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark {sorted(unknown)[0]!r}; expected one of {', '.join(BENCHES)}")
    for name in args.names or BENCHES:
        result = run(name)
        print(json.dumps(result, indent=1))
        print(f"written to {write(name, result)}")


if __name__ == "__main__":
    main()
