"""Prometheus configuration and alert rules, checked by Debian's promtool."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MONITORING = Path(__file__).resolve().parents[1] / "monitoring"


def binary(name: str) -> str:
    """A monitoring binary; missing is a skip on a laptop and a failure in CI (CI installs them)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install prometheus prometheus-alertmanager)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_prometheus_config_is_valid():
    result = subprocess.run([binary("promtool"), "check", "config", str(MONITORING / "prometheus.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_their_unit_tests():
    result = subprocess.run([binary("promtool"), "test", "rules", str(MONITORING / "tests" / "rules_test.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_is_valid():
    result = subprocess.run([binary("amtool"), "check-config", str(MONITORING / "alertmanager.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def dashboard_queries() -> list[tuple[str, str]]:
    import json

    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "autoops.json").read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool parses each panel's PromQL as a recording rule (live data is checked by the stack test)."""
    import yaml

    queries = dashboard_queries()
    assert len(queries) >= 8
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"autoops:panel_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]}]}
    path = tmp_path / "panels.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
