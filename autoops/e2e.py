"""The whole system end to end, for ``notebooks/04_end_to_end_demo.ipynb``: a running system, a
driven session, its time series, the alerts that fired and the responder's answers to them.

A running system (``running_system``) is either

    stack     Debian's Prometheus and Alertmanager and the controller (``autoops.stack.Stack``) on
              free ports in a folder of their own: Prometheus scrapes the controller, evaluates
              ``monitoring/rules/autoops.rules.yml`` and Alertmanager calls the controller's
              ``/alerts``, where the responder answers. Time series come from Prometheus's
              ``/api/v1/query_range`` (``prometheus_range``), alerts from its ``ALERTS`` series.
    embedded  when the binaries are missing: the controller in this process (uvicorn in a
              thread) and a ``Recorder`` that reads its ``/metrics`` every second. The same
              panels are computed from those samples in pandas (``recorded_range``: ``rate`` over
              the same windows, without Prometheus's extrapolation, and ``histogram_quantile``
              with its interpolation); the rules whose expression is one of the panels (build
              failure rate, slow builds) are evaluated on them with their threshold and ``for``
              duration, and a firing alert is posted to the controller's ``/alerts`` the way
              Alertmanager would post it. An approximation of Prometheus, not Prometheus.

Both give the same frames: series ``(time, series, labels, value)``, alerts ``(alertname, labels,
state, pending_since, firing_since, last_seen, source)``, answers (``alert_answers``).

A session (``drive``) is ``iterations`` of the controller's ``POST /run`` (optimizer -> monitor ->
responder); over its second half, "incident" builds of a bad fixed configuration (by default
action 0, the plain build: no cache, no retries) go to ``POST /simulate_build`` in between,
and with ``until_answered`` the incident goes on until the responder has answered that alert.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from autoops.stack import MONITORING, Stack, binaries_available

RULES = MONITORING / "rules" / "autoops.rules.yml"
log = logging.getLogger(__name__)

# The notebook's four panels. The first three are the Grafana dashboard's expressions
# (monitoring/grafana/dashboards/autoops.json) and the first two those of the alert rules; the
# dashboard's actions panel averages over 5 minutes, longer than a demo, so this one uses 1.
PANELS = {
    "failure rate": 'sum by (scenario) (rate(autoops_builds_total{status="failure"}[2m])) '
                    '/ sum by (scenario) (rate(autoops_builds_total[2m]))',
    "median build duration (s)": "histogram_quantile(0.5, sum by (le, scenario) (rate(autoops_build_duration_seconds_bucket[2m])))",
    "runner cost ($/min)": "sum by (scenario) (rate(autoops_build_cost_dollars_sum[2m])) * 60",
    "actions (builds/min)": "sum by (action) (rate(autoops_optimizer_actions_total[1m])) * 60",
}
SERIES_COLUMNS = ["time", "series", "labels", "value"]
ALERT_COLUMNS = ["alertname", "labels", "state", "pending_since", "firing_since", "last_seen", "source"]
ANSWER_COLUMNS = ["alertname", "labels", "category", "summary", "first_fix_step", "incident_ids",
                  "generator", "declined", "fallback_reason", "latency_ms"]


class PrometheusError(RuntimeError):
    """A query Prometheus refused or could not answer; the message names the query."""


# -- a trained optimizer --------------------------------------------------------------------------
def ensure_optimizer(scenario: str, runs_dir: str | Path, seed: int = 0, train_steps: int = 50_000,
                     progress: bool = False) -> Path:
    """The newest trained run of ``scenario`` in ``runs_dir``; trains one of ``train_steps`` builds
    (with ``seed``) when there is none."""
    from autoops.agents import AgentUnavailable
    from autoops.agents.optimizer import OptimizerAgent
    from autoops.envs import get_scenario
    from autoops.optimizer.train import resolve_settings, train

    try:
        return OptimizerAgent(runs_dir).run_for(get_scenario(scenario).name)
    except AgentUnavailable:
        pass
    overrides = {"total_timesteps": train_steps}
    settings = resolve_settings(get_scenario(scenario).name, overrides)
    if settings.learning_starts > train_steps // 3:  # a short run must still learn something
        overrides["learning_starts"] = train_steps // 3
    overrides["eval_freq"] = min(settings.eval_freq, train_steps)
    return train(scenario, seed=seed, overrides=overrides, run_root=runs_dir, progress=progress)


# -- a running system -----------------------------------------------------------------------------
def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class System:
    """What ``running_system`` gives: the controller's URL and where series and alerts come from."""

    mode: str  # "stack" or "embedded"
    scenario: str
    controller_url: str
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    folder: Path | None = None
    recorder: Recorder | None = None

    def describe(self) -> str:
        if self.mode == "stack":
            return (f"stack: Prometheus {self.prometheus_url}, Alertmanager {self.alertmanager_url}, "
                    f"controller {self.controller_url} (folder {self.folder})")
        return (f"embedded: controller {self.controller_url} in this process, /metrics sampled every "
                f"{self.recorder.sample_s:g} s; rules evaluated in Python: {', '.join(r.name for r in self.recorder.rules)}")

    def series(self, start, end, step: str | float = "5s", queries: Iterable[str] = PANELS) -> pd.DataFrame:
        """The named ``PANELS`` over ``[start, end]``: from Prometheus, or computed from the samples."""
        if self.mode == "stack":
            return prometheus_range(self.prometheus_url, {name: PANELS[name] for name in queries}, start, end, step)
        return recorded_range(self.recorder.samples(), queries, start, end, step)

    def alerts(self, start, end) -> pd.DataFrame:
        if self.mode == "stack":
            return fired_alerts(self.prometheus_url, start, end)
        return self.recorder.alerts(start, end)[ALERT_COLUMNS]

    def answers(self) -> pd.DataFrame:
        return alert_answers(self.controller_url)


