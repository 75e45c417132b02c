"""Prometheus's HTTP API as pandas frames: range queries (``prometheus_range``) and the alerts it
had pending or firing (``fired_alerts``, from its ``ALERTS`` series).

The frames have the shapes of ``SERIES_COLUMNS`` and ``ALERT_COLUMNS``; the in-process stand-in
(``autoops.system.standin``) computes the same ``PANELS`` into the same shapes.
"""

from __future__ import annotations

import time

import httpx
import pandas as pd

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


class PrometheusError(RuntimeError):
    """A query Prometheus refused or could not answer; the message names the query."""


def unix(t) -> float:
    """Unix seconds of a number, a datetime or anything ``pd.Timestamp`` reads (naive: UTC)."""
    return float(t) if isinstance(t, (int, float)) else pd.Timestamp(t).timestamp()


def seconds(step: str | float) -> float:
    """Seconds of a number or of a duration such as ``"5s"`` or ``"2m"``."""
    return float(step) if isinstance(step, (int, float)) else pd.Timedelta(step).total_seconds()


def prometheus_range(prometheus_url: str, queries: dict[str, str], start, end, step: str | float = "5s") -> pd.DataFrame:
    """``/api/v1/query_range`` of each named PromQL query as one tidy frame: ``time`` (UTC),
    ``series`` (the query's name), ``labels`` (the result's labels), ``value`` (NaN where
    Prometheus says NaN, e.g. 0/0). ``start``/``end``: datetimes, Timestamps or Unix seconds."""
    rows = []
    for name, expr in queries.items():
        params = {"query": expr, "start": unix(start), "end": unix(end), "step": seconds(step)}
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
    start = unix(end) - 3600 if start is None else start
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
