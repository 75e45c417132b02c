"""An in-process stand-in for Prometheus, for a system without the binaries.

``Recorder`` reads a controller's ``/metrics`` every second into a tidy frame. From those samples,
``recorded_range`` computes the ``PANELS`` in pandas (``rate`` over the same windows, without
Prometheus's extrapolation, and ``histogram_quantile`` with its interpolation), and the alert
rules whose expression is one of the panels (build failure rate, slow builds) are evaluated on
them with their threshold and ``for`` duration (``evaluate_rules``); a firing alert is posted to
the controller's ``/alerts`` the way Alertmanager would post it. An approximation of
Prometheus, not Prometheus: the frames have ``autoops.system.prometheus``'s shapes, so a reader
can use either.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import yaml

from autoops import paths
from autoops.api.client import bearer_header
from autoops.system.prometheus import ALERT_COLUMNS, PANELS, SERIES_COLUMNS, seconds, unix

log = logging.getLogger(__name__)


def rules_file() -> Path:
    return paths.monitoring_dir() / "rules" / "autoops.rules.yml"


@dataclass(frozen=True)
class Rule:
    """An alert rule whose expression is ``PANELS[panel] > threshold``."""

    name: str
    panel: str
    threshold: float
    for_s: float
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)


def load_rules(path: Path | None = None) -> list[Rule]:
    """The rules of ``path`` (default: the shipped ``rules/autoops.rules.yml``) that compare one of
    the ``PANELS`` with a threshold."""
    by_expr = {" ".join(expr.split()): name for name, expr in PANELS.items()}
    rules = []
    for group in yaml.safe_load(Path(path or rules_file()).read_text())["groups"]:
        for rule in group["rules"]:
            match = re.fullmatch(r"(.*\S)\s*>\s*([-+.\deE]+)", " ".join(rule.get("expr", "").split()))
            if "alert" in rule and match and match[1] in by_expr:
                rules.append(Rule(rule["alert"], by_expr[match[1]], float(match[2]), seconds(rule.get("for", "0s")),
                                  rule.get("labels", {}), rule.get("annotations", {})))
    return rules


# -- PromQL's functions on the samples ------------------------------------------------------------
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
    first, last = (pd.to_datetime(round(unix(t) * 1000), unit="ms", utc=True) for t in (start, end))  # as Prometheus: ms
    times = pd.date_range(first, last, freq=pd.Timedelta(seconds=seconds(step)))
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


# -- the rules ------------------------------------------------------------------------------------
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
                             "source": "autoops.system.standin (rule evaluated on sampled /metrics)",
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
        self._poster = ThreadPoolExecutor(1, thread_name_prefix="autoops-standin-alerts")
        self._sent: set[tuple] = set()
        self._thread = threading.Thread(target=self._loop, name="autoops-standin-recorder", daemon=True)
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
        samples = samples[samples.time >= pd.Timestamp(unix(start) - 130, unit="s", tz="UTC")]  # the windows' reach: 2 min
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
            self._poster.submit(httpx.post, f"{self.controller_url}/alerts", timeout=600, headers=bearer_header(),
                                json={"version": "4", "status": "firing", "receiver": "autoops.system.standin", "alerts": [payload]})

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._poster.shutdown(wait=False, cancel_futures=True)