@contextlib.contextmanager
def running_system(scenario: str, runs_dir: str | Path, mode: str = "auto", generator: str | None = None,
                   seed: int = 0, folder: str | Path | None = None, timeout_s: float = 120.0,
                   rules: list[Rule] | None = None) -> Iterator[System]:
    """The stack (``mode="stack"``, or ``"auto"`` when the binaries are installed) or the embedded
    controller (``"embedded"``, or ``"auto"`` without them), stopped on exit whatever happens.

    ``folder``: where the stack keeps configuration, data and logs (default: a new temporary
    folder, removed on a clean exit and kept, with its logs, after an error). ``generator``: the
    responder's (default: ``configs/responder.yaml``'s). ``seed``: the simulation's. ``rules``:
    the rules the embedded mode evaluates (default: ``load_rules()``)."""
    if mode == "auto":
        mode = "stack" if binaries_available() else "embedded"
    if mode not in ("stack", "embedded"):
        raise ValueError(f"mode must be auto, stack or embedded, not {mode!r}")
    runs_dir = Path(runs_dir).resolve()
    if mode == "embedded":
        with _embedded(scenario, runs_dir, generator, seed, rules) as system:
            yield system
        return
    temporary = folder is None
    folder = Path(tempfile.mkdtemp(prefix="autoops-e2e-") if temporary else folder).resolve()
    prometheus, alertmanager, controller = free_ports(3)
    stack = Stack(folder, prometheus_port=prometheus, alertmanager_port=alertmanager, controller_port=controller)
    atexit.register(stack.down)  # a kernel that exits in the middle still stops the services
    try:
        env = {"AUTOOPS_SCENARIO": scenario, "AUTOOPS_RUNS_DIR": str(runs_dir), "AUTOOPS_SEED": str(seed)}
        urls = stack.up(timeout_s=timeout_s, env=env | ({"AUTOOPS_GENERATOR": generator} if generator else {}))
        yield System("stack", scenario, urls["controller"], urls["prometheus"], urls["alertmanager"], folder)
    finally:
        stack.down()
        atexit.unregister(stack.down)
    if temporary:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _embedded(scenario: str, runs_dir: Path, generator: str | None, seed: int, rules: list[Rule] | None) -> Iterator[System]:
    import uvicorn

    from autoops.agents.controller import Controller, ControllerSettings
    from autoops.agents.optimizer import OptimizerAgent
    from autoops.api.main import create_controller_app

    controller = Controller(ControllerSettings(scenario=scenario, seed=seed, generator=generator),
                            optimizer=OptimizerAgent(runs_dir))
    (port,) = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(create_controller_app(controller), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="autoops-e2e-controller", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the embedded controller did not start on port {port}")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    recorder = Recorder(url, rules=load_rules() if rules is None else rules)
    try:
        yield System("embedded", scenario, url, recorder=recorder)
    finally:
        recorder.stop()
        server.should_exit = True
        thread.join(timeout=30)


# -- a session ------------------------------------------------------------------------------------
def _headers() -> dict:
    token = os.environ.get("AUTOOPS_API_TOKEN")  # the controller wants it when it is set
    return {"Authorization": f"Bearer {token}"} if token else {}


def drive(controller_url: str, scenario: str, iterations: int, incident_builds: int = 0, incident_action: int = 0,
          interval_s: float = 1.0, until_answered: str | None = None, max_wait_s: float = 120.0,
          progress: bool = True) -> pd.DataFrame:
    """Run a session and return one row per build (``kind``: optimizer or incident).

    An iteration starts every ``interval_s`` seconds (or when the previous one ends): one ``POST
    /run``, then, from iteration ``iterations // 2`` on, its share of the ``incident_builds``
    plain ``POST /simulate_build`` builds with ``incident_action``. With ``until_answered`` (an
    alert name) the incident iterations go on until the controller's ``/answers`` has an answer
    to that alert, at most ``max_wait_s`` seconds after the planned iterations."""
    incident_from = iterations // 2
    per_iteration = incident_builds / max(1, iterations - incident_from)
    rows: list[dict] = []
    bar = tqdm(total=iterations, desc=f"{scenario}: /run", disable=not progress, mininterval=5.0)
    with httpx.Client(base_url=controller_url, headers=_headers(), timeout=300) as client:
        def post(path: str, body: dict | None = None) -> dict:
            response = client.post(path, json=body)
            if response.status_code != 200:
                raise RuntimeError(f"POST {controller_url}{path} answered {response.status_code}: {response.text[:500]}")
            return response.json()

        start, wait_until, i = time.monotonic(), None, 0
        while True:
            if i >= iterations:
                if until_answered is None or any(a.get("alertname") == until_answered for a in client.get("/answers").json()):
                    break
                if wait_until is None:
                    wait_until, bar.total = time.monotonic() + max_wait_s, None
                    bar.set_postfix_str(f"the incident goes on until {until_answered} is answered")
                if time.monotonic() > wait_until:
                    break
            time.sleep(max(0.0, start + i * interval_s - time.monotonic()))
            phase = "normal" if i < incident_from else "incident" if i < iterations else "incident, waiting for the answer"
            rows.append(_run_row(post("/run"), i + 1, phase))
            if i >= incident_from:
                k = i - incident_from
                for _ in range(math.floor((k + 1) * per_iteration) - math.floor(k * per_iteration)):
                    build = post("/simulate_build", {"scenario": scenario, "action": incident_action})
                    rows.append(_build_row(build, i + 1, phase, "incident"))
            i += 1
            bar.update()
    bar.close()
    return pd.DataFrame(rows)


def _build_row(build: dict, iteration: int, phase: str, kind: str) -> dict:
    return {"time": pd.Timestamp.now(tz="UTC"), "iteration": iteration, "phase": phase, "kind": kind,
            "action_id": build["action_id"], "action": build["action_description"], "status": build["status"],
            "failure_category": build["failure_category"], "duration_minutes": build["duration_minutes"],
            "cost_usd": build["cost_usd"], "reward": build["reward"]}


def _run_row(record: dict, iteration: int, phase: str) -> dict:
    if not record.get("monitor"):
        return {"time": pd.Timestamp.now(tz="UTC"), "iteration": iteration, "phase": phase, "kind": "optimizer",
                "errors": record.get("errors")}
    suggestion = record.get("responder") or {}
    return _build_row(record["monitor"], iteration, phase, "optimizer") | {
        "responder_category": suggestion.get("category"), "responder_summary": suggestion.get("summary"),
        "responder_generator": suggestion.get("generator"), "responder_declined": suggestion.get("declined"),
        "responder_latency_ms": suggestion.get("latency_ms"), "errors": record.get("errors") or None,
    }


# -- Prometheus's HTTP API ------------------------------------------------------------------------
def _unix(t) -> float:
    """Unix seconds of a number, a datetime or anything ``pd.Timestamp`` reads (naive: UTC)."""
    return float(t) if isinstance(t, (int, float)) else pd.Timestamp(t).timestamp()


def _seconds(step: str | float) -> float:
    return float(step) if isinstance(step, (int, float)) else pd.Timedelta(step).total_seconds()


def prometheus_range(prometheus_url: str, queries: dict[str, str], start, end, step: str | float = "5s") -> pd.DataFrame:
    """``/api/v1/query_range`` of each named PromQL query as one tidy frame: ``time`` (UTC),
    ``series`` (the query's name), ``labels`` (the result's labels), ``value`` (NaN where
    Prometheus says NaN, e.g. 0/0). ``start``/``end``: datetimes, Timestamps or Unix seconds."""
    rows = []
    for name, expr in queries.items():
        params = {"query": expr, "start": _unix(start), "end": _unix(end), "step": _seconds(step)}
        try:
            response = httpx.get(f"{prometheus_url}/api/v1/query_range", params=params, timeout=30)
            body = response.json()
        except httpx.HTTPError as err:
            raise PrometheusError(f"query {name!r} ({expr}): cannot reach Prometheus at {prometheus_url}: {err}") from None
        except ValueError:
            raise PrometheusError(f"query {name!r} ({expr}): Prometheus answered {response.status_code} "
                                  f"without JSON: {response.text[:300]}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"query {name!r} ({expr}) failed: {body.get('errorType', response.status_code)}: "
                                  f"{body.get('error', response.text[:300])}")
        for result in body["data"]["result"]:
            rows += [(t, name, result["metric"], float(v)) for t, v in result["values"]]
    frame = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    frame["time"] = pd.to_datetime((frame.time.astype(float) * 1000).round(), unit="ms", utc=True)
    return frame


def fired_alerts(prometheus_url: str, start=None, end=None, step: str | float = "5s") -> pd.DataFrame:
    """The alerts Prometheus had pending or firing between ``start`` and ``end`` (default: the
    last hour), from its ``ALERTS`` series: one row per alert and label set."""
    end = time.time() if end is None else end
    start = _unix(end) - 3600 if start is None else start
    series = prometheus_range(prometheus_url, {"ALERTS": "ALERTS"}, start, end, step)
    keys = series.labels.map(lambda m: tuple(sorted((k, v) for k, v in m.items() if k not in ("alertstate", "__name__"))))
    rows = []
    for key, group in series.groupby(keys):  # an alert has a pending series, then a firing one
        labels = dict(key)
        firing = group.time[group.labels.str.get("alertstate") == "firing"]
        rows.append({"alertname": labels.pop("alertname"), "labels": labels, "state": "firing" if len(firing) else "pending",
                     "pending_since": group.time.min(), "firing_since": firing.min() if len(firing) else pd.NaT,
                     "last_seen": group.time.max(), "source": "prometheus"})
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


def alert_answers(controller_url: str) -> pd.DataFrame:
    """The controller's ``/answers`` (the responder's answers to Alertmanager's alerts), oldest first."""
    answers = httpx.get(f"{controller_url}/answers", timeout=10).json()
    rows = []
    for answer in answers:
        s = answer["suggestion"]
        rows.append({"alertname": answer["alertname"], "labels": {k: v for k, v in answer["labels"].items() if k != "alertname"},
                     "category": s.get("category"), "summary": s.get("summary"),
                     "first_fix_step": (s.get("fix_steps") or [None])[0], "incident_ids": s.get("incident_ids"),
                     "generator": s.get("generator"), "declined": s.get("declined"),
                     "fallback_reason": s.get("fallback_reason"), "latency_ms": s.get("latency_ms")})
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


# -- embedded: /metrics samples, the panels and the rules computed from them ----------------------
@dataclass(frozen=True)
class Rule:
    """An alert rule whose expression is ``PANELS[panel] > threshold``."""

    name: str
    panel: str
    threshold: float
    for_s: float
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)


