"""Notifications through apprise, delivered to a real HTTP receiver on loopback: what arrives, in
which format, what a failing service does to the webhook (nothing), and configuration errors."""

import copy
import itertools
import json
import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from autoops.agents.controller import Controller, ControllerSettings
from autoops.agents.responder import ResponderAgent
from autoops.api.main import create_controller_app
from autoops.notify import URLS_ENV, Notifier, NotifyConfigError, format_message

# Alertmanager's webhook body (version 4) as it sends it: one group, one firing and one resolved alert.
PAYLOAD = {
    "version": "4", "groupKey": '{}:{alertname="AutoOpsHighBuildFailureRate"}', "truncatedAlerts": 0,
    "status": "firing", "receiver": "autoops-controller",
    "groupLabels": {"alertname": "AutoOpsHighBuildFailureRate"},
    "commonLabels": {"alertname": "AutoOpsHighBuildFailureRate", "severity": "warning"},
    "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
    "alerts": [
        {"status": "firing",
         "labels": {"alertname": "AutoOpsHighBuildFailureRate", "scenario": "PythonLibrary", "severity": "warning"},
         "annotations": {"summary": "PythonLibrary: 52% of CI builds fail",
                         "description": "More than 35% of CI builds of PythonLibrary failed over the last 2 minutes."},
         "startsAt": "2025-01-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": "a1b2c3d4e5f60718"},
        {"status": "resolved", "labels": {"alertname": "AutoOpsSlowBuilds", "scenario": "PythonLibrary"},
         "annotations": {"summary": "PythonLibrary: median build over 10 minutes"},
         "startsAt": "2025-01-01T09:00:00Z", "endsAt": "2025-01-01T09:30:00Z",
         "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": "0f1e2d3c4b5a6978"},
    ],
}

_FIRINGS = itertools.count()


def new_firing() -> dict:
    """PAYLOAD with a new start time: a new firing, not a repeat that the controller answered already."""
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"][0]["startsAt"] = f"2025-01-01T10:{next(_FIRINGS):02d}:00Z"
    return payload


ANSWER = {
    "alertname": "AutoOpsHighBuildFailureRate", "labels": {"alertname": "AutoOpsHighBuildFailureRate", "scenario": "PythonLibrary"},
    "text": "AutoOpsHighBuildFailureRate: PythonLibrary: 52% of CI builds fail.",
    "suggestion": {"summary": "Flaky tests time out under load", "root_cause": "", "fix_steps": ["Rerun", "Quarantine", "Fix", "Watch"],
                   "incident_ids": ["INC-0001"], "category": "flaky_test", "confidence": 0.81, "generator": "extractive",
                   "declined": False, "fallback_reason": None},
}


@pytest.fixture(scope="module")
def controller():
    # The webhook answers with the responder agent's own generator (ControllerSettings.generator is
    # for the loop's builds), so the agent is told "extractive" too: no LLM is loaded.
    return Controller(ControllerSettings(scenario="PythonLibrary", generator="extractive"),
                      responder=ResponderAgent(generator="extractive"))


@pytest.fixture(autouse=True)
def no_urls_from_the_environment(monkeypatch):
    monkeypatch.delenv(URLS_ENV, raising=False)


def count(outcome: str) -> float:
    return REGISTRY.get_sample_value("autoops_notifications_total", {"outcome": outcome}) or 0.0


