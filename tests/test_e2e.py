"""autoops.system against real things: the controller in-process (embedded mode) and Debian's
Prometheus and Alertmanager (stack mode; missing binaries skip on a laptop and fail in CI)."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from autoops.optimizer.train import ensure_trained
from autoops.system.prometheus import ALERT_COLUMNS, PANELS, SERIES_COLUMNS, PrometheusError, fired_alerts, prometheus_range
from autoops.system.session import ANSWER_COLUMNS, drive, free_ports, running_system
from autoops.system.standin import Recorder, Rule, evaluate_rules, histogram_quantile, load_rules, recorded_range
from tests.test_monitoring import MONITORING, binary

SCENARIO = "PythonLibrary"
FAST_RULE = Rule("E2eTestFailureRate", "failure rate", 0.3, 0.0, {"severity": "warning"},
                 {"summary": "{{ $labels.scenario }}: {{ $value | humanizePercentage }} of CI builds fail",
                  "description": "A rule of the test: no `for` duration, so it fires at the first evaluation."})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    ensure_trained(SCENARIO, seed=0, timesteps=1500, runs_root=folder, progress=False)
    return folder


# -- the computations, on numbers worked out by hand -------------------------------------------------
def _samples(seconds: int = 300) -> pd.DataFrame:
    """/metrics read every second: 2 builds/s, failures 0.1/s for 100 s, then 0.5/s; 20% of the
    builds within 60 s, 60% within 120 s; $0.1/s; action 3 once a second, action 9 from 150 s on."""
    t0, rows = pd.Timestamp("2026-01-01", tz="UTC"), []
    for i in range(seconds + 1):
        t = t0 + pd.Timedelta(seconds=i)
        failed = 0.1 * min(i, 100) + 0.5 * max(0, i - 100)
        rows += [(t, "autoops_builds_total", {"scenario": "S", "status": "failure", "failure_category": "x"}, failed),
                 (t, "autoops_builds_total", {"scenario": "S", "status": "success", "failure_category": "none"}, 2 * i - failed),
                 (t, "autoops_build_cost_dollars_sum", {"scenario": "S"}, 0.1 * i),
                 (t, "autoops_optimizer_actions_total", {"scenario": "S", "action": "3"}, float(i))]
        rows += [(t, "autoops_build_duration_seconds_bucket", {"scenario": "S", "le": le}, 2 * i * share)
                 for le, share in [("60.0", 0.2), ("120.0", 0.6), ("+Inf", 1.0)]]
        if i >= 150:  # a new series: its first value (5) is where it starts, not an increase
            rows.append((t, "autoops_optimizer_actions_total", {"scenario": "S", "action": "9"}, 5 + 0.5 * (i - 150)))
    return pd.DataFrame(rows, columns=SERIES_COLUMNS)


def test_recorded_range_computes_the_panels_as_promql_does():
    samples = _samples()
    t0 = samples.time.min()
    frame = recorded_range(samples, PANELS, t0, t0 + pd.Timedelta(seconds=300), "30s")
    assert list(frame.columns) == SERIES_COLUMNS and set(frame.series) == set(PANELS)

    def at(name: str, second: int, **labels) -> float:
        rows = frame[(frame.series == name) & (frame.time == t0 + pd.Timedelta(seconds=second))]
        return rows[rows.labels.map(lambda m: m == (labels or {"scenario": "S"}))].value.item()

    assert at("failure rate", 60) == pytest.approx(0.05)
    assert at("failure rate", 120) == pytest.approx(20 / 240)  # 10 + 0.5 x 20 failures of 240 builds
    assert at("failure rate", 300) == pytest.approx(0.25)
    assert at("median build duration (s)", 300) == pytest.approx(105)  # 60 + 60 x (0.5 - 0.2) / (0.6 - 0.2)
    assert at("runner cost ($/min)", 30) == pytest.approx(1.5)  # $3 over the 2-minute window, per minute
    assert at("runner cost ($/min)", 300) == pytest.approx(6)
    assert at("actions (builds/min)", 300, action="3") == pytest.approx(60)
    assert at("actions (builds/min)", 180, action="9") == pytest.approx(15)  # 30 s of 0.5/s in the 1-minute window


def test_histogram_quantile_interpolates_inside_the_bucket():
    buckets = pd.DataFrame([[2.0, 10.0, 6.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0]], columns=["60", "+Inf", "120"])  # cumulative
    assert histogram_quantile(0.5, buckets).tolist()[:2] == [pytest.approx(60 + 60 * (5 - 2) / (6 - 2)), 120.0]
    assert np.isnan(histogram_quantile(0.5, buckets).iloc[2])  # no builds: no median


def test_rules_fire_after_their_for_duration():
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    values = [0.1, 0.5, 0.5, 0.5, 0.5, 0.2, 0.6]  # every 10 s
    series = pd.DataFrame({"time": [t0 + pd.Timedelta(seconds=10 * i) for i in range(len(values))], "series": "failure rate",
                           "labels": [{"scenario": "S"}] * len(values), "value": values})
    rule = next(r for r in load_rules() if r.name == "AutoOpsHighBuildFailureRate")
    alerts = evaluate_rules(series, [rule])
    assert alerts.alertname.tolist() == ["AutoOpsHighBuildFailureRate"] * 2
    first, second = alerts.to_dict("records")
    assert first["labels"] == {"severity": "warning", "scenario": "S"}
    assert (first["state"], first["pending_since"], first["firing_since"]) == ("firing", t0 + pd.Timedelta(seconds=10), t0 + pd.Timedelta(seconds=40))
    assert second["state"] == "pending" and pd.isna(second["firing_since"]) and second["pending_since"] == t0 + pd.Timedelta(seconds=60)


def test_the_panels_are_the_dashboards_and_the_rules_expressions():
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "autoops.json").read_text())
    exprs = {" ".join(t["expr"].split()) for panel in dashboard["panels"] for t in panel["targets"]}
    for name in ("failure rate", "median build duration (s)", "runner cost ($/min)"):
        assert " ".join(PANELS[name].split()) in exprs
    rules = {r.name: r for r in load_rules()}
    assert set(rules) == {"AutoOpsHighBuildFailureRate", "AutoOpsSlowBuilds"}
    assert (rules["AutoOpsHighBuildFailureRate"].threshold, rules["AutoOpsHighBuildFailureRate"].for_s) == (0.35, 30)
    assert (rules["AutoOpsSlowBuilds"].panel, rules["AutoOpsSlowBuilds"].threshold) == ("median build duration (s)", 600)


def test_ensure_trained_trains_only_when_there_is_no_run(runs):
    before = sorted(runs.iterdir())
    assert ensure_trained(SCENARIO, timesteps=1500, runs_root=runs, progress=False) in before
    assert sorted(runs.iterdir()) == before


# -- embedded: the controller in this process ----------------------------------------------------
def test_embedded_session_records_series_alerts_and_answers(runs):
    with running_system(SCENARIO, runs, mode="embedded", generator="extractive", seed=3, rules=[FAST_RULE]) as system:
        assert system.mode == "embedded" and "rules evaluated in Python" in system.describe()
        start = pd.Timestamp.now(tz="UTC")
        builds = drive(system.controller_url, SCENARIO, 10, incident_builds=50, interval_s=0.3,
                       until_answered=FAST_RULE.name, max_wait_s=60, progress=False)
        end = pd.Timestamp.now(tz="UTC")
        series, alerts, answers = system.series(start, end, "1s"), system.alerts(start, end), system.answers()
        posted = list(system.recorder.posted)
    assert set(builds.kind) == {"optimizer", "incident"} and (builds.kind == "incident").sum() >= 50
    assert builds[builds.kind == "optimizer"].iteration.tolist()[:10] == list(range(1, 11))
    assert set(builds[builds.kind == "incident"].action_id) == {0}
    assert builds.status.isin(["success", "failure"]).all()
    failed = builds[(builds.kind == "optimizer") & (builds.status == "failure")]
    assert failed.responder_generator.eq("extractive").all() and failed.responder_category.notna().any()

    assert set(series.series) == set(PANELS) and series.time.dt.tz is not None
    rate = series[series.series == "failure rate"]
    assert rate.labels.map(lambda m: m == {"scenario": SCENARIO}).all() and rate.value.between(0, 1).all()

    assert FAST_RULE.name in set(alerts[alerts.state == "firing"].alertname)
    assert posted[0]["labels"] == {"alertname": FAST_RULE.name, "severity": "warning", "scenario": SCENARIO}
    assert posted[0]["annotations"]["summary"].startswith(f"{SCENARIO}: ") and "{{" not in posted[0]["annotations"]["summary"]
    answer = answers[answers.alertname == FAST_RULE.name].iloc[0]
    assert list(answers.columns) == ANSWER_COLUMNS
    assert answer.labels["scenario"] == SCENARIO and answer.generator == "extractive"
    assert answer.declined or (answer.first_fix_step and answer.incident_ids)

    # the same seed, a fresh controller: the same builds
    with running_system(SCENARIO, runs, mode="embedded", generator="extractive", seed=3, rules=[]) as again:
        repeat = drive(again.controller_url, SCENARIO, 4, interval_s=0, progress=False)
    columns = ["action_id", "status", "failure_category", "duration_minutes", "cost_usd"]
    assert repeat[columns].equals(builds[builds.kind == "optimizer"][columns].head(4).reset_index(drop=True))


# -- the stack: Debian's Prometheus and Alertmanager ----------------------------------------------
@pytest.fixture(scope="module")
def session(runs):
    for name in ("prometheus", "promtool", "prometheus-alertmanager"):
        binary(name)
    with running_system(SCENARIO, runs, mode="stack", generator="extractive") as system:
        recorder = Recorder(system.controller_url)  # the embedded computation, beside Prometheus
        try:
            start = pd.Timestamp.now(tz="UTC")
            drive(system.controller_url, SCENARIO, 16, incident_builds=80, interval_s=1.0, progress=False)
            time.sleep(6)  # one more scrape
            end = pd.Timestamp.now(tz="UTC")
        finally:
            recorder.stop()
        yield system, recorder, start, end


def test_prometheus_range_reads_the_panels(session):
    system, _, start, end = session
    series = prometheus_range(system.prometheus_url, PANELS, start, end, "5s")
    assert list(series.columns) == SERIES_COLUMNS and set(series.series) == set(PANELS)
    assert str(series.time.dt.tz) == "UTC" and series.time.between(start.floor("s"), end).all()
    rate = series[series.series == "failure rate"]
    # NaN where no build fell in the window yet (0/0: the series exist at 0 from the start)
    assert rate.labels.map(lambda m: m == {"scenario": SCENARIO}).all() and rate.value.dropna().between(0, 1).all()
    assert series[series.series == "actions (builds/min)"].labels.map(lambda m: set(m) == {"action"}).all()


def test_the_embedded_computation_approximates_prometheus(session):
    """The same builds, read by Prometheus every 5 s and by the Recorder every second. Not equal:
    Prometheus extrapolates to the window's edges, and a series' first value is no increase to
    either, so the failures of a category first seen between two reads count for neither; with
    reads every 5 s that loses more of them in a short session."""
    system, recorder, start, end = session
    prometheus = prometheus_range(system.prometheus_url, PANELS, start, end, "5s")
    recorded = recorded_range(recorder.samples(), PANELS, start, end, "5s")
    last = min(prometheus.time.max(), recorded.time.max())
    for name, tolerance in [("failure rate", {"abs": 0.12}), ("median build duration (s)", {"rel": 0.2}),
                            ("runner cost ($/min)", {"rel": 0.3})]:
        a = prometheus[(prometheus.series == name) & (prometheus.time == last)].value.item()
        b = recorded[(recorded.series == name) & (recorded.time == last)].value.item()
        assert b == pytest.approx(a, **tolerance), name


def test_fired_alerts_shows_the_incident(session):
    system, *_ = session
    deadline, alerts = time.monotonic() + 60, pd.DataFrame()
    while time.monotonic() < deadline:  # failing builds: pending within a rule evaluation or two
        alerts = fired_alerts(system.prometheus_url)
        if "AutoOpsHighBuildFailureRate" in set(alerts.alertname):
            break
        time.sleep(2)
    assert list(alerts.columns) == ALERT_COLUMNS
    alert = alerts[alerts.alertname == "AutoOpsHighBuildFailureRate"].iloc[0]
    assert alert.labels == {"scenario": SCENARIO, "severity": "warning"} and alert.state in ("pending", "firing")
    assert alert.pending_since <= alert.last_seen and alert.source == "prometheus"


def test_a_bad_query_names_itself_and_prometheus_error(session):
    system, *_ = session
    with pytest.raises(PrometheusError) as raised:
        prometheus_range(system.prometheus_url, {"fine": "up", "broken": "sum(rate(autoops_builds_total[2m]"}, time.time() - 60, time.time())
    message = str(raised.value)
    assert "'broken'" in message and "sum(rate(autoops_builds_total[2m]" in message and "bad_data" in message and "parse error" in message


def test_an_unreachable_prometheus_says_so():
    (port,) = free_ports(1)
    with pytest.raises(PrometheusError, match=f"'up' \\(up\\): cannot reach Prometheus at http://127.0.0.1:{port}"):
        prometheus_range(f"http://127.0.0.1:{port}", {"up": "up"}, time.time() - 60, time.time())