def load_rules(path: Path = RULES) -> list[Rule]:
    """The rules of ``path`` that compare one of the ``PANELS`` with a threshold."""
    by_expr = {" ".join(expr.split()): name for name, expr in PANELS.items()}
    rules = []
    for group in yaml.safe_load(Path(path).read_text())["groups"]:
        for rule in group["rules"]:
            match = re.fullmatch(r"(.*\S)\s*>\s*([-+.\deE]+)", " ".join(rule.get("expr", "").split()))
            if "alert" in rule and match and match[1] in by_expr:
                rules.append(Rule(rule["alert"], by_expr[match[1]], float(match[2]), _seconds(rule.get("for", "0s")),
                                  rule.get("labels", {}), rule.get("annotations", {})))
    return rules


def _rate(samples: pd.DataFrame, metric: str, times: pd.DatetimeIndex, window_s: float, by: tuple[str, ...],
          where: dict | None = None) -> pd.DataFrame:
    """``sum by (by) (rate(metric{where}[window]))`` at ``times``: per series, the increase from its
    first sample in the window to its last sample at or before the time, divided by the window,
    as Prometheus divides it (so a rate ramps up while the system is younger than the window;
    Prometheus also extrapolates the increase to the window's edges, by up to half a sample
    interval here). NaN with fewer than two samples in the window. Columns: tuples of the ``by``
    label values."""
    rows = samples[samples.series == metric]
    if where:
        rows = rows[rows.labels.map(lambda m: all(m.get(k) == v for k, v in where.items()))]
    if rows.empty:
        return pd.DataFrame(index=times)
    # one column per series; before a series first appears, its first value (so that is no increase)
    wide = rows.assign(key=rows.labels.map(lambda m: tuple(sorted(m.items())))) \
        .pivot_table(index="time", columns="key", values="value", aggfunc="last").sort_index().bfill()
    sample = pd.Series(np.arange(len(wide)), index=wide.index)  # which sample is the last, the first in the window
    starts = times - pd.Timedelta(seconds=window_s)
    last, first = sample.reindex(times, method="ffill").to_numpy(), sample.reindex(starts, method="bfill").to_numpy()
    now, then = wide.reindex(times, method="ffill").to_numpy(float), wide.reindex(starts, method="bfill").to_numpy(float)
    rate = np.where((last > first)[:, None], (now - then) / window_s, np.nan)
    groups: dict[tuple, list[int]] = {}
    for j, key in enumerate(wide.columns):
        groups.setdefault(tuple(dict(key).get(label, "") for label in by), []).append(j)
    summed = [np.where(np.isnan(rate[:, js]).all(axis=1), np.nan, np.nansum(rate[:, js], axis=1)) for js in groups.values()]
    return pd.DataFrame(np.column_stack(summed), index=times, columns=pd.Index(list(groups), tupleize_cols=False))