def eventually(check, timeout_s: float = 10.0):
    """Poll ``check`` until it returns something truthy: sending happens in the background."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s")
        time.sleep(0.02)
    return result


def test_an_answered_alert_reaches_a_json_endpoint_once(controller, receiver):
    sent = count("sent")
    client = TestClient(create_controller_app(controller, notifier=Notifier([f"json://127.0.0.1:{receiver.port}/hook"])))
    response = client.post("/alerts", json=new_firing())
    assert response.status_code == 200 and response.json()["answered"] == 1
    eventually(lambda: count("sent") == sent + 1)
    (request,) = receiver.requests  # the resolved alert is not answered, so not sent
    assert request["method"] == "POST" and request["path"] == "/hook"
    assert request["headers"]["Content-Type"].startswith("application/json")
    message = json.loads(request["body"])
    assert message["title"] == "[AutoOps] AutoOpsHighBuildFailureRate firing (scenario=PythonLibrary)"
    suggestion = response.json()["answers"][0]["suggestion"]
    expected = "declined: no known incident matches" if suggestion["declined"] else suggestion["summary"]
    assert expected.lower() in message["message"].lower()


def test_mattermost_plugin_delivers_slacks_webhook_format_to_a_local_receiver(receiver):
    # apprise's Slack plugin posts only to hooks.slack.com / slack.com/api and its Discord plugin only
    # to discord.com/api/webhooks: both hosts are fixed in the plugins, with no option to change them,
    # so neither can reach a local receiver. Mattermost's incoming webhooks take Slack's payload
    # ({"text", "username", "icon_url", "channel"}), and apprise's Mattermost plugin posts it to any host.
    Notifier([f"mmost://127.0.0.1:{receiver.port}/abcdefghijklmnop"]).notify([ANSWER])
    (request,) = eventually(lambda: receiver.requests)
    assert request["method"] == "POST" and request["path"] == "/hooks/abcdefghijklmnop"
    assert request["headers"]["Content-Type"].startswith("application/json")
    payload = json.loads(request["body"])
    assert set(payload) <= {"text", "username", "icon_url", "channel"} and payload["username"] == "AutoOps"
    title, _ = format_message(ANSWER)
    assert title in payload["text"] and "Flaky tests time out under load" in payload["text"]
    assert "1. Rerun" in payload["text"] and "4. Watch" not in payload["text"] and "INC-0001" in payload["text"]


def test_slack_and_discord_urls_are_accepted():
    # Parsed by apprise's own Slack and Discord plugins; not sent, see the test above for why.
    notifier = Notifier([
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7/#ops",
        "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
        "discord://417429632418316298/JHZ7lQml277CDHmQKMHI8qBe7bk2ZwO5UKjCiOAF7711o33MyqU344Qpgv7YTpadV",
        "https://discord.com/api/webhooks/417429632418316298/JHZ7lQml277CDHmQKMHI8qBe7bk2ZwO5UKjCiOAF7711o33MyqU344Qpgv7YTpadV",
    ])
    assert notifier.masked_urls == ["slack://T***/A***/T***/#***", "https://hooks.slack.com/s***/T***/A***/T***",
                                    "discord://4***/J***", "https://discord.com/a***/w***/4***/J***"]


def test_a_failing_service_is_counted_and_does_not_break_the_webhook(controller, receiver, caplog):
    receiver.status = 500
    failed = count("failed")
    client = TestClient(create_controller_app(controller, notifier=Notifier([f"json://127.0.0.1:{receiver.port}/secret-token"])))
    assert client.post("/alerts", json=new_firing()).status_code == 200
    eventually(lambda: count("failed") == failed + 1)
    assert len(receiver.requests) == 1
    assert f"json://127.0.0.1:{receiver.port}/s***" in caplog.text and "secret-token" not in caplog.text
    assert 'autoops_notifications_total{outcome="failed"}' in client.get("/metrics").text


def test_bad_url_and_bad_field_name_the_file(tmp_path):
    config = tmp_path / "notify.yaml"
    config.write_text("urls:\n  - json://127.0.0.1:9/ok\n  - slack://onlyonesecrettoken\n")
    with pytest.raises(NotifyConfigError) as err:
        Notifier.from_config(config)
    assert str(config) in str(err.value) and "URL #2 'slack://o***'" in str(err.value) and "secret" not in str(err.value)
    config.write_text("url: [json://127.0.0.1:9/ok]\n")
    with pytest.raises(NotifyConfigError, match=r"notify\.yaml: unknown setting\(s\) url; known: urls"):
        Notifier.from_config(config)
    config.write_text("urls: json://127.0.0.1:9/ok\n")
    with pytest.raises(NotifyConfigError, match=r"notify\.yaml: urls must be a list"):
        Notifier.from_config(config)
    config.write_text("urls: [json://127.0.0.1:9/ok\n")
    with pytest.raises(NotifyConfigError, match=r"notify\.yaml: invalid YAML"):
        Notifier.from_config(config)
    with pytest.raises(NotifyConfigError, match="config file not found"):
        Notifier.from_config(tmp_path / "missing.yaml")


def test_environment_variable_overrides_the_file(tmp_path, monkeypatch):
    config = tmp_path / "notify.yaml"
    config.write_text("urls: [slack://onlyonetoken]\n")  # invalid, but not read
    monkeypatch.setenv(URLS_ENV, "json://127.0.0.1:9/a, json://127.0.0.1:9/b\n mmost://127.0.0.1:9/token")
    assert Notifier.from_config(config).masked_urls == ["json://127.0.0.1:9/a***", "json://127.0.0.1:9/b***", "mmost://127.0.0.1:9/t***"]
    monkeypatch.setenv(URLS_ENV, "discord://secretid")
    with pytest.raises(NotifyConfigError, match=r"^\$AUTOOPS_NOTIFY_URLS: URL #1 'discord://s\*\*\*'"):
        Notifier.from_config(config)


def test_no_urls_sends_nothing(controller, tmp_path):
    assert not Notifier.from_config().enabled  # the shipped configs/notify.yaml
    (tmp_path / "notify.yaml").write_text("urls: []\n")
    notifier = Notifier.from_config(tmp_path / "notify.yaml")
    before = count("sent") + count("failed")
    client = TestClient(create_controller_app(controller, notifier=notifier))
    assert client.post("/alerts", json=new_firing()).json()["answered"] == 1
    assert not notifier.enabled and count("sent") + count("failed") == before
