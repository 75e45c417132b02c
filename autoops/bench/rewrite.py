"""Does a small local model write a better summary sentence than the extractive one?
(``python -m autoops.bench.rewrite``; writes ``results/bench/rewrite.json``; measures, never asserts.)

For each case the extractive generator answers first (its evidence lines, chosen cause and
summary); then each model rewrites the summary (``autoops.responder.rewrite``). Per generator:
the share of sentences accepted by the support check, the share naming something specific from
the log (``evaluation.specifics_of``) among the cases whose log names anything, the length, and
the latency p50/p95 per case (the model's seconds, and end to end with the extractive answer).
``examples`` puts accepted sentences next to the extractive ones, to read as an on-call engineer.

Evaluate on the team's development cases (the default when present); tune the prompt only on
``--cases public-odd``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from autoops import paths
from autoops.responder.evaluation import (
    default_case_files,
    public_cases,
    read_cases,
    specifics_of,
)
from autoops.responder.rewrite import rewrite_summary

MODELS = ("smollm2", "gemma3")


def load_model(name: str, threads: int = 2):
    from autoops.responder.llm import TransformersLM

    if name == "smollm2":
        return TransformersLM.smollm2(threads=threads, int4=True)
    if name == "gemma3":
        return TransformersLM.gemma3(threads=threads)
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")


def _names_specific(sentence: str, specifics: list[str]) -> bool:
    return any(x.lower() in sentence.lower() for x in specifics)


def _summary(rows: list[dict], key: str, seconds_key: str) -> dict:
    with_names = [r for r in rows if r["specifics"]]
    accepted = [r for r in rows if r[key] is not None]
    final = [r[key] if r[key] is not None else r["extractive"] for r in rows]  # what the user would read
    seconds = np.array([r[seconds_key] for r in rows])
    return {
        "accepted": len(accepted) / len(rows),
        "specific_when_accepted": (sum(_names_specific(r[key], r["specifics"]) for r in accepted if r["specifics"])
                                   / max(1, sum(1 for r in accepted if r["specifics"]))),
        "specific_final": sum(_names_specific(f, r["specifics"]) for f, r in zip(final, rows) if r["specifics"]) / max(1, len(with_names)),
        "chars_mean_accepted": float(np.mean([len(r[key]) for r in accepted])) if accepted else None,
        "latency_s_p50": float(np.percentile(seconds, 50)), "latency_s_p95": float(np.percentile(seconds, 95)),
    }


def bench_rewrite(cases: list[dict], models=MODELS, threads: int = 2) -> dict:
    from autoops.responder.responder import Responder

    responder = Responder.from_config()
    rows = []
    for case in cases:
        start = time.perf_counter()
        s = responder.suggest(case["text"], generator="extractive")
        rows.append({"id": case.get("id"), "specifics": specifics_of(case), "declined": s.declined,
                     "evidence": s.evidence, "cause": s.root_cause, "extractive": s.summary,
                     "extractive_s": time.perf_counter() - start})
    rows = [r for r in rows if not r["declined"]]
    result = {"n": len(rows), "load_avg_before": [round(x, 2) for x in os.getloadavg()],
              "extractive": {**_summary([{**r, "x": r["extractive"]} for r in rows], "x", "extractive_s"), "accepted": 1.0}}
    for name in models:
        try:
            start = time.perf_counter()
            lm = load_model(name, threads)
            load_s = time.perf_counter() - start
        except (RuntimeError, OSError, ValueError, ImportError) as err:  # a model that cannot be loaded is a result too
            result[name] = {"loaded": False, "error": f"{type(err).__name__}: {err}"}
            continue
        for r in rows:
            out = rewrite_summary(lm, r["evidence"], r["cause"], r["extractive"])
            r[name], r[f"{name}_text"], r[f"{name}_reason"], r[f"{name}_s"] = out.accepted, out.text, out.reason, out.seconds + r["extractive_s"]
        reasons: dict[str, int] = {}
        for r in rows:
            if r[f"{name}_reason"]:
                kind = r[f"{name}_reason"].split(":")[0]
                reasons[kind] = reasons.get(kind, 0) + 1
        result[name] = {"loaded": True, "load_s": round(load_s, 1), "precision": lm.precision,
                        **_summary(rows, name, f"{name}_s"), "rejected_because": reasons,
                        "examples": [{"id": r["id"], "extractive": r["extractive"], name: r[name]}
                                     for r in rows if r[name] is not None][:10]}
        del lm
    result["rows"] = [{k: v for k, v in r.items() if k != "evidence"} for r in rows]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autoops.bench.rewrite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="dev", help="dev (the team's development cases) or public-odd (for tuning)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", default=None, help="JSON file (default results/bench/rewrite.json)")
    args = parser.parse_args(argv)
    if args.cases == "dev":
        files = default_case_files()
        if "dev cases" not in files:
            parser.error("the development cases (../shared/responder_dev_cases.jsonl) are not beside this checkout")
        cases = read_cases(files["dev cases"])
    elif args.cases == "public-odd":
        cases = public_cases("odd")
    else:
        parser.error(f"--cases: expected dev or public-odd, got {args.cases!r}")
    result = bench_rewrite(cases[: args.limit], models=[m for m in args.models.split(",") if m])
    path = paths.bench_dir() / "rewrite.json" if args.out is None else Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, path)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "examples"} if isinstance(v, dict) else v
                      for k, v in result.items() if k != "rows"}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