def histogram_quantile(q: float, buckets: pd.DataFrame) -> pd.Series:
    """PromQL's ``histogram_quantile`` for each row of cumulative bucket rates (columns: upper
    bounds, ``+Inf`` among them): linear interpolation inside the bucket that holds the rank."""
    buckets = buckets[sorted(buckets.columns, key=float)]
    bounds, out = np.array([float(c) for c in buckets.columns]), []
    for row in buckets.to_numpy():
        total = row[-1]
        if not total > 0:
            out.append(np.nan)
            continue
        rank = q * total
        i = int(np.searchsorted(row, rank))  # the first bucket whose count reaches the rank
        if i >= len(bounds) - 1:
            out.append(bounds[-2])  # the +Inf bucket: the highest finite bound
            continue
        lower, below = (0.0, 0.0) if i == 0 else (bounds[i - 1], row[i - 1])
        out.append(lower + (bounds[i] - lower) * (rank - below) / (row[i] - below))
    return pd.Series(out, index=buckets.index)


def _failure_rate(samples, times):
    failed = _rate(samples, "autoops_builds_total", times, 120, ("scenario",), {"status": "failure"})
    total = _rate(samples, "autoops_builds_total", times, 120, ("scenario",))
    return failed.reindex(columns=total.columns) / total


def _median_duration(samples, times):
    buckets = _rate(samples, "autoops_build_duration_seconds_bucket", times, 120, ("scenario", "le"))
    medians = {}
    for scenario in sorted({scenario for scenario, _ in buckets.columns}):
        columns = [c for c in buckets.columns if c[0] == scenario]
        medians[(scenario,)] = histogram_quantile(0.5, pd.DataFrame(buckets[columns].to_numpy(), index=times,
                                                                    columns=[le for _, le in columns]))
    return pd.DataFrame(medians, index=times).set_axis(pd.Index(list(medians), tupleize_cols=False), axis=1)


_PANEL_FUNCTIONS = {  # how recorded_range computes each of PANELS, with the same windows and labels
    "failure rate": (("scenario",), _failure_rate),
    "median build duration (s)": (("scenario",), _median_duration),
    "runner cost ($/min)": (("scenario",), lambda s, t: _rate(s, "autoops_build_cost_dollars_sum", t, 120, ("scenario",)) * 60),
    "actions (builds/min)": (("action",), lambda s, t: _rate(s, "autoops_optimizer_actions_total", t, 60, ("action",)) * 60),
}


def recorded_range(samples: pd.DataFrame, queries: Iterable[str], start, end, step: str | float = "5s") -> pd.DataFrame:
    """The named ``PANELS`` computed from ``/metrics`` samples (``Recorder.samples()``) every
    ``step`` over ``[start, end]``, in ``prometheus_range``'s shape."""
    first, last = (pd.to_datetime(round(_unix(t) * 1000), unit="ms", utc=True) for t in (start, end))  # as Prometheus: ms
    times = pd.date_range(first, last, freq=pd.Timedelta(seconds=_seconds(step)))
    if samples.empty or times.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    times = times[times >= samples.time.min()]
    frames = []
    for name in queries:
        by, compute = _PANEL_FUNCTIONS[name]
        wide = compute(samples, times)
        for column in wide.columns:
            labels = dict(zip(by, column if isinstance(column, tuple) else (column,)))
            frames.append(pd.DataFrame({"time": times, "series": name, "labels": [labels] * len(times),
                                        "value": wide[column].to_numpy(dtype=float)}))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SERIES_COLUMNS)
    return frame[frame.value.notna()].reset_index(drop=True)


def evaluate_rules(series: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """Prometheus's rule evaluation over a series frame evaluated every step: an alert is pending
    from the first time its panel is over the threshold and firing once it has stayed over it
    for the rule's ``for`` duration; one row per alert and stretch over the threshold."""
    rows = []
    for rule in rules:
        data = series[series.series == rule.panel]
        for _, group in data.groupby(data.labels.map(lambda m: tuple(sorted(m.items())))):
            group = group.sort_values("time")
            over = (group.value > rule.threshold).to_numpy()
            stretch = np.cumsum(np.r_[True, over[1:] != over[:-1]])
            for _, run in group[over].groupby(stretch[over]):
                firing = run.time[run.time >= run.time.iloc[0] + pd.Timedelta(seconds=rule.for_s)]
                rows.append({"alertname": rule.name, "labels": {**rule.labels, **run.labels.iloc[0]},
                             "state": "firing" if len(firing) else "pending", "pending_since": run.time.iloc[0],
                             "firing_since": firing.min() if len(firing) else pd.NaT, "last_seen": run.time.iloc[-1],
                             "source": "autoops.e2e (rule evaluated on sampled /metrics)",
                             "value": float(run.value.iloc[-1])})
    return pd.DataFrame(rows, columns=[*ALERT_COLUMNS, "value"])


def _render(template: str, labels: dict, value: float) -> str:
    """The annotation templates of our rules: ``{{ $labels.x }}`` and ``{{ $value | humanize... }}``."""
    def one(match: re.Match) -> str:
        expr = match[1].strip()
        if expr.startswith("$labels."):
            return labels.get(expr.removeprefix("$labels."), "")
        if "humanizePercentage" in expr:
            return f"{value * 100:.4g}%"
        if "humanizeDuration" in expr:
            return f"{int(value // 60)}m {value % 60:.0f}s" if value >= 60 else f"{value:.3g}s"
        return f"{value:.4g}"

    return re.sub(r"\{\{(.*?)\}\}", one, template)


class Recorder:
    """Reads ``/metrics`` of a controller every ``sample_s`` seconds into a tidy frame and, every
    ``evaluate_s``, evaluates ``rules`` on it; each alert that starts firing is posted once to the
    controller's ``/alerts`` (as Alertmanager would post it), in the background."""

    def __init__(self, controller_url: str, rules: list[Rule] = (), sample_s: float = 1.0, evaluate_s: float = 5.0):
        self.controller_url, self.rules, self.sample_s, self.evaluate_s = controller_url, list(rules), sample_s, evaluate_s
        self.posted: list[dict] = []  # the alerts posted to /alerts
        self._rows: list[tuple] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poster = ThreadPoolExecutor(1, thread_name_prefix="autoops-e2e-alerts")
        self._sent: set[tuple] = set()
        self._thread = threading.Thread(target=self._loop, name="autoops-e2e-recorder", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from prometheus_client.parser import text_string_to_metric_families

        last_evaluation = time.monotonic()
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    text = client.get(f"{self.controller_url}/metrics").text
                    now = pd.Timestamp.now(tz="UTC")
                    rows = [(now, s.name, s.labels, s.value) for family in text_string_to_metric_families(text)
                            if family.name.startswith("autoops_") for s in family.samples if not s.name.endswith("_created")]
                    with self._lock:
                        self._rows += rows
                except httpx.HTTPError:
                    pass  # the controller is busy or stopping: a gap, as in a failed scrape
                if self.rules and time.monotonic() - last_evaluation >= self.evaluate_s:
                    last_evaluation = time.monotonic()
                    try:
                        self._post_new_alerts()
                    except Exception:  # keep sampling; the next evaluation may succeed
                        log.exception("evaluating the alert rules on the recorded /metrics failed")
                self._stop.wait(self.sample_s)

    def samples(self) -> pd.DataFrame:
        with self._lock:
            return pd.DataFrame(self._rows, columns=SERIES_COLUMNS)

    def alerts(self, start, end) -> pd.DataFrame:
        """The rules evaluated every ``evaluate_s`` over ``[start, end]`` (``evaluate_rules``)."""
        samples = self.samples()
        samples = samples[samples.time >= pd.Timestamp(_unix(start) - 130, unit="s", tz="UTC")]  # the windows' reach: 2 min
        series = recorded_range(samples, {r.panel for r in self.rules}, start, end, f"{self.evaluate_s}s")
        return evaluate_rules(series, self.rules)

    def _post_new_alerts(self) -> None:
        now = time.time()
        longest = max(r.for_s for r in self.rules) + 180  # the windows (2 min) and the longest `for`
        alerts = self.alerts(now - longest, now)
        latest = alerts[(alerts.state == "firing") & (alerts.last_seen >= pd.Timestamp(now - 2 * self.evaluate_s, unit="s", tz="UTC"))]
        for alert in latest.itertuples():
            key = (alert.alertname, tuple(sorted(alert.labels.items())))
            if key in self._sent:
                continue
            self._sent.add(key)
            rule = next(r for r in self.rules if r.name == alert.alertname)
            payload = {"status": "firing", "labels": {"alertname": alert.alertname, **alert.labels},
                       "annotations": {k: _render(v, alert.labels, alert.value) for k, v in rule.annotations.items()}}
            self.posted.append(payload)
            self._poster.submit(httpx.post, f"{self.controller_url}/alerts", timeout=600, headers=_headers(),
                                json={"version": "4", "status": "firing", "receiver": "autoops.e2e", "alerts": [payload]})

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._poster.shutdown(wait=False, cancel_futures=True)
